"""The webhook outbox: tenants' signing secrets, jobs' subscriptions, deliveries and attempts.

A job's subscription is written in the transaction that creates the job. Deliveries are made
from committed job rows, not by whoever changes a status (`materialize`): a `completed`
delivery exists once the job's final status is committed, whichever process committed it and
whether or not it lived a moment longer. Each delivery has one id (the `webhook-id` of every
attempt) and a dedupe key, so making it twice is impossible. Sending is claimed with a short
lease on `next_attempt_at` (`claim_due`), so several dispatchers never send one attempt twice.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import (
    TERMINAL_JOB_STATUSES, Item, ItemStatus, Job, JobStatus, WebhookAttempt, WebhookDelivery,
    WebhookDeliveryStatus, WebhookSecret, WebhookSubscription,
)

EVENTS = ("started", "completed", "item_failed")
DEFAULT_EVENTS = ("completed",)
PENDING, DELIVERED, FAILED = (s.value for s in WebhookDeliveryStatus)
_TERMINAL = [s.value for s in TERMINAL_JOB_STATUSES]


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for one attempt."""

    id: str
    job_id: str
    url: str
    body: bytes
    attempt: int  # 1 for the first try
    tenant_id: str


def rotate_secret(session: Session, tenant_id: str, secret: str, now: dt.datetime) -> None:
    """Make `secret` the tenant's signing secret; the one it replaces keeps signing a while."""
    row = session.get(WebhookSecret, tenant_id)
    if row is None:
        session.add(WebhookSecret(tenant_id=tenant_id, secret=secret, rotated_at=now))
        return
    row.previous_secret, row.secret, row.rotated_at = row.secret, secret, now


def signing_secrets(session: Session, tenant_id: str, now: dt.datetime,
                    overlap_seconds: float) -> list[str]:
    """The secrets that sign a tenant's deliveries now: the current one, and the previous one
    within `overlap_seconds` of a rotation. Empty: the tenant has none."""
    row = session.get(WebhookSecret, tenant_id)
    if row is None:
        return []
    recent = _aware(row.rotated_at) > now - dt.timedelta(seconds=overlap_seconds)
    return [row.secret] + ([row.previous_secret] if recent and row.previous_secret else [])


def has_secret(session: Session, tenant_id: str) -> bool:
    return session.get(WebhookSecret, tenant_id) is not None


def subscribe(session: Session, job_id: str, tenant_id: str, url: str,
              events: Sequence[str]) -> None:
    """The job's webhook, in the caller's transaction (the one that creates the job)."""
    session.add(WebhookSubscription(job_id=job_id, tenant_id=tenant_id, url=url,
                                    events=list(events)))


def materialize(session: Session, now: dt.datetime, *, limit: int = 500) -> int:
    """Make the deliveries that committed job rows call for; how many were made. The caller
    commits."""
    made = 0
    rows = session.execute(
        select(WebhookSubscription, Job).join(Job, Job.id == WebhookSubscription.job_id)
        .where(WebhookSubscription.completed.is_(False), Job.status != JobStatus.QUEUED.value)
        .limit(limit)).all()
    for subscription, job in rows:
        made += _deliveries_for(session, subscription, job, now)
    return made


def _deliveries_for(session: Session, sub: WebhookSubscription, job: Job, now: dt.datetime) -> int:
    made = 0
    if not sub.started:
        made += "started" in sub.events and _add(session, sub, job, "started", now)
        sub.started = True
    if "item_failed" in sub.events:
        made += _item_failures(session, sub, job, now)
    if job.status in _TERMINAL:
        made += "completed" in sub.events and _add(session, sub, job, "completed", now)
        sub.completed = True
    return made


def _item_failures(session: Session, sub: WebhookSubscription, job: Job, now: dt.datetime) -> int:
    sent = set(session.scalars(select(WebhookDelivery.dedupe_key).where(
        WebhookDelivery.job_id == job.id, WebhookDelivery.event == "item_failed")))
    failed = session.execute(select(Item.index, Item.error_code, Item.error).where(
        Item.job_id == job.id, Item.status == ItemStatus.FAILED.value)).all()
    made = 0
    for index, code, message in failed:
        if _dedupe_key(job.id, "item_failed", index) not in sent:
            item = {"index": index, "error": {"code": code, "message": message}}
            made += _add(session, sub, job, "item_failed", now, item=item)
    return made


def _add(session: Session, sub: WebhookSubscription, job: Job, event: str, now: dt.datetime,
         item: dict[str, Any] | None = None) -> bool:
    data = {"job": job_summary(job), **({"item": item} if item else {})}
    body = json.dumps({"type": f"job.{event}", "timestamp": now.isoformat(), "data": data},
                      ensure_ascii=False, sort_keys=True)
    key = _dedupe_key(job.id, event, item["index"] if item else None)
    try:
        with session.begin_nested():  # another dispatcher made it first: fine
            session.add(WebhookDelivery(id=f"msg_{uuid.uuid4().hex}", dedupe_key=key,
                                        job_id=job.id, event=event, url=sub.url, body=body,
                                        next_attempt_at=now, created_at=now))
    except IntegrityError:
        return False
    return True


def _dedupe_key(job_id: str, event: str, index: int | None) -> str:
    return f"{job_id}:{event}" + (f":{index}" if index is not None else "")


def job_summary(job: Job) -> dict[str, Any]:
    """What a delivery says of its job (the receiver fetches the rest over the API)."""
    error = {"code": job.error_code, "message": job.error} if job.error_code else None
    return {"id": job.id, "status": job.status, "total_items": job.total_items,
            "done_items": job.done_items, "failed_items": job.failed_items, "error": error,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def claim_due(session: Session, now: dt.datetime, lease_seconds: float, *,
              limit: int = 50) -> list[DueDelivery]:
    """Deliveries whose next attempt is due, each claimed by moving `next_attempt_at` past
    the attempt's lease (a compare-and-set: a dispatcher that lost the race skips it). The
    caller commits before sending."""
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.job_id, WebhookDelivery.url,
               WebhookDelivery.body, WebhookDelivery.attempts, WebhookDelivery.next_attempt_at,
               Job.tenant_id)
        .join(Job, Job.id == WebhookDelivery.job_id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)).all()
    lease_end = now + dt.timedelta(seconds=lease_seconds)
    claimed = []
    for row in rows:
        won = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == row.id, WebhookDelivery.status == PENDING,
                   WebhookDelivery.next_attempt_at == row.next_attempt_at)
            .values(next_attempt_at=lease_end).execution_options(synchronize_session=False))
        if won.rowcount == 1:
            claimed.append(DueDelivery(row.id, row.job_id, row.url, row.body.encode(),
                                       row.attempts + 1, row.tenant_id))
    return claimed


def record_attempt(session: Session, due: DueDelivery, now: dt.datetime, *,
                   status_code: int | None, error: str | None, duration_ms: float,
                   retry_delays: Sequence[float]) -> str:
    """Record one attempt and what follows: delivered (2xx), the next try after
    `retry_delays[attempt - 1]`, or failed once the schedule is used up. Returns the status."""
    session.add(WebhookAttempt(delivery_id=due.id, number=due.attempt, at=now,
                               status_code=status_code, error=error, duration_ms=duration_ms))
    ok = status_code is not None and 200 <= status_code < 300
    values: dict[str, Any] = {"attempts": due.attempt}
    if ok:
        values.update(status=DELIVERED, delivered_at=now, last_error=None)
    elif due.attempt > len(retry_delays):
        values.update(status=FAILED, last_error=error or f"HTTP {status_code}")
    else:
        values.update(last_error=error or f"HTTP {status_code}",
                      next_attempt_at=now + dt.timedelta(seconds=retry_delays[due.attempt - 1]))
    session.execute(update(WebhookDelivery)
                    .where(and_(WebhookDelivery.id == due.id, WebhookDelivery.status == PENDING))
                    .values(**values).execution_options(synchronize_session=False))
    return values.get("status", PENDING)


def deliveries_of(session: Session, job_id: str) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """A job's deliveries, oldest first, each with its attempts."""
    deliveries = session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)
                                 .order_by(WebhookDelivery.created_at, WebhookDelivery.id)).all()
    attempts: dict[str, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    for attempt in session.scalars(select(WebhookAttempt)
                                   .where(WebhookAttempt.delivery_id.in_(list(attempts)))
                                   .order_by(WebhookAttempt.number)):
        attempts[attempt.delivery_id].append(attempt)
    return [(d, attempts[d.id]) for d in deliveries]


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive (they were written in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
