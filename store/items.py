"""Worker-side item functions: lease a batch of pending items, renew leases, record results.

An item is leased to one worker (`lease_owner`, `lease_expires_at`) while it runs, and every write
of a result is a compare-and-set on that lease: a worker that lost its lease (crashed, too slow,
job re-dispatched) cannot overwrite anything. Only `pending` items are ever leased, so an item
that has succeeded is never redone.

Store functions take a `session`; the caller owns the transaction. Nothing here knows Celery, the
model or the file system: results arrive as plain `ItemResult`/`ItemFailure` values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from store.models import Item, ItemStatus, Job

PENDING = ItemStatus.PENDING.value
RUNNING = ItemStatus.RUNNING.value
SUCCEEDED = ItemStatus.SUCCEEDED.value
FAILED = ItemStatus.FAILED.value
CANCELED = ItemStatus.CANCELED.value


@dataclass(frozen=True)
class ItemTask:
    """What the worker needs to run one item; detached from the session."""

    id: int
    index: int
    prompt: str
    seed: int


@dataclass(frozen=True)
class ItemResult:
    """A finished item: where its image lies and what the model said about it, per round."""

    item_id: int
    image_path: str  # relative to the storage dir
    image_sha256: str
    control_texts: list[str] = field(default_factory=list)
    agreements: list[float] = field(default_factory=list)
    rounds_run: int = 0
    compute_ms: float | None = None
    payload: dict[str, Any] | None = None  # beyond the PNG, as the model kind defines it
    rounds_path: str | None = None  # the round-by-round strip's key; None: the image stands for it


@dataclass(frozen=True)
class ItemFailure:
    """An item that cannot succeed (bad input): failed with a code and a message, not retried."""

    item_id: int
    error_code: str
    error: str


@dataclass(frozen=True)
class Progress:
    done: int  # succeeded + failed
    failed: int
    total: int
    round: int


def _mine(job_id: str, worker: str):  # noqa: ANN202 - a SQLAlchemy clause list
    return (Item.job_id == job_id, Item.status == RUNNING, Item.lease_owner == worker)


def _expiry(now: dt.datetime, lease_seconds: float) -> dt.datetime:
    return now + dt.timedelta(seconds=lease_seconds)


def claim_batch(
    session: Session, job_id: str, worker: str, *, size: int, lease_seconds: float, now: dt.datetime
) -> list[ItemTask]:
    """Lease up to `size` pending items of the job, lowest index first; [] when none are left.

    One statement: the lowest pending items are picked (on PostgreSQL skipping rows another
    claimer has locked; SQLite serializes writers with BEGIN IMMEDIATE), leased if still
    pending, and returned."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    rows = session.execute(_CLAIM, {"b_job": job_id, "b_size": size, "b_worker": worker,
                                    "b_expires": _expiry(now, lease_seconds), "b_now": now})
    return [ItemTask(id=r.id, index=r.index, prompt=r.prompt, seed=r.seed)
            for r in sorted(rows, key=lambda r: r.index)]


def renew_leases(session: Session, job_id: str, worker: str, *, lease_seconds: float,
                 now: dt.datetime) -> int:
    """Push back the expiry of every item this worker holds in the job; returns how many."""
    result = session.execute(
        update(Item)
        .where(*_mine(job_id, worker))
        .values(lease_expires_at=_expiry(now, lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def record_results(
    session: Session,
    job_id: str,
    worker: str,
    results: list[ItemResult],
    failures: list[ItemFailure],
    now: dt.datetime,
) -> int:
    """Write finished items, each only if this worker still holds its lease; returns rows written.

    One statement for the results and one for the failures, each executed with every item's
    values at once (a batch is one round trip, not one per item)."""
    return record_results_of(session, worker, {job_id: results}, {job_id: failures}, now)


def record_results_of(session: Session, worker: str, results: Mapping[str, list[ItemResult]],
                      failures: Mapping[str, list[ItemFailure]], now: dt.datetime) -> int:
    """`record_results` for the items of many jobs (job id -> its results, its failures) in
    the same two statements; returns rows written."""
    held = {"b_worker": worker, "b_now": now}
    rows = [{**held, "b_job": job_id, "b_id": r.item_id, "b_path": r.image_path,
             "b_sha": r.image_sha256, "b_texts": list(r.control_texts),
             "b_agreements": [float(a) for a in r.agreements], "b_rounds": r.rounds_run,
             "b_ms": r.compute_ms, "b_payload": r.payload,
             "b_strip": r.rounds_path} for job_id, done in results.items() for r in done]
    written = session.execute(_SUCCEED, rows).rowcount if rows else 0
    rows = [{**held, "b_job": job_id, "b_id": f.item_id, "b_code": f.error_code,
             "b_error": f.error} for job_id, failed in failures.items() for f in failed]
    return written + (session.execute(_FAIL, rows).rowcount if rows else 0)


def release_items(session: Session, job_id: str, worker: str) -> int:
    """Hand this worker's unfinished items back (pending, no lease) so the next run takes them."""
    result = session.execute(
        update(Item)
        .where(*_mine(job_id, worker))
        .values(status=PENDING, lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def release_orphans(session: Session, job_id: str, *, max_attempts: int, now: dt.datetime) -> int:
    """Items left `running` by a dead run: back to pending, or failed once they used every attempt.

    Only call this while holding the job (after a successful claim or re-dispatch): it takes
    items from whoever leased them. Returns how many items went back to pending.
    """
    session.execute(
        update(Item)
        .where(Item.job_id == job_id, Item.status == RUNNING, Item.attempt >= max_attempts)
        .values(status=FAILED, error_code="worker_crashed", lease_owner=None,
                lease_expires_at=None, finished_at=now,
                error=f"the worker died while running this item {max_attempts} times")
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(Item)
        .where(Item.job_id == job_id, Item.status == RUNNING)
        .values(status=PENDING, lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def cancel_unfinished(session: Session, job_id: str, now: dt.datetime) -> int:
    """Mark every pending or running item of the job canceled; finished items are kept."""
    result = session.execute(
        update(Item)
        .where(Item.job_id == job_id, Item.status.in_([PENDING, RUNNING]))
        .values(status=CANCELED, lease_owner=None, lease_expires_at=None, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def fail_unfinished(session: Session, job_id: str, code: str, message: str,
                    now: dt.datetime) -> int:
    """Mark every pending or running item of the job failed with `code`; finished items are kept."""
    result = session.execute(
        update(Item)
        .where(Item.job_id == job_id, Item.status.in_([PENDING, RUNNING]))
        .values(status=FAILED, error_code=code, error=message, lease_owner=None,
                lease_expires_at=None, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def item_counts(session: Session, job_id: str) -> dict[str, int]:
    """How many items of the job are in each status (absent statuses count 0)."""
    rows = session.execute(
        select(Item.status, func.count()).where(Item.job_id == job_id).group_by(Item.status)
    )
    counts = {status.value: 0 for status in ItemStatus}
    counts.update({status: n for status, n in rows})
    return counts


def item_counts_of(session: Session, job_ids: Collection[str]) -> dict[str, dict[str, int]]:
    """`item_counts` for many jobs, in one query: job id -> status -> count."""
    out = {job_id: {status.value: 0 for status in ItemStatus} for job_id in job_ids}
    if job_ids:
        for job_id, status, n in session.execute(_COUNTS_OF, {"b_ids": list(job_ids)}):
            out[job_id][status] = n
    return out


def update_progress(session: Session, job_id: str, *, current_round: int | None = None) -> Progress:
    """Recount the job's items into its progress columns (idempotent) and return the figures,
    in one statement."""
    if current_round is None:
        row = session.execute(_PROGRESS, {"b_job": job_id}).one()
    else:
        row = session.execute(_PROGRESS_AT_ROUND, {"b_job": job_id, "b_round": current_round}).one()
    return Progress(done=row.done_items, failed=row.failed_items, total=row.total_items,
                    round=row.current_round)


# The statements of every batch, built once: building and hashing a statement costs more CPU
# than PostgreSQL spends running it. Core statements on the tables, with bind parameters.
_ITEMS, _JOBS = Item.__table__, Job.__table__
# The picked ids are a materialized CTE, evaluated once: as a plain IN subquery, PostgreSQL may
# rescan it while the UPDATE runs and lease more than the limit.
_PICKED = (
    select(_ITEMS.c.id)
    .where(_ITEMS.c.job_id == bindparam("b_job"), _ITEMS.c.status == PENDING)
    .order_by(_ITEMS.c.index)
    .limit(bindparam("b_size"))
    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serializes writers (BEGIN IMMEDIATE)
    .cte("picked")
    .prefix_with("MATERIALIZED")
)
_CLAIM = (
    update(_ITEMS)
    .where(_ITEMS.c.id.in_(select(_PICKED.c.id)), _ITEMS.c.status == PENDING)
    .values(status=RUNNING, lease_owner=bindparam("b_worker"),
            lease_expires_at=bindparam("b_expires"), attempt=_ITEMS.c.attempt + 1,
            started_at=func.coalesce(_ITEMS.c.started_at, bindparam("b_now")))
    .returning(_ITEMS.c.id, _ITEMS.c.index, _ITEMS.c.prompt, _ITEMS.c.seed)
)


_COUNTS_OF = (
    select(_ITEMS.c.job_id, _ITEMS.c.status, func.count())
    .where(_ITEMS.c.job_id.in_(bindparam("b_ids", expanding=True)))
    .group_by(_ITEMS.c.job_id, _ITEMS.c.status)
)


def _finish(**values: object):  # noqa: ANN202 - an Update
    """Finish an item (bind parameter b_id) that this worker still holds."""
    return (
        update(_ITEMS)
        .where(_ITEMS.c.id == bindparam("b_id"), _ITEMS.c.job_id == bindparam("b_job"),
               _ITEMS.c.status == RUNNING, _ITEMS.c.lease_owner == bindparam("b_worker"))
        .values(lease_owner=None, lease_expires_at=None, finished_at=bindparam("b_now"), **values)
    )


_SUCCEED = _finish(status=SUCCEEDED, image_path=bindparam("b_path"),
                   image_sha256=bindparam("b_sha"), control_texts=bindparam("b_texts"),
                   agreements=bindparam("b_agreements"), rounds_run=bindparam("b_rounds"),
                   compute_ms=bindparam("b_ms"), payload=bindparam("b_payload"),
                   rounds_path=bindparam("b_strip"))
_FAIL = _finish(status=FAILED, error_code=bindparam("b_code"), error=bindparam("b_error"))


def _progress(**values: object):  # noqa: ANN202 - an Update ... RETURNING
    def count(*statuses: str):  # noqa: ANN202 - a scalar subquery
        return (select(func.count(_ITEMS.c.id))
                .where(_ITEMS.c.job_id == bindparam("b_job"), _ITEMS.c.status.in_(statuses))
                .scalar_subquery())

    return (
        update(_JOBS).where(_JOBS.c.id == bindparam("b_job"))
        .values(done_items=count(SUCCEEDED, FAILED), failed_items=count(FAILED), **values)
        .returning(_JOBS.c.done_items, _JOBS.c.failed_items, _JOBS.c.total_items,
                   _JOBS.c.current_round)
    )


_PROGRESS = _progress()
_PROGRESS_AT_ROUND = _progress(current_round=bindparam("b_round"))
