"""ORM rows to HTTP shapes: the only place that knows both store.models and api.schemas.

Timestamps leave as UTC with an offset; URLs are absolute, built from the request.
"""

from __future__ import annotations

from fastapi import Request

from api.finetune_schemas import FinetuneProgress, FinetunePublic
from api.share import gallery_url
from api.schemas import ErrorInfo, ItemPublic, JobAccepted, JobPublic, ModelPublic, Progress
from store.jobs import as_utc
from store.models import Item, Job, JobStatus, ModelVersion


def job_url(request: Request, job_id: str) -> str:
    return str(request.url_for("read_job", job_id=job_id))


def finetune_url(request: Request, job_id: str) -> str:
    return str(request.url_for("read_finetune", job_id=job_id))


def error_info(row: Job | Item) -> ErrorInfo | None:
    """A job's or item's error code and message, if it has either."""
    return ErrorInfo(code=row.error_code, message=row.error) if row.error_code or row.error else None


def job_accepted(request: Request, job: Job) -> JobAccepted:
    """The submission answer; always 'queued', so a replay returns the very same body."""
    return JobAccepted(id=job.id, status=JobStatus.QUEUED.value, url=job_url(request, job.id))


def job_public(request: Request, job: Job) -> JobPublic:
    return JobPublic(
        id=job.id, kind=job.kind, status=job.status, priority=job.priority,
        model=str(job.params.get("model", "default")), model_version=job.model_version,
        params=job.params,
        progress=Progress(total=job.total_items, done=job.done_items, failed=job.failed_items,
                          current_round=job.current_round),
        cancel_requested=job.cancel_requested, error=error_info(job), attempt=job.attempt,
        created_at=as_utc(job.created_at), updated_at=as_utc(job.updated_at),
        started_at=as_utc(job.started_at), finished_at=as_utc(job.finished_at),
        url=job_url(request, job.id),
        items_url=str(request.url_for("list_items", job_id=job.id)),
        sheet_url=str(request.url_for("read_sheet", job_id=job.id)),
        gallery_url=gallery_url(request, job.id),
    )


def item_public(request: Request, item: Item) -> ItemPublic:
    image_url = rounds_url = None
    if item.image_path:
        image_url = str(request.url_for("read_item_image", job_id=item.job_id, index=item.index))
        rounds_url = str(request.url_for("read_item_rounds", job_id=item.job_id, index=item.index))
    return ItemPublic(
        index=item.index, prompt=item.prompt, seed=item.seed, status=item.status,
        attempt=item.attempt, rounds_run=item.rounds_run, control_texts=item.control_texts or [],
        agreements=item.agreements or [], payload=item.payload, image_url=image_url,
        rounds_url=rounds_url, image_sha256=item.image_sha256, compute_ms=item.compute_ms,
        error=error_info(item), started_at=as_utc(item.started_at),
        finished_at=as_utc(item.finished_at),
    )


def model_public(model: ModelVersion) -> ModelPublic:
    return ModelPublic(
        name=model.name, kind=model.kind, version=model.version,
        parent_version=model.parent_version,
        scope="global" if model.tenant_id is None else "tenant", metrics=model.metrics or {},
        created_by_job_id=model.created_by_job_id, created_at=as_utc(model.created_at),
    )


def finetune_public(request: Request, job: Job) -> FinetunePublic:
    p, progress = job.params or {}, job.progress or {}
    return FinetunePublic(
        id=job.id, status=job.status, name=p.get("name", ""), base_model=p.get("base_model", ""),
        base_version=job.model_version, dataset_id=p.get("dataset_id", ""),
        steps=p.get("steps", 0), learning_rate=p.get("learning_rate", 0.0),
        glossary=p.get("glossary"),
        progress=FinetuneProgress(
            phase=progress.get("phase", "queued"), step=progress.get("step", 0),
            steps=progress.get("steps", p.get("steps", 0)), loss=progress.get("loss"),
            checkpoint_step=progress.get("checkpoint_step"),
            resumed_from_step=progress.get("resumed_from_step"),
            elapsed_s=progress.get("elapsed_s")),
        metrics=progress.get("metrics"), model_version=progress.get("result_version"),
        cancel_requested=job.cancel_requested, error=error_info(job), attempt=job.attempt,
        created_at=as_utc(job.created_at), updated_at=as_utc(job.updated_at),
        started_at=as_utc(job.started_at), finished_at=as_utc(job.finished_at),
        url=finetune_url(request, job.id), job_url=job_url(request, job.id),
    )
