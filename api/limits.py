"""Per-tenant rate limits and quotas on submissions: 429 + Retry-After, other tenants untouched.

Two limits guard `POST /v1/jobs` and `POST /v1/finetunes`, both per tenant, both off when their
setting is 0 (`POST /v1/datasets` has a rate of its own, `dataset_uploads_per_minute`, on its own
counter):

- **Rate** (`rate_limit_per_minute`): a fixed-window counter in Redis, one key per tenant and clock
  minute (`INCR` + `EXPIRE` in one round trip). Over the limit is a 429 `rate_limited` whose
  Retry-After is the seconds left in the minute. Every submission counts, replays included, and
  jobs and fine-tunes share the one counter (a fine-tune is a job of another kind); a
  fixed window lets a tenant burst to twice the limit across a minute boundary, which is accepted
  for its simplicity (one key, no Lua). Counters live in the broker's Redis: the API needs nothing
  else, and a key expires two minutes after its window, so nothing accumulates.
- **Quota** (`max_active_jobs_per_tenant`, `max_active_items_per_tenant`): read from the store,
  the record of what is unfinished: jobs `queued` or `running` and their items not yet done; for
  `POST /v1/finetunes`, fine-tunes `queued` or `running` (`max_active_finetunes_per_tenant`). The
  check runs after the new job is inserted and before it is committed, so the count includes it;
  over the quota the insert is rolled back and the answer is a 429 `quota_exceeded`. An idempotent
  replay creates nothing and is never refused by the quota. On SQLite writers are serialized
  (BEGIN IMMEDIATE), so the quota is exact; on PostgreSQL two concurrent submissions may both see
  the count before the other's insert and overshoot it by one each (a soft limit).

When Redis is down or hangs, the rate limit **fails open** by default (`rate_limit_fail_open`):
a submission is accepted and a warning logged. The job row is the outbox and the API answers 202
while the broker is away (docs/reliability.md case 5), so refusing submissions for want of a counter
would turn a broker outage into an API outage; the quota, read from the database, still bounds
what one tenant can queue. Set `rate_limit_fail_open=false` to fail closed instead: 503
`broker_unavailable` with Retry-After. The counter's Redis client uses short timeouts
(`rate_limit_timeout_seconds`) so a paused Redis cannot stall a request.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from api import errors
from api.deps import ServicesDep, TenantDep
from config import Settings
from store.finetunes import active_finetunes
from store.jobs import active_usage

log = logging.getLogger(__name__)


def limit_submissions(tenant: TenantDep, services: ServicesDep) -> None:
    """Dependency of submission routes: 429 rate_limited with Retry-After when over the rate."""
    _enforce(services, tenant, "submit", services.settings.rate_limit_per_minute,
             "job submissions")


def limit_uploads(tenant: TenantDep, services: ServicesDep) -> None:
    """Dependency of `POST /v1/datasets`: the same, on the uploads' own counter and rate."""
    _enforce(services, tenant, "upload", services.settings.dataset_uploads_per_minute,
             "dataset uploads")


def _enforce(services: ServicesDep, tenant: TenantDep, scope: str, limit: int, what: str) -> None:
    settings = services.settings
    try:
        retry_after = services.rate_limiter.hit(scope, tenant.id, limit)
    except errors.ApiError as exc:
        exc.headers = {**(exc.headers or {}), "Retry-After": str(settings.retry_after_seconds)}
        raise
    if retry_after is not None:
        log.info("tenant %s: over %d %s a minute, retry in %d s", tenant.name, limit, what,
                 retry_after)
        exc = errors.RATE_LIMITED(limit=limit, what=what, retry_after=retry_after)
        exc.headers = {**(exc.headers or {}), "Retry-After": str(retry_after)}
        raise exc


SubmissionLimit = Annotated[None, Depends(limit_submissions)]
UploadLimit = Annotated[None, Depends(limit_uploads)]


def check_quota(session: Session, settings: Settings, tenant_id: str) -> None:
    """Roll back and raise 429 quota_exceeded when the tenant's unfinished work, counting the
    job just inserted in `session`, is over its quota."""
    limits = (("jobs", settings.max_active_jobs_per_tenant),
              ("items", settings.max_active_items_per_tenant))
    if all(limit <= 0 for _, limit in limits):
        return
    usage = dict(zip(("jobs", "items"), active_usage(session, tenant_id)))
    for what, limit in limits:
        if 0 < limit < usage[what]:
            _refuse(session, settings, tenant_id, what, usage[what], limit)


def check_finetune_quota(session: Session, settings: Settings, tenant_id: str) -> None:
    """Roll back and raise 429 quota_exceeded when the tenant's unfinished fine-tunes, counting
    the one just inserted in `session`, are more than max_active_finetunes_per_tenant."""
    limit = settings.max_active_finetunes_per_tenant
    if limit <= 0:
        return
    count = active_finetunes(session, tenant_id)
    if count > limit:
        _refuse(session, settings, tenant_id, "fine-tunes", count, limit)


def _refuse(session: Session, settings: Settings, tenant_id: str, what: str, count: int,
            limit: int) -> None:
    session.rollback()
    log.info("tenant %s: quota of %d unfinished %s exceeded (%d)", tenant_id, limit, what, count)
    exc = errors.QUOTA_EXCEEDED(count=count, what=what, limit=limit)
    exc.headers = {**(exc.headers or {}), "Retry-After": str(settings.retry_after_seconds)}
    raise exc
