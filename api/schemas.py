"""HTTP request and response shapes (pydantic). Separate from the ORM models in store/.

The API can change its JSON without a migration, and the worker never sees these classes.
Structural checks live here (types, required fields, empty or blank prompts); limits that come
from settings (items per job, prompt length, rounds, seeds) are checked in api.submit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    """One prompt with the seed to run it with."""

    model_config = ConfigDict(strict=True, extra="forbid")

    prompt: str = Field(description="the brief, in English or Chinese")
    seed: int = Field(ge=0, description="noise seed; the same prompt, seed and model give the same image")


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
    items: list[ItemCreate] | None = Field(default=None, description="briefs with their own seeds",
                                           json_schema_extra={"minItems": 1})
    seed: int | None = Field(default=None, ge=0, description="base seed for `prompts`; "
                             "omitted: a random base seed, recorded in the job's params")
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

    @model_validator(mode="after")
    def _one_kind_of_input(self) -> JobCreate:
        if (self.prompts is None) == (self.items is None):
            raise ValueError("give either 'prompts' or 'items' (exactly one of them)")
        if self.items is not None and self.seed is not None:
            raise ValueError("'seed' goes with 'prompts'; with 'items' give each item its seed")
        name = "prompts" if self.prompts is not None else "items"
        if not self.prompt_list():
            raise ValueError(f"'{name}' is empty; give at least one prompt")
        for index, prompt in enumerate(self.prompt_list()):
            problem = prompt_problem(prompt)
            if problem:
                field = f"prompts[{index}]" if name == "prompts" else f"items[{index}].prompt"
                raise ValueError(f"{field} {problem}")
        return self

    def prompt_list(self) -> list[str]:
        if self.prompts is not None:
            return self.prompts
        return [item.prompt for item in self.items or []]


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
    done: int = Field(description="items that succeeded")
    failed: int
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
    image_url: str | None
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

