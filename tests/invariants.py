"""The invariant queries of docs/reliability.md, in one place, for every chaos case and the soak.

"Nothing lost, nothing duplicated" as the store and the storage folder show it:

- no (job, item index) has more than one row (`duplicate_rows`, the docs/reliability.md query);
- every accepted job reached a terminal status (`unfinished_jobs`);
- every item of a succeeded job has exactly one result: status succeeded, a PNG under storage whose
  SHA-256 is the one recorded, and no other item pointing at the same file (`item_problems`);
- no PNG in storage that no item refers to (`orphan_files`), and the temp files a killed writer
  may leave behind are counted (`temp_files`).

`check(url, storage, job_ids)` runs them all and returns a `Report`; `report.problems()` lists
what is wrong in words, so a failing test says which invariant broke and for which rows.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

from store import session_scope
from store.models import Item, Job

TERMINAL = frozenset({"succeeded", "failed", "canceled", "partial"})
DUPLICATES_SQL = text(
    'SELECT job_id, "index", count(*) FROM items GROUP BY job_id, "index" HAVING count(*) > 1')


@dataclass
class Report:
    """What the invariant queries found; empty lists mean the invariant holds."""

    jobs: dict[str, int] = field(default_factory=dict)  # status -> number of jobs
    items: dict[str, int] = field(default_factory=dict)  # status -> number of items
    duplicate_rows: list[tuple] = field(default_factory=list)
    unfinished_jobs: list[str] = field(default_factory=list)
    item_problems: list[str] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)
    temp_files: int = 0
    max_attempt: int = 0

    def problems(self) -> list[str]:
        found = [f"duplicate item rows: {self.duplicate_rows[:5]}"] if self.duplicate_rows else []
        if self.unfinished_jobs:
            found.append(f"{len(self.unfinished_jobs)} jobs not terminal: {self.unfinished_jobs[:5]}")
        found += self.item_problems[:10]
        if self.orphan_files:
            found.append(f"{len(self.orphan_files)} orphan PNGs: {self.orphan_files[:5]}")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems()


def duplicate_rows(url: str) -> list[tuple]:
    """(job_id, index, count) for every item written more than once; must be empty."""
    with session_scope(url) as session:
        return [tuple(row) for row in session.execute(DUPLICATES_SQL)]


def job_statuses(url: str, job_ids: Sequence[str] | None = None) -> dict[str, str]:
    """job id -> status, for `job_ids` (None: every job)."""
    query = select(Job.id, Job.status)
    if job_ids is not None:
        query = query.where(Job.id.in_(list(job_ids)))
    with session_scope(url) as session:
        return {row.id: row.status for row in session.execute(query)}


def unfinished_jobs(url: str, job_ids: Sequence[str] | None = None) -> list[str]:
    return sorted(j for j, status in job_statuses(url, job_ids).items() if status not in TERMINAL)


def all_terminal(url: str, job_ids: Sequence[str] | None = None) -> bool:
    return not unfinished_jobs(url, job_ids)


def items_of(url: str, job_ids: Sequence[str] | None = None) -> list[Item]:
    query = select(Item).order_by(Item.job_id, Item.index)
    if job_ids is not None:
        query = query.where(Item.job_id.in_(list(job_ids)))
    with session_scope(url) as session:
        return list(session.scalars(query))


def item_problems(items: Iterable[Item], storage: Path, *, succeeded_only: bool = True) -> list[str]:
    """Items without exactly one intact result (only items of jobs meant to succeed, by default)."""
    problems, users = [], collections.defaultdict(list)
    for item in items:
        where = f"job {item.job_id} item {item.index}"
        if item.status != "succeeded":
            if succeeded_only:
                problems.append(f"{where} is {item.status} ({item.error_code}: {item.error})")
            continue
        path = storage / (item.image_path or "")
        if not item.image_path or not path.is_file():
            problems.append(f"{where} succeeded without its PNG ({item.image_path})")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != item.image_sha256:
            problems.append(f"{where}: PNG bytes do not match the recorded SHA-256")
        users[item.image_path].append(where)
        if item.rounds_path and not (storage / item.rounds_path).is_file():
            problems.append(f"{where} names a round-by-round strip not stored ({item.rounds_path})")
    problems += [f"{len(w)} items share {p}: {w[:3]}" for p, w in users.items() if len(w) > 1]
    return problems


def stored_pngs(storage: Path) -> set[str]:
    return {p.relative_to(storage).as_posix() for p in storage.glob("*/*.png")}


def orphan_files(url: str, storage: Path) -> list[str]:
    """PNGs in storage that no item row refers to, as its image or its round-by-round strip (a
    result written twice would leave one)."""
    with session_scope(url) as session:
        referenced = set(session.scalars(select(Item.image_path).where(Item.image_path.is_not(None))))
        referenced |= set(session.scalars(select(Item.rounds_path)
                                          .where(Item.rounds_path.is_not(None))))
    return sorted(stored_pngs(storage) - referenced)


def temp_files(storage: Path) -> int:
    """Half-written PNGs (`.<name>.<pid>.tmp`) a SIGKILL left behind; never read by anyone."""
    return len(list(storage.glob("*/.*.tmp")))


def check(url: str, storage: Path, job_ids: Sequence[str] | None = None, *,
          succeeded_only: bool = True) -> Report:
    """Every invariant at once, for `job_ids` (None: every job in the database)."""
    items = items_of(url, job_ids)
    statuses = job_statuses(url, job_ids)
    with session_scope(url) as session:
        max_attempt = session.scalar(select(func.max(Job.attempt))) or 0
    return Report(
        jobs=dict(collections.Counter(statuses.values())),
        items=dict(collections.Counter(i.status for i in items)),
        duplicate_rows=duplicate_rows(url),
        unfinished_jobs=sorted(j for j, s in statuses.items() if s not in TERMINAL),
        item_problems=item_problems(items, storage, succeeded_only=succeeded_only),
        orphan_files=orphan_files(url, storage),
        temp_files=temp_files(storage),
        max_attempt=max_attempt,
    )


def assert_holds(url: str, storage: Path, job_ids: Sequence[str] | None = None, *,
                 succeeded_only: bool = True) -> Report:
    """`check`, failing the test with the list of broken invariants."""
    report = check(url, storage, job_ids, succeeded_only=succeeded_only)
    assert report.ok, "invariants broken:\n" + "\n".join(report.problems())
    return report
