"""Recording a batch behind the next one (worker/engine.RecordBehind): the next batch runs while
the last one's PNGs and rows are written, a batch's PNGs are stored while the batch before
commits, a batch that cannot be recorded hands the run back with its items, and recording never
deadlocks on the next batch's heartbeat."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import sqlalchemy.exc

from objects import Storage
from store import session_scope
from tests.test_worker_engine import PROMPTS, Recorder, runtime_for, tiny_model  # noqa: F401
from tests.worker_support import add_job, load_items, load_job
from worker.engine import run_job


def test_the_next_batch_runs_while_the_last_one_is_recorded(database_url, tmp_path, tiny_model,
                                                            monkeypatch):
    import worker.engine as engine

    second_batch_running, overlapped = threading.Event(), []
    store_results = engine.store_results

    def store_once_the_second_batch_runs(storage: Storage, rounds: list) -> list:
        if not overlapped:  # the first batch's PNGs: sequential recording would wait in vain
            overlapped.append(second_batch_running.wait(10))
        return store_results(storage, rounds)

    monkeypatch.setattr(engine, "store_results", store_once_the_second_batch_runs)
    recorder = Recorder(tiny_model, lambda batch, _step: batch == 2 and second_batch_running.set())
    job_id = add_job(database_url, PROMPTS)
    assert run_job(job_id, runtime_for(database_url, tmp_path, recorder, batch_size=4), "w1") == (
        "succeeded")
    assert overlapped == [True]
    assert [i.status for i in load_items(database_url, job_id)] == ["succeeded"] * 10


def test_a_batch_is_stored_while_the_one_before_commits_its_rows(database_url, tmp_path,
                                                                 monkeypatch):
    import worker.engine as engine
    from worker.stub_model import StubModel

    second_stored, overlapped, stores = threading.Event(), [], []
    store_step, record_step = engine.store_step, engine.record_step

    def store(rt, outcome):  # noqa: ANN001, ANN202
        stored = store_step(rt, outcome)
        stores.append(len(stored))
        if len(stores) == 2:
            second_stored.set()
        return stored

    def commit_once_the_next_batch_is_stored(*args):  # noqa: ANN002, ANN202
        if not overlapped:  # the first batch's rows: one stage for both would wait in vain
            overlapped.append(second_stored.wait(10))
        return record_step(*args)

    monkeypatch.setattr(engine, "store_step", store)
    monkeypatch.setattr(engine, "record_step", commit_once_the_next_batch_is_stored)
    job_id = add_job(database_url, PROMPTS)
    rt = runtime_for(database_url, tmp_path, StubModel(item_seconds=0.0), batch_size=4)
    assert run_job(job_id, rt, "w1") == "succeeded"
    assert overlapped == [True] and stores == [4, 4, 2]
    assert [i.status for i in load_items(database_url, job_id)] == ["succeeded"] * 10


def test_a_batch_that_cannot_be_recorded_hands_the_run_back_with_its_items(
        database_url, tmp_path, tiny_model, monkeypatch):
    import worker.engine as engine

    def disk_full(_storage: Storage, _images: list) -> list:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine, "store_results", disk_full)
    job_id = add_job(database_url, PROMPTS)
    with pytest.raises(OSError, match="No space"):
        run_job(job_id, runtime_for(database_url, tmp_path, Recorder(tiny_model), batch_size=4),
                "w1")
    job = load_job(database_url, job_id)
    assert (job.status, job.attempt) == ("queued", 1) and "OSError" in job.error
    assert {i.status for i in load_items(database_url, job_id)} == {"pending"}


def test_recording_a_batch_waits_for_the_next_batchs_heartbeat_instead_of_deadlocking(
        postgres_url, tmp_path, tiny_model):
    """RecordBehind commits batch N while batch N+1's heartbeat runs. The heartbeat locks the job
    row, then its running items; the record step writes items, then the row. Unless the record
    step locks the row first (store.runs.lock_job), PostgreSQL finds a deadlock and aborts one."""
    from sqlalchemy import text

    from store.crossjob import heartbeat_jobs
    from store.db import session_factory
    from store.items import claim_batch, renew_leases
    from store.models import utcnow
    from store.runs import claim_job
    from worker.engine import Run, record_step
    from worker.rounds import BatchOutcome, _Track

    job_id = add_job(postgres_url, PROMPTS[:4])
    rt = runtime_for(postgres_url, tmp_path, tiny_model)
    with session_scope(postgres_url) as session:
        attempt = claim_job(session, job_id, "w1", max_attempts=3, lease_seconds=300,
                            now=utcnow()).attempt
        batch = claim_batch(session, job_id, "w1", size=4, lease_seconds=300, now=utcnow())
    run = Run(job_id, attempt, "w1", tiny_model, rounds=0, early_exit=True, batch_size=4)
    image = np.zeros((64, 64, 3), np.uint8)
    outcome = BatchOutcome(results={item.id: _Track([image], ["x"], [1.0]) for item in batch})

    beat = session_factory(postgres_url)()  # the next batch's heartbeat, between its statements
    heartbeat_jobs(beat, {job_id: attempt}, "w1", lease_seconds=300, now=utcnow(),
                   renew_items=False)
    errors: list[BaseException] = []

    def record() -> None:
        try:
            record_step(rt, run, batch, outcome)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    recorder = threading.Thread(target=record)
    recorder.start()
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock'")
    for _ in range(200):  # until the record step waits on a lock (a new snapshot each look)
        with session_scope(postgres_url) as watch:
            if watch.scalar(waiting):
                break
        time.sleep(0.025)
    renew_leases(beat, job_id, "w1", lease_seconds=300, now=utcnow())
    beat.commit()
    beat.close()
    recorder.join(30)
    assert errors == []
    assert [i.status for i in load_items(postgres_url, job_id)] == ["succeeded"] * 4
