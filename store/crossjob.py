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

from store.db import relax_commit
from store.items import PENDING, RUNNING, ItemTask
from store.models import Item, Job, JobKind, JobStatus
from store.runs import CANCEL, LOST, OK, Beat

JOB_QUEUED = JobStatus.QUEUED.value
JOB_RUNNING = JobStatus.RUNNING.value
_ANY_SIZE = 2**31 - 1  # a pending-items bound no job reaches


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
    1..`max_pending` pending items, none left running by a dead run, and no cancel request;
    highest priority first, then oldest; at most `limit`, none of the ids in `exclude`."""
    rows = session.execute(_CANDIDATES, {"b_exclude": list(exclude), "b_max": max_pending,
                                         "b_limit": limit})
    out = []
    for row in rows:
        params = dict(row.params or {})
        if 1 <= row.pending <= max_pending:
            out.append(Candidate(row.id, row.tenant_id, row.priority, row.pending, params,
                                 row.model_version or params.get("model")))
    return out


def next_queued_job(session: Session) -> str | None:
    """The queued generate job a worker would take next from the store, of any size: highest
    priority first, then oldest, never run before, no cancel request (`queued_candidates`)."""
    return session.scalar(_CANDIDATES, {"b_exclude": [], "b_max": _ANY_SIZE, "b_limit": 1})


def claim_queued_jobs(session: Session, job_ids: Collection[str], worker: str, *,
                      model_version: str, max_attempts: int, now: dt.datetime) -> dict[str, int]:
    """Start a run of each job that is still queued, not canceled and has attempts left, as
    `claim_job` would (attempt + 1, this worker), pinned to `model_version`; job id -> attempt."""
    if not job_ids:
        return {}
    rows = session.execute(_CLAIM_QUEUED, {"b_ids": list(job_ids), "b_max": max_attempts,
                                           "b_worker": worker, "b_version": model_version,
                                           "b_now": now})
    return dict(rows.all())


def lease_pending_items(session: Session, job_ids: Collection[str], worker: str, *,
                        lease_seconds: float, now: dt.datetime) -> dict[str, list[ItemTask]]:
    """Lease every pending item of the jobs (which this worker must hold); job id -> its items
    by index."""
    if not job_ids:
        return {}
    rows = session.execute(_LEASE_PENDING, {
        "b_ids": list(job_ids), "b_worker": worker, "b_now": now,
        "b_expires": now + dt.timedelta(seconds=lease_seconds)})
    out: dict[str, list[ItemTask]] = {}
    for r in sorted(rows.all(), key=lambda r: (r.job_id, r.index)):
        out.setdefault(r.job_id, []).append(ItemTask(id=r.id, index=r.index, prompt=r.prompt,
                                                     seed=r.seed))
    return out


def heartbeat_jobs(session: Session, held: Mapping[str, int], worker: str, *,
                   lease_seconds: float, now: dt.datetime, current_round: int | None = None,
                   renew_items: bool = True) -> dict[str, Beat]:
    """`store.runs.heartbeat` for every job in `held` (job id -> attempt): renew each run this
    worker still owns (one statement) and, with `renew_items`, the leases of its running items
    (a second); per job OK, CANCEL or LOST.

    On PostgreSQL the transaction commits without waiting for its WAL flush (synchronous_commit
    off, this transaction only): a heartbeat lost in a database crash only makes a run look a
    moment older, and not waiting saves a disk flush every round."""
    if not held:
        return {}
    relax_commit(session)
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


# A heartbeat runs every round, and a run waiting for riders looks for them every few ms: the
# statements are built once (building and hashing a statement costs more CPU than PostgreSQL
# spends running it). Core statements on the tables.
_JOBS, _ITEMS = Job.__table__, Item.__table__
_PENDING_COUNT = (
    select(func.count(_ITEMS.c.id))
    .where(_ITEMS.c.job_id == _JOBS.c.id, _ITEMS.c.status == PENDING)
    .correlate(_JOBS)
    .scalar_subquery()
)
_CANDIDATES = (
    select(_JOBS.c.id, _JOBS.c.tenant_id, _JOBS.c.priority, _JOBS.c.params,
           _JOBS.c.model_version, _PENDING_COUNT.label("pending"))
    .where(_JOBS.c.kind == JobKind.GENERATE.value, _JOBS.c.status == JOB_QUEUED,
           _JOBS.c.attempt == 0, _JOBS.c.cancel_requested.is_(False),
           _JOBS.c.total_items - _JOBS.c.done_items <= bindparam("b_max"),
           ~select(_ITEMS.c.id).where(_ITEMS.c.job_id == _JOBS.c.id,
                                      _ITEMS.c.status == RUNNING).exists(),
           _JOBS.c.id.not_in(bindparam("b_exclude", expanding=True)))
    .order_by(_JOBS.c.priority.desc(), _JOBS.c.created_at, _JOBS.c.id)
    .limit(bindparam("b_limit"))
)
_CLAIM_QUEUED = (
    update(_JOBS)
    .where(_JOBS.c.id.in_(bindparam("b_ids", expanding=True)), _JOBS.c.status == JOB_QUEUED,
           _JOBS.c.cancel_requested.is_(False), _JOBS.c.attempt < bindparam("b_max"))
    .values(status=JOB_RUNNING, attempt=_JOBS.c.attempt + 1, worker=bindparam("b_worker"),
            model_version=bindparam("b_version"),
            started_at=func.coalesce(_JOBS.c.started_at, bindparam("b_now")),
            updated_at=bindparam("b_now"))
    .returning(_JOBS.c.id, _JOBS.c.attempt)
)
_LEASE_PENDING = (
    update(_ITEMS)
    .where(_ITEMS.c.job_id.in_(bindparam("b_ids", expanding=True)), _ITEMS.c.status == PENDING)
    .values(status=RUNNING, lease_owner=bindparam("b_worker"),
            lease_expires_at=bindparam("b_expires"), attempt=_ITEMS.c.attempt + 1,
            started_at=func.coalesce(_ITEMS.c.started_at, bindparam("b_now")))
    .returning(_ITEMS.c.id, _ITEMS.c.job_id, _ITEMS.c.index, _ITEMS.c.prompt, _ITEMS.c.seed)
)


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
