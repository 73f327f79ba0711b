"""/v1/jobs: submit a batch, read one job, list the tenant's jobs, cancel.

Every route is scoped to the caller's tenant; another tenant's job is a 404, never a 403.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response

from api import errors, limits, submit
from api.body import JsonBodyRoute
from api.job_webhooks import check_job_webhook, subscribe_job
from api.deps import JobDep, ServicesDep, SessionDep, TenantDep
from api.schemas import ErrorBody, JobAccepted, JobCreate, JobPublic, JobsPublic, JobStatusName
from api.views import job_accepted, job_public
from store import jobs as store_jobs
from store.jobs import CancelOutcome
from store.models import Job

log = logging.getLogger(__name__)

MAX_OFFSET = 10**9
ERRORS = {code: {"model": ErrorBody} for code in (401, 404, 422, 503)}
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
    description="Repeat a submission safely: the same key and body return the same job "
    "(for 24 h); the same key with another body is a 422.",
)]

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=JsonBodyRoute, responses=ERRORS)


@router.post("", status_code=202, response_model=JobAccepted,
             responses={400: {"model": ErrorBody}, 409: {"model": ErrorBody},
                        413: {"model": ErrorBody}, 415: {"model": ErrorBody},
                        429: {"model": ErrorBody}})
def create_job(body: JobCreate, request: Request, response: Response, background: BackgroundTasks,
               tenant: TenantDep, session: SessionDep, services: ServicesDep,
               _rate: limits.SubmissionLimit, idempotency_key: IdempotencyKey = None) -> JobAccepted:
    """Submit a batch of prompts. The job is stored before it is queued; poll its `url`.

    Per tenant, submissions are rate limited (429 `rate_limited`, Retry-After) and unfinished
    work has a quota (429 `quota_exceeded`).
    """
    settings = services.settings
    check_job_webhook(body, session, settings, tenant.id)
    model = submit.resolve_model(session, body.model, tenant.id)
    params, items = submit.checked_job(body, model.kind, settings)

    def with_new(job: Job) -> None:
        limits.check_quota(session, settings, tenant.id)
        subscribe_job(body, session, job.id, tenant.id)

    job, created = submit.submit_once(
        session, lambda: store_jobs.create_job(
            session, tenant_id=tenant.id, items=items, params=params, priority=body.priority,
            model_version=model.version, idempotency_key=idempotency_key,
            request_hash=submit.request_hash(body),
            idempotency_ttl=dt.timedelta(seconds=settings.idempotency_ttl_seconds)),
        with_new)
    if created:
        log.info("job %s: created for tenant %s, %d items of kind %s", job.id, tenant.name,
                 job.total_items, model.kind.name)
    accepted = job_accepted(request, job)
    submit.answer(background, services, response, job, created, accepted.url)
    return accepted


@router.get("", response_model=JobsPublic)
def list_jobs(request: Request, tenant: TenantDep, session: SessionDep, services: ServicesDep,
              status: JobStatusName | None = None,
              limit: Annotated[int, Query(ge=1, description="lowered to max_page_size")] = 50,
              offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> JobsPublic:
    """The tenant's jobs, newest first, optionally only those with `status`."""
    limit = min(limit, services.settings.max_page_size)
    page, total = store_jobs.list_jobs(session, tenant.id, status=status, limit=limit, offset=offset)
    return JobsPublic(jobs=[job_public(request, job) for job in page], total=total,
                      limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobPublic)
def read_job(request: Request, job: JobDep) -> JobPublic:
    """Status, progress (items done / failed / total, current round), timings and errors."""
    return job_public(request, job)


@router.post("/{job_id}/cancel", status_code=202, response_model=JobPublic,
             responses={409: {"model": ErrorBody}})
def cancel_job(request: Request, job: JobDep, session: SessionDep) -> JobPublic:
    """Cancel: a queued job at once; a running one stops at its next round or batch."""
    outcome = store_jobs.request_cancel(session, job)
    session.commit()
    log.info("job %s: cancel -> %s (status %s)", job.id, outcome.value, job.status)
    if outcome is CancelOutcome.FINISHED:
        raise errors.JOB_FINISHED(job_id=job.id, status=job.status)
    return job_public(request, job)
