"""The sweeper (worker/sweeper.py) on SQLite and PostgreSQL, sending to real Redis.

A queued job whose message is lost is sent again (the message is checked in Redis); a running job
whose worker died goes back to queued and is sent again, then resumes -- at once when its owner's
liveness key is gone, after the lease otherwise; after max_attempts it fails as worker_crashed; a
live run is left alone, however long its batch. PNG temp files left by a writer killed mid-write are
removed once they are old enough.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time

import numpy as np
import pytest
import redis

from store import session_scope
from store.items import claim_batch
from store.models import utcnow
from store.runs import claim_job
from tests.worker_support import (
    add_job, load_items, load_job, make_runtime, make_settings, worker_redis_url,  # noqa: F401
)
from worker.celery_app import GENERATE_TASK, enqueue_job, make_app
from worker.engine import run_job
from worker import storage
from worker.liveness import Liveness, key_for_owner, process_identity
from worker.sweeper import sweep_once, sweep_storage


def queued_messages(url: str) -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in the generate queue, any priority."""
    client = redis.Redis.from_url(url)
    found = []
    for key in client.scan_iter("generate*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            args = json.loads(base64.b64decode(message["body"]))[0]
            found.append((message["headers"]["task"], args))
    client.close()
    return found


def hold_unacked(url: str) -> None:
    """Move every waiting generate message into kombu's `unacked` hash, as a consumer does."""
    client = redis.Redis.from_url(url)
    for key in [k for k in client.scan_iter("generate*") if client.type(k) == b"list"]:
        while (raw := client.rpop(key)) is not None:
            client.hset("unacked", f"tag-{key.decode()}",
                        json.dumps([json.loads(raw), "generate", "generate"]))
    client.close()


def sweep(url: str, settings, now: dt.datetime) -> dict[str, int]:  # noqa: ANN001
    with session_scope(url) as session:
        return sweep_once(session, make_app(settings), settings, now)


def start_run(url: str, job_id: str, worker: str, lease: float) -> None:
    """A worker claims the job and leases a batch, then 'dies' (nothing more happens)."""
    with session_scope(url) as session:
        claim_job(session, job_id, worker, max_attempts=3, lease_seconds=lease, now=utcnow())
        claim_batch(session, job_id, worker, size=2, lease_seconds=lease, now=utcnow())


def test_sweeper_resends_a_queued_job_whose_message_was_lost(database_url, worker_redis_url,
                                                             tmp_path):
    settings = make_settings(database_url, tmp_path, stale_queued_seconds=60)
    job_id = add_job(database_url, ["a red star"], priority=7)
    fresh = add_job(database_url, ["a blue square"])
    later = utcnow() + dt.timedelta(seconds=61)
    assert sweep(database_url, settings, utcnow())["requeued_queued"] == 0
    counts = sweep(database_url, settings, later)
    assert counts["requeued_queued"] == 2
    assert sorted(queued_messages(worker_redis_url)) == sorted(
        [(GENERATE_TASK, [job_id]), (GENERATE_TASK, [fresh])])
    assert load_job(database_url, job_id).dispatched_at is not None
    assert sweep(database_url, settings, later)["requeued_queued"] == 0  # not sent twice


def test_sweeper_does_not_resend_a_queued_job_whose_message_still_waits(database_url,
                                                                        worker_redis_url, tmp_path):
    settings = make_settings(database_url, tmp_path, stale_queued_seconds=60)
    job_id = add_job(database_url, ["a red star"])
    enqueue_job(make_app(settings), job_id, "generate", 5)
    later = utcnow() + dt.timedelta(seconds=61)
    assert sweep(database_url, settings, later)["still_in_broker"] == 1
    assert queued_messages(worker_redis_url) == [(GENERATE_TASK, [job_id])]
    hold_unacked(worker_redis_url)  # a worker took it and has not acknowledged it yet
    later += dt.timedelta(seconds=61)
    assert sweep(database_url, settings, later)["still_in_broker"] == 1
    redis.Redis.from_url(worker_redis_url).flushdb()  # the broker loses its data
    much_later = later + dt.timedelta(seconds=61)
    assert sweep(database_url, settings, much_later)["requeued_queued"] == 1
    assert queued_messages(worker_redis_url) == [(GENERATE_TASK, [job_id])]


def test_sweeper_recovers_a_run_whose_lease_expired_and_the_job_resumes(database_url,
                                                                        worker_redis_url, tmp_path):
    settings = make_settings(database_url, tmp_path, lease_seconds=10, handover_on_dead_worker=False)
    job_id = add_job(database_url, ["a", "b", "c"])
    start_run(database_url, job_id, "dead-worker", lease=10)
    assert sweep(database_url, settings, utcnow() + dt.timedelta(seconds=5))["requeued_running"] == 0
    counts = sweep(database_url, settings, utcnow() + dt.timedelta(seconds=11))
    assert counts == {"requeued_queued": 0, "still_in_broker": 0, "requeued_dead_owner": 0,
                      "requeued_running": 1, "failed_crashed": 0, "skipped": 0}
    job = load_job(database_url, job_id)
    assert (job.status, job.attempt) == ("queued", 1)
    assert [i.status for i in load_items(database_url, job_id)] == ["pending"] * 3
    assert queued_messages(worker_redis_url) == [(GENERATE_TASK, [job_id])]
    rt = make_runtime(database_url, tmp_path, lease_seconds=10)
    assert run_job(job_id, rt, "new-worker") == "succeeded"
    assert load_job(database_url, job_id).attempt == 2


def test_sweeper_fails_a_job_that_used_all_its_attempts(database_url, worker_redis_url, tmp_path):
    settings = make_settings(database_url, tmp_path, lease_seconds=10, max_attempts=1,
                             handover_on_dead_worker=False)
    job_id = add_job(database_url, ["a", "b"])
    start_run(database_url, job_id, "dead-worker", lease=10)
    counts = sweep(database_url, settings, utcnow() + dt.timedelta(seconds=11))
    assert counts["failed_crashed"] == 1
    job = load_job(database_url, job_id)
    assert (job.status, job.error_code) == ("failed", "worker_crashed")
    assert {i.error_code for i in load_items(database_url, job_id)} == {"worker_crashed"}
    assert queued_messages(worker_redis_url) == []


def test_sweeper_leaves_a_live_run_alone(database_url, worker_redis_url, tmp_path):
    settings = make_settings(database_url, tmp_path, lease_seconds=10, stale_queued_seconds=1)
    job_id = add_job(database_url, ["a", "b"])
    start_run(database_url, job_id, "live-worker", lease=10)
    counts = sweep(database_url, settings, utcnow() + dt.timedelta(seconds=5))
    assert sum(counts.values()) == 0
    assert load_job(database_url, job_id).status == "running"


def test_sweeper_hands_over_a_dead_owners_run_without_waiting_for_its_lease(
        database_url, worker_redis_url, tmp_path):
    settings = make_settings(database_url, tmp_path, lease_seconds=300,
                             worker_liveness_interval_seconds=1)
    job_id = add_job(database_url, ["a", "b", "c"])
    start_run(database_url, job_id, "gen@gone/4242/token", lease=300)  # no liveness key
    assert sum(sweep(database_url, settings, utcnow() + dt.timedelta(seconds=1)).values()) == 0
    counts = sweep(database_url, settings, utcnow() + dt.timedelta(seconds=4))  # quiet > 3 s
    assert counts["requeued_dead_owner"] == 1 and counts["requeued_running"] == 0
    job = load_job(database_url, job_id)
    assert (job.status, job.attempt) == ("queued", 1)
    assert [i.status for i in load_items(database_url, job_id)] == ["pending"] * 3
    assert queued_messages(worker_redis_url) == [(GENERATE_TASK, [job_id])]
    rt = make_runtime(database_url, tmp_path, lease_seconds=300)
    assert run_job(job_id, rt, "new-worker") == "succeeded"


def test_sweeper_leaves_a_run_whose_owner_keeps_its_liveness_key(
        database_url, worker_redis_url, tmp_path):
    settings = make_settings(database_url, tmp_path, lease_seconds=300,
                             worker_liveness_interval_seconds=1)
    job_id = add_job(database_url, ["a", "b"])
    alive = Liveness(worker_redis_url, "gen@here", interval=1)
    alive.start()
    try:
        owner = f"{process_identity('gen@here')}/token"
        start_run(database_url, job_id, owner, lease=300)
        ttl = redis.Redis.from_url(worker_redis_url).pttl(key_for_owner(owner))
        assert 0 < ttl <= 3000  # three refresh intervals
        later = utcnow() + dt.timedelta(seconds=30)  # a slow batch: no run heartbeat for 30 s
        assert sum(sweep(database_url, settings, later).values()) == 0
        assert load_job(database_url, job_id).status == "running"
    finally:
        alive.stop()  # a clean shutdown deletes the key
    assert not redis.Redis.from_url(worker_redis_url).exists(key_for_owner(owner))
    later = utcnow() + dt.timedelta(seconds=30)
    assert sweep(database_url, settings, later)["requeued_dead_owner"] == 1


def test_sweeper_removes_png_temp_files_left_by_a_killed_writer_once_they_are_old(
    tmp_path, monkeypatch,
):
    settings = make_settings("sqlite://", tmp_path / "storage", storage_temp_max_age_seconds=600)
    root = settings.effective_storage_dir
    stored, _ = storage.save_png(root, np.zeros((8, 8, 3), np.uint8))

    def killed(_src, _dst):  # the worker dies between the write and the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    for value in (1, 2):
        with pytest.raises(KeyboardInterrupt):
            storage.save_png(root, np.full((8, 8, 3), value, np.uint8))
    monkeypatch.undo()
    old, recent = sorted(root.glob(storage.TEMP_GLOB))
    now = time.time()
    os.utime(old, (now - 601, now - 601))
    os.utime(recent, (now - 10, now - 10))
    assert sweep_storage(settings, now) == 1
    assert sorted(root.glob(storage.TEMP_GLOB)) == [recent]  # may still be a live writer's
    assert sweep_storage(settings, now + 600) == 1
    assert list(root.glob(storage.TEMP_GLOB)) == []
    assert [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()] == [stored]


def test_sweeper_removes_a_dataset_upload_folder_left_by_a_killed_api_process(
    tmp_path, monkeypatch,
):
    from api import dataset_upload

    settings = make_settings("sqlite://", tmp_path / "storage", storage_temp_max_age_seconds=600)
    root = settings.effective_storage_dir

    def killed(_src, _dst):  # the API process dies between the writes and the rename,
        raise KeyboardInterrupt

    monkeypatch.setattr(dataset_upload.os, "replace", killed)
    # ... and its clean-up never runs
    monkeypatch.setattr(dataset_upload.shutil, "rmtree", lambda *_a, **_k: None)
    with pytest.raises(KeyboardInterrupt):
        dataset_upload.write_images(root, "datasets/abc", [])
    monkeypatch.undo()
    (left,) = root.glob(storage.DATASET_TEMP_GLOB)
    now = time.time()
    assert sweep_storage(settings, now) == 0  # young: may still be a live upload's
    os.utime(left, (now - 601, now - 601))
    assert sweep_storage(settings, now) == 1
    assert list(root.glob("datasets/*")) == list(root.glob("datasets/.*")) == []


def test_sweeper_waits_out_a_dropped_database_connection(sqlite_url, tmp_path, monkeypatch):
    """A connection dropped under a pass (DisconnectionError, transient like the others in
    store.transient) skips that pass; the sweeper goes on with the next."""
    import threading

    import sqlalchemy.exc

    from worker import sweeper

    settings = make_settings(sqlite_url, tmp_path, sweep_interval_seconds=0.01)
    stop, passes = threading.Event(), []

    def flaky_pass(session, app, settings, now):  # noqa: ANN001, ANN202
        passes.append(now)
        if len(passes) == 1:
            raise sqlalchemy.exc.DisconnectionError("server closed the connection unexpectedly")
        stop.set()
        return {}

    monkeypatch.setattr(sweeper, "sweep_once", flaky_pass)
    sweeper.run_forever(settings, stop)
    assert len(passes) == 2
