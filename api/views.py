"""ORM rows to HTTP shapes: the only place that knows both store.models and api.schemas.

Timestamps leave as UTC with an offset; URLs are absolute, built from the request.
"""

from __future__ import annotations

from fastapi import Request

from api.schemas import ErrorInfo, ItemPublic, JobAccepted, JobPublic, ModelPublic, Progress
from store.jobs import as_utc
from store.models import Item, Job, JobStatus, ModelVersion


def job_url(request: Request, job_id: str) -> str:
    return str(request.url_for("read_job", job_id=job_id))


def job_accepted(request: Request, job: Job) -> JobAccepted:
    """The submission answer; always 'queued', so a replay returns the very same body."""
    return JobAccepted(id=job.id, status=JobStatus.QUEUED.value, url=job_url(request, job.id))


def job_public(request: Request, job: Job) -> JobPublic:
    error = ErrorInfo(code=job.error_code, message=job.error) if job.error_code or job.error else None
    return JobPublic(
        id=job.id, kind=job.kind, status=job.status, priority=job.priority,
        model=str(job.params.get("model", "default")), model_version=job.model_version,
        params=job.params,
        progress=Progress(total=job.total_items, done=job.done_items, failed=job.failed_items,
                          current_round=job.current_round),
        cancel_requested=job.cancel_requested, error=error, attempt=job.attempt,
        created_at=as_utc(job.created_at), updated_at=as_utc(job.updated_at),
        started_at=as_utc(job.started_at), finished_at=as_utc(job.finished_at),
        url=job_url(request, job.id),
        items_url=str(request.url_for("list_items", job_id=job.id)),
        sheet_url=str(request.url_for("read_sheet", job_id=job.id)),
    )


def item_public(request: Request, item: Item) -> ItemPublic:
    image_url = None
    if item.image_path:
        image_url = str(request.url_for("read_item_image", job_id=item.job_id, index=item.index))
    error = ErrorInfo(code=item.error_code, message=item.error) if item.error_code or item.error else None
    return ItemPublic(
        index=item.index, prompt=item.prompt, seed=item.seed, status=item.status,
        attempt=item.attempt, rounds_run=item.rounds_run, control_texts=item.control_texts or [],
        agreements=item.agreements or [], image_url=image_url, image_sha256=item.image_sha256,
        compute_ms=item.compute_ms, error=error, started_at=as_utc(item.started_at),
        finished_at=as_utc(item.finished_at),
    )


def model_public(model: ModelVersion) -> ModelPublic:
    return ModelPublic(
        name=model.name, version=model.version, parent_version=model.parent_version,
        scope="global" if model.tenant_id is None else "tenant", metrics=model.metrics or {},
        created_by_job_id=model.created_by_job_id, created_at=as_utc(model.created_at),
    )
