"""Worker-side store functions (store/runs.py, store/items.py) on SQLite and PostgreSQL.

Claims are compare-and-set with an attempt counter; only pending items are leased; a worker that
lost its lease writes nothing; final statuses follow the item counts.
"""

from __future__ import annotations

import datetime as dt
import threading

from store import session_scope
from store.items import ItemFailure, ItemResult, claim_batch, record_results
from store.models import Item, Job, utcnow
from store.runs import BUSY, CANCEL, CLAIMED, CRASHED, LOST, OK, RESUMED, TERMINAL
from store.runs import claim_job, finalize_job, finalize_jobs, heartbeat
from tests.worker_support import add_job, load_items, load_job, set_cancel

LEASE = 30.0


def claim(url: str, job_id: str, worker: str, now: dt.datetime | None = None, max_attempts: int = 3):
    with session_scope(url) as session:
        return claim_job(session, job_id, worker, max_attempts=max_attempts, lease_seconds=LEASE,
                         now=now or utcnow())


def lease(url: str, job_id: str, worker: str, size: int, now: dt.datetime | None = None):
    with session_scope(url) as session:
        return claim_batch(session, job_id, worker, size=size, lease_seconds=LEASE,
                           now=now or utcnow())


def succeed(url: str, job_id: str, worker: str, tasks) -> int:  # noqa: ANN001
    results = [ItemResult(t.id, f"aa/{t.id}.png", "a" * 64, ["t"], [1.0], 1, 1.0) for t in tasks]
    with session_scope(url) as session:
        return record_results(session, job_id, worker, results, [], utcnow())


def test_claim_counts_attempts_and_refuses_a_second_worker_while_the_run_is_live(database_url):
    job_id = add_job(database_url, ["a", "b"])
    first = claim(database_url, job_id, "w1")
    assert (first.outcome, first.attempt) == (CLAIMED, 1)
    assert claim(database_url, job_id, "w2").outcome == BUSY
    assert (claim(database_url, job_id, "w1").outcome, load_job(database_url, job_id).attempt) == (
        RESUMED, 1)
    later = utcnow() + dt.timedelta(seconds=LEASE + 1)
    takeover = claim(database_url, job_id, "w2", now=later)
    assert (takeover.outcome, takeover.attempt) == (CLAIMED, 2)
    assert load_job(database_url, job_id).worker == "w2"


def test_concurrent_claims_of_one_job_have_exactly_one_winner(database_url):
    job_id = add_job(database_url, ["a"])
    barrier, outcomes = threading.Barrier(4), []

    def contend(name: str) -> None:
        barrier.wait()
        outcomes.append(claim(database_url, job_id, name).outcome)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [BUSY, BUSY, BUSY, CLAIMED]
    assert load_job(database_url, job_id).attempt == 1


def test_claim_past_max_attempts_fails_the_job_as_worker_crashed(database_url):
    job_id = add_job(database_url, ["a", "b"], status="queued", attempt=3)
    assert claim(database_url, job_id, "w1").outcome == CRASHED
    job = load_job(database_url, job_id)
    assert (job.status, job.error_code, job.attempt) == ("failed", "worker_crashed", 3)
    assert {i.status for i in load_items(database_url, job_id)} == {"failed"}
    assert claim(database_url, job_id, "w2").outcome == TERMINAL


def test_claim_batch_leases_pending_items_in_order_and_never_a_succeeded_one(database_url):
    job_id = add_job(database_url, [f"p{i}" for i in range(6)])
    claim(database_url, job_id, "w1")
    first = lease(database_url, job_id, "w1", 4)
    assert [t.index for t in first] == [0, 1, 2, 3]
    assert succeed(database_url, job_id, "w1", first[:2]) == 2
    second = lease(database_url, job_id, "w1", 4)
    assert [t.index for t in second] == [4, 5]
    items = load_items(database_url, job_id)
    assert [i.status for i in items] == ["succeeded"] * 2 + ["running"] * 4
    assert all(i.lease_owner == "w1" and i.lease_expires_at is not None for i in items[2:])
    assert lease(database_url, job_id, "w1", 4) == []


def test_a_worker_that_lost_its_run_writes_nothing(database_url):
    job_id = add_job(database_url, ["a", "b"])
    claim(database_url, job_id, "w1")
    tasks = lease(database_url, job_id, "w1", 2)
    later = utcnow() + dt.timedelta(seconds=LEASE + 1)
    assert claim(database_url, job_id, "w2", now=later).outcome == CLAIMED
    assert succeed(database_url, job_id, "w1", tasks) == 0  # items went back to pending
    with session_scope(database_url) as session:
        assert heartbeat(session, job_id, "w1", 1, lease_seconds=LEASE, now=later) == LOST
        assert finalize_job(session, job_id, "w1", 1, later) is None
    assert [i.status for i in load_items(database_url, job_id)] == ["pending", "pending"]


def test_heartbeat_renews_leases_and_reports_a_cancel_request(database_url):
    job_id = add_job(database_url, ["a"])
    claim(database_url, job_id, "w1")
    lease(database_url, job_id, "w1", 1)
    later = utcnow() + dt.timedelta(seconds=10)
    with session_scope(database_url) as session:
        assert heartbeat(session, job_id, "w1", 1, lease_seconds=LEASE, now=later,
                         current_round=2) == OK
    item = load_items(database_url, job_id)[0]
    assert item.lease_expires_at.replace(tzinfo=None) >= (later.replace(tzinfo=None)
                                                          + dt.timedelta(seconds=LEASE - 1))
    assert load_job(database_url, job_id).current_round == 2
    set_cancel(database_url, job_id)
    with session_scope(database_url) as session:
        assert heartbeat(session, job_id, "w1", 1, lease_seconds=LEASE, now=later) == CANCEL


def _finish(url: str, job_id: str, failures: int, canceled: bool = False) -> Job:
    claim(url, job_id, "w1")
    tasks = lease(url, job_id, "w1", 3 if not canceled else 1)
    ok = [ItemResult(t.id, "aa/x.png", "a" * 64) for t in tasks[failures:]]
    bad = [ItemFailure(t.id, "invalid_input", "bad prompt") for t in tasks[:failures]]
    with session_scope(url) as session:
        record_results(session, job_id, "w1", ok, bad, utcnow())
        finalize_job(session, job_id, "w1", 1, utcnow(), canceled=canceled)
    return load_job(url, job_id)


def test_finalize_jobs_sets_the_final_status_of_the_finished_runs_this_worker_holds(
        database_url):
    done, failed, left, theirs = (add_job(database_url, p) for p in (["a", "b"], ["c"],
                                                                      ["d", "e"], ["f"]))
    for job_id in (done, failed, left):
        claim(database_url, job_id, "w1")
    claim(database_url, theirs, "w2")
    succeed(database_url, done, "w1", lease(database_url, done, "w1", 2))
    succeed(database_url, left, "w1", lease(database_url, left, "w1", 1))
    succeed(database_url, theirs, "w2", lease(database_url, theirs, "w2", 1))
    bad = [ItemFailure(t.id, "invalid_input", "bad prompt")
           for t in lease(database_url, failed, "w1", 1)]
    with session_scope(database_url) as session:
        record_results(session, failed, "w1", [], bad, utcnow())
    with session_scope(database_url) as session:
        answer = finalize_jobs(session, {done: 1, failed: 1, left: 1, theirs: 1}, "w1", utcnow())
    assert answer == {done: "succeeded", failed: "failed"}
    jobs = {j: load_job(database_url, j) for j in (done, failed, left, theirs)}
    assert [(jobs[j].status, jobs[j].done_items, jobs[j].error_code) for j in jobs] == [
        ("succeeded", 2, None), ("failed", 1, "items_failed"), ("running", 0, None),
        ("running", 0, None)]
    assert jobs[failed].error == "1 of 1 items failed" and jobs[done].finished_at is not None


def test_finalize_sets_succeeded_partial_failed_from_the_item_counts(database_url):
    outcomes = []
    for failures in (0, 1, 3):
        job = _finish(database_url, add_job(database_url, ["a", "b", "c"]), failures)
        outcomes.append((job.status, job.done_items, job.failed_items, job.error_code))
    assert outcomes == [("succeeded", 3, 0, None), ("partial", 3, 1, "items_failed"),
                        ("failed", 3, 3, "items_failed")]


def test_finalize_canceled_keeps_finished_items_and_cancels_the_rest(database_url):
    job_id = add_job(database_url, ["a", "b", "c"])
    job = _finish(database_url, job_id, 0, canceled=True)
    assert (job.status, job.done_items) == ("canceled", 1)
    assert [i.status for i in load_items(database_url, job_id)] == ["succeeded", "canceled",
                                                                     "canceled"]
    assert all(isinstance(i, Item) and i.lease_owner is None for i in load_items(database_url, job_id))
