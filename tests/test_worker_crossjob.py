"""Cross-job batching (worker/crossjob.py) on SQLite and PostgreSQL: small queued jobs ride in a
run's batch when it has room, by priority, each with its own progress, cancel and final status;
nothing runs twice, even with two workers filling their batches from the same queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from store import session_scope
from store.crossjob import heartbeat_jobs
from store.models import utcnow
from store.runs import CANCEL, LOST, OK, claim_job
from tests.worker_support import add_job, load_items, load_job, make_runtime, set_cancel
from worker.engine import run_delivery, run_job
from worker.stub_model import StubModel


class Recorder:
    """The stub model (no sleep), recording the prompts of each batch; `on_step(batch, step)`
    runs after every round."""

    def __init__(self, on_step: Callable[[int, Any], None] | None = None) -> None:
        self.model, self.on_step = StubModel(item_seconds=0.0), on_step
        self.version, self.name = self.model.version, self.model.name
        self.batches: list[list[str]] = []

    def generate(self, prompts, seeds, rounds=3, early_exit=True):  # noqa: ANN001, ANN201
        self.batches.append(list(prompts))
        for step in self.model.generate(prompts, seeds, rounds=rounds, early_exit=early_exit):
            yield step
            if self.on_step is not None:
                self.on_step(len(self.batches), step)


def runtime_for(url: str, tmp_path, model: Any, **overrides: Any):  # noqa: ANN001, ANN201
    overrides = {"batch_size": 4, "batch_wait_ms": 0.0, **overrides}
    return make_runtime(url, tmp_path, loader=lambda _location: model, **overrides)


PARAMS = {"rounds": 2, "early_exit": False}


def test_small_jobs_ride_in_one_batch_and_each_finishes_with_its_own_results(database_url,
                                                                            tmp_path):
    model = Recorder()
    jobs = [add_job(database_url, [f"job {j} item {i}" for i in range(n)], params=PARAMS)
            for j, n in enumerate((1, 2, 1))]
    assert run_job(jobs[0], runtime_for(database_url, tmp_path, model), "w1") == "succeeded"
    assert model.batches == [["job 0 item 0", "job 1 item 0", "job 1 item 1", "job 2 item 0"]]
    for job_id, n in zip(jobs, (1, 2, 1), strict=True):
        job, items = load_job(database_url, job_id), load_items(database_url, job_id)
        assert (job.status, job.attempt, job.done_items, job.total_items) == ("succeeded", 1, n, n)
        assert job.model_version == model.version and job.finished_at is not None
        assert all(i.status == "succeeded" and i.rounds_run == 3 and i.attempt == 1
                   and (tmp_path / i.image_path).exists() for i in items)
    # Each rider's own message, delivered later, finds nothing left to do.
    assert run_job(jobs[1], runtime_for(database_url, tmp_path, model), "w2") == "terminal"
    assert len(model.batches) == 1


def test_riders_come_by_priority_and_only_fill_the_free_room(database_url, tmp_path):
    model = Recorder()
    own = add_job(database_url, ["own"], params=PARAMS)
    low = add_job(database_url, ["low"], params=PARAMS, priority=1, age_seconds=60)
    high = add_job(database_url, ["high a", "high b"], params=PARAMS, priority=9)
    big = add_job(database_url, ["big a", "big b", "big c", "big d"], params=PARAMS,
                  priority=9, age_seconds=120)
    assert run_job(own, runtime_for(database_url, tmp_path, model), "w1") == "succeeded"
    assert model.batches == [["own", "high a", "high b", "low"]]
    assert [load_job(database_url, j).status for j in (low, high, big)] == [
        "succeeded", "succeeded", "queued"]  # `big` does not fit whole: it runs on its own


def test_only_jobs_with_the_same_loop_options_and_model_ride(database_url, tmp_path):
    model = Recorder()
    own = add_job(database_url, ["own"], params=PARAMS)
    others = [add_job(database_url, ["more rounds"], params={"rounds": 3, "early_exit": False}),
              add_job(database_url, ["early exit"], params={"rounds": 2}),
              add_job(database_url, ["other model"], params=PARAMS, model_ref="no-such-model"),
              add_job(database_url, ["bad params"], params={"rounds": -1})]
    assert run_job(own, runtime_for(database_url, tmp_path, model), "w1") == "succeeded"
    assert model.batches == [["own"]]
    assert {load_job(database_url, j).status for j in others} == {"queued"}


def test_canceled_jobs_and_jobs_out_of_attempts_are_left_to_their_own_delivery(database_url,
                                                                             tmp_path):
    model = Recorder()
    own = add_job(database_url, ["own"], params=PARAMS)
    canceled = add_job(database_url, ["canceled"], params=PARAMS)
    set_cancel(database_url, canceled)
    spent = add_job(database_url, ["spent"], params=PARAMS, attempt=3)
    assert run_job(own, runtime_for(database_url, tmp_path, model, max_attempts=3), "w1") == (
        "succeeded")
    assert model.batches == [["own"]]
    assert [load_job(database_url, j).status for j in (canceled, spent)] == ["queued", "queued"]


def test_cross_job_batching_off_runs_each_job_alone(database_url, tmp_path):
    model = Recorder()
    own = add_job(database_url, ["own"], params=PARAMS)
    add_job(database_url, ["other"], params=PARAMS)
    rt = runtime_for(database_url, tmp_path, model, cross_job_batching=False)
    assert run_job(own, rt, "w1") == "succeeded"
    assert model.batches == [["own"]]


def cancel_at_round(url: str, job_id: str, at: int) -> Callable[[int, Any], None]:
    def on_step(_batch: int, step: Any) -> None:
        if step.round == at:
            set_cancel(url, job_id)
    return on_step


def test_a_rider_canceled_between_rounds_stops_alone(database_url, tmp_path):
    own = add_job(database_url, ["own a", "own b"], params=PARAMS)
    rider = add_job(database_url, ["rider a", "rider b"], params=PARAMS)
    model = Recorder(cancel_at_round(database_url, rider, 0))
    assert run_job(own, runtime_for(database_url, tmp_path, model), "w1") == "succeeded"
    assert len(model.batches) == 1
    assert [i.status for i in load_items(database_url, own)] == ["succeeded"] * 2
    assert [i.rounds_run for i in load_items(database_url, own)] == [3, 3]
    assert load_job(database_url, rider).status == "canceled"
    assert [i.status for i in load_items(database_url, rider)] == ["canceled"] * 2


def test_canceling_the_run_job_lets_its_riders_finish(database_url, tmp_path):
    own = add_job(database_url, ["own"], params=PARAMS)
    rider = add_job(database_url, ["rider"], params=PARAMS)
    model = Recorder(cancel_at_round(database_url, own, 0))
    assert run_job(own, runtime_for(database_url, tmp_path, model), "w1") == "canceled"
    assert [i.status for i in load_items(database_url, own)] == ["canceled"]
    assert load_job(database_url, rider).status == "succeeded"
    assert load_items(database_url, rider)[0].rounds_run == 3


def test_a_crash_hands_riders_back_to_the_queue_and_their_own_delivery_runs_them(database_url,
                                                                                tmp_path):
    own = add_job(database_url, ["own"], params=PARAMS)
    rider = add_job(database_url, ["rider"], params=PARAMS)

    def crash(_batch: int, _step: Any) -> None:
        raise RuntimeError("simulated model crash")

    with pytest.raises(RuntimeError):
        run_job(own, runtime_for(database_url, tmp_path, Recorder(crash)), "w1")
    for job_id in (own, rider):
        job = load_job(database_url, job_id)
        assert (job.status, job.worker) == ("queued", "w1")
        assert [i.status for i in load_items(database_url, job_id)] == ["pending"]
    rt = runtime_for(database_url, tmp_path, Recorder(), cross_job_batching=False)
    assert run_job(rider, rt, "w2") == "succeeded"
    assert load_job(database_url, rider).attempt == 2


def test_the_wait_window_takes_a_job_that_arrives_meanwhile(database_url, tmp_path):
    model = Recorder()
    own = add_job(database_url, ["own"], params=PARAMS)
    rt = runtime_for(database_url, tmp_path, model, batch_size=2, batch_wait_ms=5000.0,
                     batch_wait_max_ms=5000.0)
    later = threading.Timer(0.2, lambda: add_job(database_url, ["late"], params=PARAMS))
    later.start()
    started = time.monotonic()
    assert run_job(own, rt, "w1") == "succeeded"
    later.join()
    assert model.batches == [["own", "late"]]
    assert time.monotonic() - started < 4.0  # a full batch stops waiting


def test_a_lone_job_waits_one_quiet_gap_and_a_stream_at_most_the_window(database_url, tmp_path):
    model = Recorder()
    lone = add_job(database_url, ["lone"], params=PARAMS)
    rt = runtime_for(database_url, tmp_path, model, batch_size=32, batch_wait_ms=300.0,
                     batch_wait_max_ms=1000.0)
    started = time.monotonic()
    run_job(lone, rt, "w1")
    assert 0.3 <= time.monotonic() - started < 0.9  # one quiet gap, not the whole window
    stop = threading.Event()

    def stream() -> None:  # a new job every 0.1 s: never a quiet gap
        while not stop.wait(0.1):
            add_job(database_url, ["stream"], params=PARAMS)

    own, feeder = add_job(database_url, ["own"], params=PARAMS), threading.Thread(target=stream)
    feeder.start()
    started = time.monotonic()
    try:
        run_job(own, rt, "w1")
    finally:
        stop.set()
        feeder.join()
    assert 1.0 <= time.monotonic() - started < 1.8  # the window's cap, then the batch runs
    assert len(model.batches[-1]) > 2


def test_a_later_batch_takes_queued_riders_without_waiting(database_url, tmp_path):
    model = Recorder()
    big = add_job(database_url, [f"big {i}" for i in range(5)], params=PARAMS)
    rider = add_job(database_url, ["rider"], params=PARAMS)
    rt = runtime_for(database_url, tmp_path, model, batch_size=4, batch_wait_ms=3000.0,
                     batch_wait_max_ms=3000.0)
    started = time.monotonic()
    assert run_job(big, rt, "w1") == "succeeded"
    assert time.monotonic() - started < 2.0  # the tail batch did not wait a quiet gap
    assert model.batches == [["big 0", "big 1", "big 2", "big 3"], ["big 4", "rider"]]
    assert load_job(database_url, rider).status == "succeeded"


def test_a_delivery_whose_run_carried_riders_goes_on_with_the_jobs_queued_behind_them(
        database_url, tmp_path):
    model = Recorder()
    own = add_job(database_url, ["own"], params=PARAMS)
    riders = [add_job(database_url, [f"rider {j}"], params=PARAMS) for j in range(3)]
    behind = [add_job(database_url, [f"behind {j}"], params=PARAMS) for j in range(2)]
    rt = runtime_for(database_url, tmp_path, model)
    assert run_delivery(own, rt, "w1") == "succeeded"
    assert model.batches == [["own", "rider 0", "rider 1", "rider 2"], ["behind 0", "behind 1"]]
    assert {load_job(database_url, j).status for j in riders + behind} == {"succeeded"}
    # The skipped messages, delivered later, find nothing left to do.
    assert run_delivery(behind[0], rt, "w2") == "terminal"
    assert len(model.batches) == 2


def test_a_worker_asked_to_stop_starts_no_follow_on_run(database_url, tmp_path):
    model = Recorder()
    own = add_job(database_url, ["own"], params=PARAMS)
    riders = [add_job(database_url, [f"rider {j}"], params=PARAMS) for j in range(3)]
    behind = add_job(database_url, ["behind"], params=PARAMS)
    rt = runtime_for(database_url, tmp_path, model)
    rt.draining = lambda: True  # a warm shutdown began during the delivery
    assert run_delivery(own, rt, "w1") == "succeeded"
    assert model.batches == [["own", "rider 0", "rider 1", "rider 2"]]
    assert {load_job(database_url, j).status for j in riders} == {"succeeded"}
    assert load_job(database_url, behind).status == "queued"  # left to its own delivery


@pytest.mark.parametrize(("should_stop", "should_terminate", "stopping"), [
    (None, None, False), (False, None, False), (0, None, True), (1, None, True),
    (None, 0, True)], ids=["running", "false", "warm-ex-ok", "warm-code", "cold"])
def test_worker_stopping_reads_celerys_shutdown_flags(monkeypatch, should_stop,
                                                      should_terminate, stopping):
    from celery.worker import state

    from worker.tasks import worker_stopping

    monkeypatch.setattr(state, "should_stop", should_stop)
    monkeypatch.setattr(state, "should_terminate", should_terminate)
    assert worker_stopping() is stopping


def test_follow_on_runs_are_bounded(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr("worker.engine.MAX_FOLLOW_ONS", 1)
    model = Recorder()
    jobs = [add_job(database_url, [f"job {j}"], params=PARAMS) for j in range(12)]
    assert run_delivery(jobs[0], runtime_for(database_url, tmp_path, model), "w1") == (
        "succeeded")
    assert len(model.batches) == 2
    assert [load_job(database_url, j).status for j in jobs] == ["succeeded"] * 8 + ["queued"] * 4


def test_a_delivery_whose_run_carried_no_riders_ends_with_it(database_url, tmp_path):
    model = Recorder()
    own = add_job(database_url, ["own"], params=PARAMS)
    other = add_job(database_url, ["more rounds"], params={"rounds": 3, "early_exit": False})
    assert run_delivery(own, runtime_for(database_url, tmp_path, model), "w1") == "succeeded"
    assert model.batches == [["own"]]
    assert load_job(database_url, other).status == "queued"


def test_two_workers_filling_from_one_queue_never_run_an_item_twice(database_url, tmp_path):
    jobs = [add_job(database_url, [f"job {j} item {i}" for i in range(1 + j % 3)], params=PARAMS)
            for j in range(24)]
    models = [Recorder(), Recorder()]
    errors: list[BaseException] = []

    def work(w: int) -> None:
        rt = runtime_for(database_url, tmp_path, models[w], batch_size=5)
        try:
            for job_id in jobs[w::2]:
                run_job(job_id, rt, f"w{w}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ran = [p for m in models for batch in m.batches for p in batch]
    assert len(ran) == len(set(ran)) == sum(1 + j % 3 for j in range(24))
    assert {load_job(database_url, j).status for j in jobs} == {"succeeded"}
    assert {i.attempt for j in jobs for i in load_items(database_url, j)} == {1}


def test_heartbeat_of_many_jobs_answers_per_job(database_url):
    ok, canceled, other = (add_job(database_url, ["x"]) for _ in range(3))
    now = utcnow()
    with session_scope(database_url) as session:
        attempts = {j: claim_job(session, j, "w1", max_attempts=3, lease_seconds=30,
                                 now=now).attempt for j in (ok, canceled)}
        claim_job(session, other, "w2", max_attempts=3, lease_seconds=30, now=now)
    set_cancel(database_url, canceled)
    with session_scope(database_url) as session:
        states = heartbeat_jobs(session, {**attempts, other: 1}, "w1", lease_seconds=30,
                                now=utcnow(), current_round=2)
    assert states == {ok: OK, canceled: CANCEL, other: LOST}
    assert load_job(database_url, ok).current_round == 2
