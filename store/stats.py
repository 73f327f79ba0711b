"""Counts over the whole store for the operators' metrics (api/metrics.py reads them at scrape).

Every figure is a query over committed rows, so every API process reports the same numbers and
none is lost when a process restarts: the item counters are the store's own counts, and the two
latency distributions are bucketed in SQL (cumulative, as a Prometheus histogram wants them).
These are whole-table aggregates; scrape every 15-60 s, not per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, case, cast, func, select
from sqlalchemy.orm import Session

from store.models import Item, ItemStatus, Job, ModelVersion

FINISHED_ITEM_STATUSES = (ItemStatus.SUCCEEDED.value, ItemStatus.FAILED.value)


@dataclass(frozen=True)
class Buckets:
    """A distribution as cumulative counts: counts[i] values <= bounds[i]; total count and sum."""

    bounds: Sequence[float]
    counts: list[int]
    count: int
    total: float


def jobs_by_status(session: Session) -> dict[tuple[str, str], int]:
    """(job kind, status) -> number of jobs."""
    rows = session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status))
    return {(kind, status): count for kind, status, count in rows}


def finished_items_by_model(session: Session) -> dict[tuple[str, str], int]:
    """(model name, item status) -> items that finished so (succeeded or failed); a job whose
    model is not in the catalog (it failed before resolving one) counts under "unknown"."""
    model = func.coalesce(ModelVersion.name, "unknown")
    rows = session.execute(
        select(model, Item.status, func.count())
        .select_from(Item).join(Job, Job.id == Item.job_id)
        .outerjoin(ModelVersion, ModelVersion.version == Job.model_version)
        .where(Item.status.in_(FINISHED_ITEM_STATUSES))
        .group_by(model, Item.status))
    return {(name, status): count for name, status, count in rows}


def item_model_seconds(session: Session, bounds: Sequence[float]) -> Buckets:
    """Model time per finished item (the worker's share of its batch), bucketed."""
    seconds = Item.compute_ms / 1000.0
    return _bucketed(session, seconds, Item.compute_ms.is_not(None), bounds)


def item_queue_wait_seconds(session: Session, bounds: Sequence[float]) -> Buckets:
    """From an item's submission to its last start on a worker, bucketed."""
    wait = _seconds_between(session, Item.created_at, Item.started_at)
    return _bucketed(session, wait, Item.started_at.is_not(None), bounds)


def _bucketed(session: Session, value: ColumnElement, present: ColumnElement,
              bounds: Sequence[float]) -> Buckets:
    columns = [func.sum(case((value <= bound, 1), else_=0)) for bound in bounds]
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(value), 0.0), *columns).where(present)).one()
    return Buckets(bounds=tuple(bounds), counts=[int(c or 0) for c in row[2:]],
                   count=int(row[0]), total=float(row[1]))


def _seconds_between(session: Session, start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """`end - start` in seconds, in the dialect at hand (SQLite stores datetimes as text)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return cast(func.extract("epoch", end - start), Float)
