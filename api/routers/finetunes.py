"""/v1/finetunes: start a fine-tune of a model on a dataset, follow it, cancel it.

A fine-tune is a job of kind "finetune" on the `finetune` queue: its row is committed first, then
its message (the job id only) is sent by task name, like every job (api.submit.dispatch_after_response). Poll
its `url` for the phase, step, loss and last checkpoint; when it is done, `model_version` names
the registered model, which generation jobs can ask for by name or version.
Every route is scoped to the caller's tenant; another tenant's fine-tune is a 404.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from sqlalchemy.orm import Session

from api import errors, limits, submit
from api import finetune_errors as ferrors
from api.body import JsonBodyRoute
from api.deps import ServicesDep, SessionDep, TenantDep
from api.finetune_schemas import FinetuneAccepted, FinetuneCreate, FinetunePublic, FinetunesPublic
from api.routers.datasets import owned_dataset
from api.routers.jobs import IdempotencyKey
from api.schemas import ErrorBody
from api.views import finetune_public, finetune_url
from kinds import kind_of_default_model
from store import finetunes as store_finetunes
from store.jobs import CancelOutcome, request_cancel
from store.models import DatasetStatus, Job

log = logging.getLogger(__name__)

MAX_OFFSET = 10**9
ERRORS = {code: {"model": ErrorBody} for code in (401, 404, 422, 503)}

router = APIRouter(prefix="/v1/finetunes", tags=["finetunes"], route_class=JsonBodyRoute,
                   responses=ERRORS)


def owned_finetune(session: Session, job_id: str, tenant_id: str) -> Job:
    valid = len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)
    job = store_finetunes.get_finetune(session, job_id, tenant_id) if valid else None
    if job is None:
        raise errors.JOB_NOT_FOUND(job_id=job_id[:64])  # a fine-tune is a job: same 404
    return job


def _check(body: FinetuneCreate, session: Session, tenant_id: str,
           max_steps: int) -> submit.ResolvedModel:
    """Raise the matching ApiError for a request that cannot run; returns the base model."""
    if body.steps > max_steps:
        raise ferrors.STEPS_OUT_OF_RANGE(steps=body.steps, limit=max_steps)
    if kind_of_default_model(body.name) is not None:
        raise ferrors.NAME_TAKEN(name=body.name)
    dataset = owned_dataset(session, body.dataset_id, tenant_id)
    if dataset.status != DatasetStatus.READY.value:
        raise ferrors.DATASET_EMPTY(dataset_id=dataset.id)
    base = submit.resolve_model(session, body.base_model, tenant_id)
    if base.kind.train is None:
        raise ferrors.BASE_MODEL_NOT_TRAINABLE(model=body.base_model[:200], kind=base.kind.name)
    return base


@router.post("", status_code=202, response_model=FinetuneAccepted,
             responses={code: {"model": ErrorBody} for code in (400, 409, 413, 415, 429)})
def create_finetune(body: FinetuneCreate, request: Request, response: Response,
                    background: BackgroundTasks, tenant: TenantDep, session: SessionDep,
                    services: ServicesDep, _rate: limits.SubmissionLimit,
                    idempotency_key: IdempotencyKey = None) -> FinetuneAccepted:
    """Queue a fine-tune; the job is stored before it is sent to the `finetune` queue.

    Per tenant, submissions (jobs and fine-tunes together) are rate limited (429
    `rate_limited`, Retry-After) and unfinished fine-tunes have a quota (429 `quota_exceeded`).
    """
    settings = services.settings
    base = _check(body, session, tenant.id, settings.max_finetune_steps)
    params = {**body.model_dump(mode="json", exclude={"priority"}), "kind": base.kind.name}
    job, created = submit.submit_once(
        session, lambda: store_finetunes.create_finetune_job(
            session, tenant_id=tenant.id, params=params, base_version=base.version,
            priority=body.priority, idempotency_key=idempotency_key,
            request_hash=submit.request_hash(body),
            idempotency_ttl=dt.timedelta(seconds=settings.idempotency_ttl_seconds)),
        lambda _new: limits.check_finetune_quota(session, settings, tenant.id))
    if created:
        log.info("job %s: fine-tune '%s' of %s on dataset %s, %d steps, tenant %s", job.id,
                 body.name, body.base_model, body.dataset_id, body.steps, tenant.name)
    url = finetune_url(request, job.id)
    submit.answer(background, services, response, job, created, url)
    return FinetuneAccepted(id=job.id, status="queued", url=url)


@router.get("", response_model=FinetunesPublic)
def list_finetunes(request: Request, tenant: TenantDep, session: SessionDep,
                   services: ServicesDep,
                   limit: Annotated[int, Query(ge=1, description="lowered to max_page_size")] = 50,
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> FinetunesPublic:
    """The tenant's fine-tunes, newest first."""
    limit = min(limit, services.settings.max_page_size)
    page, total = store_finetunes.list_finetunes(session, tenant.id, limit=limit, offset=offset)
    return FinetunesPublic(finetunes=[finetune_public(request, j) for j in page], total=total,
                           limit=limit, offset=offset)


@router.get("/{job_id}", response_model=FinetunePublic)
def read_finetune(job_id: str, request: Request, tenant: TenantDep,
                  session: SessionDep) -> FinetunePublic:
    """Phase, step and loss, the last checkpoint, metrics before -> after, the new version."""
    return finetune_public(request, owned_finetune(session, job_id, tenant.id))


@router.post("/{job_id}/cancel", status_code=202, response_model=FinetunePublic,
             responses={409: {"model": ErrorBody}})
def cancel_finetune(job_id: str, request: Request, tenant: TenantDep,
                    session: SessionDep) -> FinetunePublic:
    """Cancel: a queued fine-tune at once; a running one stops at its next training step."""
    job = owned_finetune(session, job_id, tenant.id)
    outcome = request_cancel(session, job)
    session.commit()
    log.info("job %s: cancel -> %s (status %s)", job.id, outcome.value, job.status)
    if outcome is CancelOutcome.FINISHED:
        raise errors.JOB_FINISHED(job_id=job.id, status=job.status)
    return finetune_public(request, job)
