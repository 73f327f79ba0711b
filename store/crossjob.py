"""Store functions for cross-job batching: queued jobs that could ride in a worker's batch, and one
heartbeat for every job a run holds.

A worker whose batch is not full may take whole queued jobs into it (worker/crossjob.py). It
claims them with the compare-and-set a delivery uses (`store.runs.claim_job`: queued -> running,
attempt + 1, this worker), for all of them in one statement, then leases their pending items in
another, so a job or an item is never run by two workers and adopting 31 jobs costs two round
trips, not 31 claims. A heartbeat renews many runs in one round trip too.

Store functions take a `session`; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_, update
from sqlalchemy.orm import Session

from store.db import SYNC_COMMIT_OFF
from store.items import PENDING, RUNNING, ItemTask
from store.models import Item, Job, JobKind, JobStatus
from store.runs import CANCEL, LOST, OK

JOB_QUEUED = JobStatus.QUEUED.value
JOB_RUNNING = JobStatus.RUNNING.value


@dataclass(frozen=True)
class Candidate:
    """A queued generate job, as far as a worker needs it to decide whether it can ride along."""

    id: str
    tenant_id: str
    priority: int
    pending: int  # items still pending
    params: dict[str, Any] = field(default_factory=dict)
    model_ref: str | None = None  # pinned version, else params["model"], else None (default)


def queued_candidates(session: Session, *, exclude: Collection[str], max_pending: int,
                      limit: int) -> list[Candidate]:
    """Queued generate jobs never run before (attempt 0: one whose run died must run alone), with
    1..`max_pending` pending items, none left running by a dead run, and no cancel request; highest priority first, then oldest; at most `limit`, none of the ids
    in `exclude`."""
    pending = (
        select(func.count(Item.id))
        .where(Item.job_id == Job.id, Item.status == PENDING)
        .correlate(Job)
        .scalar_subquery()
    )
    running = select(Item.id).where(Item.job_id == Job.id, Item.status == RUNNING).exists()
    query = (
        select(Job.id, Job.tenant_id, Job.priority, Job.params, Job.model_version,
               pending.label("pending"))
        .where(Job.kind == JobKind.GENERATE.value, Job.status == JOB_QUEUED, Job.attempt == 0,
               Job.cancel_requested.is_(False), Job.total_items - Job.done_items <= max_pending,
               ~running)
        .order_by(Job.priority.desc(), Job.created_at, Job.id)
        .limit(limit)
    )
    if exclude:
        query = query.where(Job.id.not_in(list(exclude)))
    out = []
    for row in session.execute(query):
        params = dict(row.params or {})
        if 1 <= row.pending <= max_pending:
            out.append(Candidate(row.id, row.tenant_id, row.priority, row.pending, params,
                                 row.model_version or params.get("model")))
    return out


def claim_queued_jobs(session: Session, job_ids: Collection[str], worker: str, *,
                      model_version: str, max_attempts: int, now: dt.datetime) -> dict[str, int]:
    """Start a run of each job that is still queued, not canceled and has attempts left, as
    `claim_job` would (attempt + 1, this worker), pinned to `model_version`; job id -> attempt."""
    if not job_ids:
        return {}
    rows = session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.status == JOB_QUEUED,
               Job.cancel_requested.is_(False), Job.attempt < max_attempts)
        .values(status=JOB_RUNNING, attempt=Job.attempt + 1, worker=worker,
                model_version=model_version, started_at=func.coalesce(Job.started_at, now),
                updated_at=now)
        .returning(Job.id, Job.attempt)
        .execution_options(synchronize_session=False)
    )
    return dict(rows.all())


def lease_pending_items(session: Session, job_ids: Collection[str], worker: str, *,
                        lease_seconds: float, now: dt.datetime) -> dict[str, list[ItemTask]]:
    """Lease every pending item of the jobs (which this worker must hold); job id -> its items
    by index."""
    if not job_ids:
        return {}
    rows = session.execute(
        update(Item)
        .where(Item.job_id.in_(list(job_ids)), Item.status == PENDING)
        .values(status=RUNNING, lease_owner=worker,
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                attempt=Item.attempt + 1, started_at=func.coalesce(Item.started_at, now))
        .returning(Item.id, Item.job_id, Item.index, Item.prompt, Item.seed)
        .execution_options(synchronize_session=False)
    )
    out: dict[str, list[ItemTask]] = {}
    for r in sorted(rows.all(), key=lambda r: (r.job_id, r.index)):
        out.setdefault(r.job_id, []).append(ItemTask(id=r.id, index=r.index, prompt=r.prompt,
                                                     seed=r.seed))
    return out


def heartbeat_jobs(session: Session, held: Mapping[str, int], worker: str, *,
                   lease_seconds: float, now: dt.datetime, current_round: int | None = None,
                   renew_items: bool = True) -> dict[str, str]:
    """`store.runs.heartbeat` for every job in `held` (job id -> attempt): renew each run this
    worker still owns (one statement) and, with `renew_items`, the leases of its running items
    (a second); per job OK, CANCEL or LOST.

    On PostgreSQL the transaction commits without waiting for its WAL flush (synchronous_commit
    off, this transaction only): a heartbeat lost in a database crash only makes a run look a
    moment older, and not waiting saves a disk flush every round."""
    if not held:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(SYNC_COMMIT_OFF)
    params = {"b_held": list(held.items()), "b_worker": worker, "b_now": now}
    if current_round is None:
        rows = session.execute(_BEAT, params)
    else:
        rows = session.execute(_BEAT_AT_ROUND, {**params, "b_round": current_round})
    states = dict.fromkeys(held, LOST)
    states.update({r.id: CANCEL if r.cancel_requested else OK for r in rows})
    live = [job_id for job_id, state in states.items() if state != LOST]
    if live and renew_items:
        session.execute(_RENEW_ITEMS, {"b_live": live, "b_worker": worker,
                                       "b_expires": now + dt.timedelta(seconds=lease_seconds)})
    return states


# A heartbeat runs every round: its statements are built once (building and hashing a statement
# costs more CPU than PostgreSQL spends running it). Core statements on the tables.
_JOBS, _ITEMS = Job.__table__, Item.__table__


def _beat(**values: Any):  # noqa: ANN202 - an Update ... RETURNING
    return (
        update(_JOBS)
        .where(tuple_(_JOBS.c.id, _JOBS.c.attempt).in_(bindparam("b_held", expanding=True)),
               _JOBS.c.status == JOB_RUNNING, _JOBS.c.worker == bindparam("b_worker"))
        .values(updated_at=bindparam("b_now"), **values)
        .returning(_JOBS.c.id, _JOBS.c.cancel_requested)
    )


_BEAT = _beat()
_BEAT_AT_ROUND = _beat(current_round=bindparam("b_round"))
_RENEW_ITEMS = (
    update(_ITEMS)
    .where(_ITEMS.c.job_id.in_(bindparam("b_live", expanding=True)), _ITEMS.c.status == RUNNING,
           _ITEMS.c.lease_owner == bindparam("b_worker"))
    .values(lease_expires_at=bindparam("b_expires"))
)
