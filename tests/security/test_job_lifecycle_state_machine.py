"""A Hypothesis state machine over the job lifecycle, on a real (migrated) SQLite database.

The rules are what the API, the workers and the sweeper do, through the same store functions:
submit, cancel, a delivery to one of three workers (claim; a second delivery of the same job is
a duplicate), lease a batch, record leased items (results or failures), the engine's whole pass
(lease, record, maybe finalize), heartbeat, finalize (canceled only after a cancel was asked),
release after an error (counting the attempt or not), a late write of everything a run ever
leased, the clock moving on (leases expire: a worker that stops acting is a crashed one), and a
sweep (expired runs re-queued or failed at the attempt cap, stale queued jobs re-dispatched).
Workers keep acting with the attempt they claimed, so a superseded run keeps trying to write:
the zombie of a duplicate delivery. (With the item lease check removed from store.items, this
machine finds a finished item rewritten within its 60 examples.)

Invariants, checked after every step against the rows:
- no (job, index) has two item rows, and no item is ever written twice (each accepted write of a
  result or failure is counted per item);
- a job moves only queued -> running | canceled | failed, running -> queued (re-dispatched, a new
  attempt) | running | a terminal status; a terminal status is final, and so are an item's
  status and image once it is terminal (running -> pending, a lease given back, is the one way
  an item goes back, and a finished item is never leased again);
- attempts stay within max_attempts; a running item holds a lease, a finished one none;
- a finished job has no pending or running item, its done/failed counters equal its item counts,
  and a succeeded job has only succeeded items; every job counts all its items.

Bounded (60 examples of up to 50 steps) to finish in well under a minute.
"""

from __future__ import annotations

import collections
import datetime as dt
import uuid

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, text

import store.jobs
from store import session_scope
from store.items import ItemFailure, ItemResult, claim_batch, record_results, update_progress
from store.jobs import NewItem, create_job, request_cancel
from store.models import Item, Job, utcnow
from store.runs import (
    claim_job, expired_running_jobs, finalize_job, heartbeat, mark_dispatched, release_run,
    requeue_job, stale_queued_jobs,
)
from store.tenants import get_or_create_tenant

MAX_ATTEMPTS, LEASE, STALE = 3, 10, 30
MAX_JOBS = 3  # per example: steps go to working them, not to submitting more
WORKERS = st.sampled_from(["w1", "w2", "w3"])
TERMINAL = {"succeeded", "failed", "canceled", "partial"}
JOB_MOVES = {"queued": {"queued", "running", "canceled", "failed"},
             "running": {"running", "queued", *TERMINAL}}
DUPLICATES = text('SELECT job_id, "index", count(*) FROM items GROUP BY 1, 2 HAVING count(*) > 1')


class JobLifecycle(RuleBasedStateMachine):
    """One tenant's jobs, driven by the API, three workers and the sweeper in any order."""

    url = ""  # the migrated SQLite database, set by the test
    jobs = Bundle("jobs")
    runs = Bundle("runs")  # (job, worker) pairs whose claim succeeded, superseded ones included

    def __init__(self) -> None:
        super().__init__()
        self.now = utcnow()
        self.real_utcnow = store.jobs.utcnow
        store.jobs.utcnow = lambda: self.now  # the API's store functions read the same clock
        with session_scope(self.url) as session:
            self.tenant_id = get_or_create_tenant(session, f"t-{uuid.uuid4().hex}").id
        self.runs: dict[tuple[str, str], int] = {}  # (job, worker) -> attempt it claimed
        self.leased: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
        self.ever_leased: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
        self.job_seen: dict[str, str] = {}
        self.item_seen: dict[int, tuple[str, str | None]] = {}
        self.writes: collections.Counter[int] = collections.Counter()

    def teardown(self) -> None:
        store.jobs.utcnow = self.real_utcnow

    # -- the API -------------------------------------------------------------------------------

    @initialize(target=jobs, n=st.integers(1, 4))
    def first_job(self, n: int) -> str:
        return self.submit(n)

    @precondition(lambda self: len(self.job_seen) < MAX_JOBS)
    @rule(target=jobs, n=st.integers(1, 4))
    def submit(self, n: int) -> str:
        with session_scope(self.url) as session:
            job, _ = create_job(session, tenant_id=self.tenant_id, params={},
                                items=[NewItem(f"brief {i}", i) for i in range(n)])
        self.job_seen[job.id] = "queued"
        return job.id

    @rule(job=jobs, odds=st.integers(0, 3))
    def cancel(self, job: str, odds: int) -> None:
        if odds:  # Hypothesis picks rules evenly: cancel one time in four, or few jobs finish
            return
        with session_scope(self.url) as session:
            request_cancel(session, session.get(Job, job))

    # -- workers -------------------------------------------------------------------------------

    @rule(target=runs, job=jobs, worker=WORKERS)
    def deliver(self, job: str, worker: str):  # noqa: ANN201 - a run, or none
        with session_scope(self.url) as session:
            claim = claim_job(session, job, worker, max_attempts=MAX_ATTEMPTS,
                              lease_seconds=LEASE, now=self.now)
        if not claim.runnable:
            return multiple()
        self.runs[(job, worker)] = claim.attempt
        return (job, worker)

    @rule(run=runs, size=st.integers(1, 4))
    def lease_batch(self, run: tuple[str, str], size: int) -> None:
        with session_scope(self.url) as session:
            batch = claim_batch(session, *run, size=size, lease_seconds=LEASE, now=self.now)
        self.leased[run].extend(task.id for task in batch)
        self.ever_leased[run].update(task.id for task in batch)

    @rule(run=runs, fails=st.lists(st.booleans(), min_size=1, max_size=4))
    def record(self, run: tuple[str, str], fails: list[bool]) -> None:
        """Record up to len(fails) leased items, one write each (a result, or a failure)."""
        for failed in fails[:len(self.leased[run])]:
            item_id = self.leased[run].pop(0)
            result = ItemResult(item_id, f"ab/{item_id}.png", f"{item_id:064x}")
            failure = ItemFailure(item_id, "invalid_input", "rejected")
            with session_scope(self.url) as session:
                self.writes[item_id] += record_results(
                    session, *run, [] if failed else [result], [failure] if failed else [],
                    self.now)
                update_progress(session, run[0])

    @rule(run=runs, size=st.integers(1, 4), fails=st.lists(st.booleans(), max_size=4),
          finish=st.booleans())
    def work(self, run: tuple[str, str], size: int, fails: list[bool], finish: bool) -> None:
        """What the engine does in one pass: lease a batch, record some of it, maybe finalize."""
        self.lease_batch(run, size)
        if fails:
            self.record(run, fails)
        if finish:
            self.finalize(run)

    @rule(run=runs, failed=st.booleans())
    def late_write(self, run: tuple[str, str], failed: bool) -> None:
        """A slow or duplicated worker writes, again, every item its run ever leased: after
        losing its lease, after another run finished them, or twice in a row."""
        for item_id in sorted(self.ever_leased[run]):
            result = ItemResult(item_id, f"zz/{item_id}.png", f"{item_id + 1:064x}")
            failure = ItemFailure(item_id, "invalid_input", "late")
            with session_scope(self.url) as session:
                self.writes[item_id] += record_results(
                    session, *run, [] if failed else [result], [failure] if failed else [],
                    self.now)

    @rule(run=runs)
    def beat(self, run: tuple[str, str]) -> None:
        with session_scope(self.url) as session:
            heartbeat(session, *run, self.runs[run], lease_seconds=LEASE, now=self.now)

    @rule(run=runs)
    def finalize(self, run: tuple[str, str]) -> None:
        with session_scope(self.url) as session:
            canceled = bool(session.scalar(select(Job.cancel_requested).where(Job.id == run[0])))
            finalize_job(session, *run, self.runs[run], self.now, canceled=canceled)
            update_progress(session, run[0])

    @rule(run=runs, count_attempt=st.booleans())
    def release(self, run: tuple[str, str], count_attempt: bool) -> None:
        with session_scope(self.url) as session:
            release_run(session, *run, self.runs[run], self.now, count_attempt=count_attempt,
                        reason="stopped on an error")

    # -- time and the sweeper ------------------------------------------------------------------

    @rule(seconds=st.sampled_from([1, 4, LEASE + 1, STALE + 1]))
    def tick(self, seconds: int) -> None:
        self.now += dt.timedelta(seconds=seconds)

    @rule()
    def sweep(self) -> None:
        with session_scope(self.url) as session:
            for ref in stale_queued_jobs(session, self.now, STALE):
                mark_dispatched(session, ref.id, self.now, STALE)
            for ref in expired_running_jobs(session, self.now, LEASE):
                requeue_job(session, ref, self.now, lease_seconds=LEASE, max_attempts=MAX_ATTEMPTS)

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def rows_agree_with_the_rules(self) -> None:
        with session_scope(self.url) as session:
            assert session.execute(DUPLICATES).all() == []
            for job in session.scalars(select(Job).where(Job.tenant_id == self.tenant_id)):
                items = list(session.scalars(select(Item).where(Item.job_id == job.id)))
                self.check_job(job, items)
                for item in items:
                    self.check_item(item)
        assert all(n <= 1 for n in self.writes.values()), self.writes

    def check_job(self, job: Job, items: list[Item]) -> None:
        before = self.job_seen.get(job.id, "queued")
        allowed = JOB_MOVES.get(before, {before})
        assert job.status in allowed, f"job went {before} -> {job.status}"
        self.job_seen[job.id] = job.status
        assert 0 <= job.attempt <= MAX_ATTEMPTS and job.total_items == len(items)
        counts = collections.Counter(item.status for item in items)
        if job.status not in TERMINAL:
            return
        assert counts["pending"] == counts["running"] == 0, (job.status, counts)
        assert (job.done_items, job.failed_items) == (
            counts["succeeded"] + counts["failed"], counts["failed"]), (job.status, counts)
        if job.status == "succeeded":
            assert counts["succeeded"] == len(items)

    def check_item(self, item: Item) -> None:
        before = self.item_seen.get(item.id, ("pending", None))
        now = (item.status, item.image_sha256)
        if before[0] in TERMINAL:  # unfinished items may reach anything between two checks
            assert now == before, f"finished item changed: {before} -> {now}"
        self.item_seen[item.id] = now
        leased = item.lease_owner is not None and item.lease_expires_at is not None
        assert leased == (item.status == "running"), (item.status, item.lease_owner)
        assert (item.status == "succeeded") == (item.image_sha256 is not None)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_job_lifecycle_keeps_its_invariants_in_any_order_of_deliveries(sqlite_url: str) -> None:
    JobLifecycle.url = sqlite_url
    run_state_machine_as_test(JobLifecycle, settings=settings(
        max_examples=60, stateful_step_count=50, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
