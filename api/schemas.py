"""HTTP request and response shapes (pydantic). Separate from the ORM models in store/.

The API can change its JSON without a migration, and the worker never sees these classes.
Structural checks live here (types, required fields, empty or blank prompts); what the model's
kind accepts and the limits that come from settings (items per job, prompt length, rounds,
seeds) are checked once, after the model is resolved (kinds/params.py, through api.submit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

JobStatusName = Literal["queued", "running", "succeeded", "failed", "canceled", "partial"]
WebhookEvent = Literal["started", "completed", "item_failed"]  # store.webhooks.EVENTS


def prompt_problem(prompt: str) -> str | None:
    """Why `prompt` cannot be run, or None. Length is checked against settings elsewhere."""
    if not prompt.strip():
        return "is empty or only whitespace"
    if "\x00" in prompt:
        return "contains a NUL character"
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (invalid Unicode)"
    return None


class ItemCreate(BaseModel):
    """One item: a prompt, or the fields the model's kind defines (an ads item: brief, size,
    ...), with an optional seed. A bare string in `items` is read as {"prompt": string}.
    Which fields a kind takes is checked by the kind (kinds/params.py), after the model is known."""

    model_config = ConfigDict(strict=True, extra="allow")

    prompt: str | None = Field(default=None, description="the brief, in English or Chinese")
    seed: int | None = Field(default=None, ge=0, description="noise seed; the same prompt, seed "
                             "and model give the same image; omitted: `seed` plus the index")

    def kind_fields(self) -> dict[str, Any]:
        """The fields beyond prompt and seed, for the model's kind to check."""
        return dict(self.model_extra or {})


class JobCreate(BaseModel):
    """A batch to generate: either `prompts` (seeds derived from `seed`) or `items` with seeds."""

    model_config = ConfigDict(
        strict=True, extra="forbid",
        json_schema_extra={
            "examples": [{"prompts": ["three yellow circles", "一个棕色星星"], "rounds": 2}],
            # Documents the validator below, so clients and fuzzers know `{}` is not a job.
            "anyOf": [{"required": [name], "properties": {name: {"type": "array"}}}
                      for name in ("prompts", "items")],
        },
    )

    prompts: list[str] | None = Field(default=None, description="briefs; item i gets seed + i",
                                      json_schema_extra={"minItems": 1})
    items: list[ItemCreate] | None = Field(
        default=None, json_schema_extra={"minItems": 1},
        description="briefs (strings) or objects with the fields the model's kind takes, each "
        "with its own seed or seed + i")
    seed: int | None = Field(default=None, ge=0, description="base seed of the items without "
                             "one; omitted: a random base seed, recorded in the job's params")
    rounds: int | None = Field(default=None, ge=0, description="interactor rounds after the first "
                               "image, 0..max_rounds; omitted: 3 (or max_rounds if lower)")
    model: str = Field(default="default", min_length=1, max_length=200,
                       description="a model name or version from GET /v1/models, or 'default'")
    priority: int = Field(default=5, ge=0, le=9, description="0 (low) .. 9 (high)")
    batch_size: int | None = Field(default=None, ge=1, description="items per model call; "
                                   "omitted: the worker's batch size, which is also the maximum")
    webhook_url: str | None = Field(
        default=None, min_length=1, max_length=2000,
        description="called (POST, Standard Webhooks signature) on the events below; must resolve "
        "to a public address")
    webhook_events: list[WebhookEvent] | None = Field(
        default=None, min_length=1, description="events to send: started, completed (any final "
        "status), item_failed; omitted: completed")
    options: dict[str, Any] = Field(default_factory=dict, description="what the model's kind "
                                    "takes besides rounds, e.g. {\"early_exit\": false}")

    @field_validator("items", mode="before")
    @classmethod
    def _strings_are_prompts(cls, items: Any) -> Any:
        if not isinstance(items, list):
            return items
        return [{"prompt": item} if isinstance(item, str) else item for item in items]

    @model_validator(mode="after")
    def _one_kind_of_input(self) -> JobCreate:
        if (self.prompts is None) == (self.items is None):
            raise ValueError("give either 'prompts' or 'items' (exactly one of them)")
        name = "prompts" if self.prompts is not None else "items"
        if not (self.prompts or self.items):
            raise ValueError(f"'{name}' is empty; give at least one prompt")
        for index, item in enumerate(self.items or []):
            if item.prompt is None and not item.kind_fields():
                raise ValueError(f"items[{index}] has no prompt; give a prompt or the fields "
                                 "the model takes")
        for field, prompt in self.named_prompts():
            problem = prompt_problem(prompt)
            if problem:
                raise ValueError(f"{field} {problem}")
        return self

    def named_prompts(self) -> list[tuple[str, str]]:
        """(field, prompt) of every prompt string in the request, e.g. ("items[2].prompt", ...)."""
        if self.prompts is not None:
            return [(f"prompts[{index}]", prompt) for index, prompt in enumerate(self.prompts)]
        return [(f"items[{index}].prompt", item.prompt) for index, item in
                enumerate(self.items or []) if item.prompt is not None]


class JobAccepted(BaseModel):
    """The answer to a submission (and, identically, to its idempotent replays)."""

    id: str
    status: JobStatusName
    url: str = Field(description="poll this for status and progress")


class ErrorInfo(BaseModel):
    code: str | None
    message: str | None


class Progress(BaseModel):
    total: int
    done: int = Field(description="items finished, succeeded or failed")
    failed: int = Field(description="of the finished items, those that failed")
    current_round: int


class JobPublic(BaseModel):
    id: str
    kind: str
    status: JobStatusName
    priority: int
    model: str = Field(description="the model asked for")
    model_version: str | None = Field(description="the version it resolved to, if known yet")
    params: dict[str, Any]
    progress: Progress
    cancel_requested: bool
    error: ErrorInfo | None
    attempt: int
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    url: str
    items_url: str
    sheet_url: str
    gallery_url: str = Field(description="the job's page for people: opens in a browser without "
                             "the API key, for share_link_seconds (a signed link)")


class JobsPublic(BaseModel):
    jobs: list[JobPublic]
    total: int
    limit: int
    offset: int


class ItemPublic(BaseModel):
    index: int
    prompt: str
    seed: int
    status: str
    attempt: int
    rounds_run: int
    control_texts: list[str] = Field(description="what the text decoder read, one per round")
    agreements: list[float] = Field(description="control text vs prompt, one per round")
    payload: dict[str, Any] | None = Field(
        default=None, description="what the result carries beyond its image, as the model's "
        "kind defines it (the ads model: copy, design, verdict); null for kinds that add nothing")
    image_url: str | None
    rounds_url: str | None = Field(
        default=None, description="the round-by-round strip: every round's image side by side "
        "(the image itself when the rounds did not change it); null until there is an image")
    image_sha256: str | None
    compute_ms: float | None
    error: ErrorInfo | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ItemsPublic(BaseModel):
    job_id: str
    items: list[ItemPublic]
    total: int
    limit: int
    offset: int


class ModelPublic(BaseModel):
    name: str
    kind: str = Field(description="the model's kind (GET /v1/models), which defines its items")
    version: str
    parent_version: str | None
    scope: Literal["global", "tenant"]
    metrics: dict[str, Any]
    created_by_job_id: str | None
    created_at: dt.datetime


class ModelsPublic(BaseModel):
    models: list[ModelPublic]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(description="'ok' or what went wrong, per dependency")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, str]] | None = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class WebhookSecretCreated(BaseModel):
    """A new webhook signing secret: shown this once. The previous one keeps signing for a day."""

    secret: str = Field(description="whsec_...: verify deliveries with it (Standard Webhooks)")
    rotated_at: dt.datetime


class WebhookAttemptPublic(BaseModel):
    number: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class WebhookDeliveryPublic(BaseModel):
    id: str = Field(description="the webhook-id header of every attempt")
    event: WebhookEvent
    url: str
    status: Literal["pending", "delivered", "failed"]
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None = Field(description="when pending: the next try")
    attempts: list[WebhookAttemptPublic]


class WebhookDeliveriesPublic(BaseModel):
    deliveries: list[WebhookDeliveryPublic]

