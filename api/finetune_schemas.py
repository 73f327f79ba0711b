"""HTTP shapes of datasets and fine-tunes (pydantic), apart from the ORM models in store/.

Structural checks live here; limits that come from settings (steps) are checked by the router.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas import ErrorInfo, JobStatusName

ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_GLOSSARY = 20


class DatasetFilePublic(BaseModel):
    index: int
    file: str = Field(description="the member's name in the archive")
    status: Literal["accepted", "rejected"]
    reason: str | None = Field(description="why it was rejected: image_too_large, "
                               "unsupported_format, missing_caption, empty_caption, ...")
    message: str | None
    caption: str | None
    width: int | None
    height: int | None
    format: str | None = Field(description="PNG or JPEG, as uploaded")


class DatasetPublic(BaseModel):
    id: str
    name: str
    status: Literal["ready", "empty"]
    total_files: int
    accepted_files: int
    rejected_files: int
    archive_bytes: int
    archive_sha256: str
    created_at: dt.datetime
    url: str
    files: list[DatasetFilePublic]


class DatasetSummary(BaseModel):
    id: str
    name: str
    status: Literal["ready", "empty"]
    accepted_files: int
    rejected_files: int
    created_at: dt.datetime
    url: str


class DatasetsPublic(BaseModel):
    datasets: list[DatasetSummary]
    total: int
    limit: int
    offset: int


class FinetuneCreate(BaseModel):
    """Train `base_model` on a dataset's pairs for `steps` steps; register the result as `name`."""

    model_config = ConfigDict(
        strict=True, extra="forbid",
        json_schema_extra={"examples": [{
            "dataset_id": "0123456789abcdef0123456789abcdef", "name": "ember-v1", "steps": 200,
            "glossary": {"ember": "orange", "余烬色": "橙色"}}]},
    )

    dataset_id: str = Field(pattern=ID_PATTERN, description="from POST /v1/datasets")
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="the new model's name; generation jobs can ask for it")
    base_model: str = Field(default="default", min_length=1, max_length=200,
                            description="a model name or version from GET /v1/models")
    steps: int = Field(ge=1, description="training steps, 1..max_finetune_steps")
    learning_rate: float = Field(default=2e-4, gt=0, le=0.1, description="peak learning rate; "
                                 "low, so the base model forgets little")
    checkpoint_every: int | None = Field(
        default=None, ge=1, description="steps between checkpoints (a killed run resumes from "
        "the last one); omitted: the worker's setting")
    glossary: dict[str, str] | None = Field(
        default=None, description="new words the dataset teaches -> the known words they mean "
        "(e.g. {'ember': 'orange'}); the judge uses it to score the new concept")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="data-order seed")
    priority: int = Field(default=5, ge=0, le=9)

    @field_validator("glossary")
    @classmethod
    def _small_glossary(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if len(value) > MAX_GLOSSARY:
            raise ValueError(f"at most {MAX_GLOSSARY} glossary entries")
        for word, meaning in value.items():
            if not word.strip() or not meaning.strip() or len(word) > 50 or len(meaning) > 50:
                raise ValueError("glossary words and meanings must be 1 to 50 characters")
        return {word.strip(): meaning.strip() for word, meaning in value.items()}


class FinetuneAccepted(BaseModel):
    id: str
    status: JobStatusName
    url: str


class FinetuneProgress(BaseModel):
    phase: str = Field(description="queued, preparing, baseline, training, evaluating, "
                       "registering or done")
    step: int
    steps: int
    loss: float | None
    checkpoint_step: int | None = Field(description="the last step saved to a checkpoint")
    resumed_from_step: int | None = Field(description="the checkpoint this attempt resumed from")
    elapsed_s: float | None = Field(description="training time of this attempt")


class FinetunePublic(BaseModel):
    id: str
    status: JobStatusName
    name: str
    base_model: str
    base_version: str | None
    dataset_id: str
    steps: int
    learning_rate: float
    glossary: dict[str, str] | None
    progress: FinetuneProgress
    metrics: dict[str, Any] | None = Field(description="judge scores before -> after")
    model_version: str | None = Field(description="the registered new version, once done")
    cancel_requested: bool
    error: ErrorInfo | None
    attempt: int
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    url: str
    job_url: str


class FinetunesPublic(BaseModel):
    finetunes: list[FinetunePublic]
    total: int
    limit: int
    offset: int
