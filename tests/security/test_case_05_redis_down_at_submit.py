"""Case 5: Redis down at submit time. The API answers 202 with the job `queued` (the row is the
outbox); when Redis is back the sweeper sends the message and a real worker completes the job.

Everything runs on a private redis-server (free loopback port, password, AOF) that the test
stops, never on the machine's shared Redis: a real `celery worker` (stub model) and the sweeper
are running the whole time, and the API is the in-process app on the same settings.

- `SHUTDOWN NOSAVE`: the port is closed, the submission fails fast and the job stays undispatched.
- `SIGSTOP`: the port still accepts connections but Redis never answers; the API's sends and the
  rate limiter's counter have timeouts, so the answer still comes within seconds. What the API
  wrote before giving up may still reach Redis after SIGCONT, so the job can get two messages;
  the worker's compare-and-set claim absorbs the duplicate (one run, one result per item).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from api.main import create_app
from store import session_scope
from store.models import Item, Job
from tests.api_fixtures import api_settings, make_tenants
from tests.security.servers import RedisServer, wait_until
from tests.worker_support import Processes, processes_for

pytestmark = pytest.mark.chaos

ITEMS = 6
TERMINAL = {"succeeded", "failed", "canceled", "partial"}
DUPLICATES = text('SELECT job_id, "index", count(*) FROM items GROUP BY 1, 2 HAVING count(*) > 1')


@pytest.fixture
def stack(database_url: str, own_redis: RedisServer, tmp_path: Path) -> Iterator[Processes]:
    """A worker and the sweeper on the private Redis, re-sending stale queued jobs after 1 s."""
    procs = processes_for(database_url, own_redis.url, tmp_path, STALE_QUEUED_SECONDS="1",
                          SWEEP_INTERVAL_SECONDS="0.5")
    try:
        procs.sweeper()
        procs.worker("w1")
        yield procs
    finally:
        procs.stop_all()


def submit_while_down(database_url: str, redis_url: str, tmp_path: Path,
                      take_down, bring_back) -> tuple[dict, float]:  # noqa: ANN001
    """POST a job with Redis down; (response body, seconds it took). Redis is back on return."""
    settings = api_settings(database_url, redis_url, tmp_path)
    keys, _ = make_tenants(database_url)
    headers = {"Authorization": f"Bearer {keys['a']}"}
    with TestClient(create_app(settings)) as client:
        take_down()
        started = time.monotonic()
        response = client.post("/v1/jobs", json={"prompts": [f"p{i}" for i in range(ITEMS)]},
                               headers=headers)
        elapsed = time.monotonic() - started
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        assert client.get(f"/v1/jobs/{job_id}", headers=headers).json()["status"] == "queued"
    with session_scope(database_url) as session:
        job = session.get(Job, job_id)
        assert (job.status, job.dispatched_at, job.total_items) == ("queued", None, ITEMS)
    bring_back()
    return response.json(), elapsed


def assert_completed_once(database_url: str, job_id: str) -> Job:
    """Wait until the job is terminal; it succeeded, every item once, no duplicate rows."""
    def finished() -> Job | None:
        with session_scope(database_url) as session:
            job = session.get(Job, job_id)
            return job if job.status in TERMINAL else None

    job = wait_until(finished, 90, f"job {job_id} to finish", interval=0.2)
    with session_scope(database_url) as session:
        items = session.execute(select(Item.status, Item.image_sha256, Item.attempt)
                                .where(Item.job_id == job_id)).all()
        assert session.execute(DUPLICATES).all() == []
    assert job.status == "succeeded" and job.done_items == ITEMS
    assert [(status, sha is not None, attempt) for status, sha, attempt in items] == [
        ("succeeded", True, 1)] * ITEMS
    return job


def test_redis_shut_down_at_submit_gives_202_queued_then_the_sweeper_sends_it_and_it_completes(
    database_url: str, own_redis: RedisServer, stack: Processes, tmp_path: Path,
) -> None:
    body, elapsed = submit_while_down(database_url, own_redis.url, tmp_path,
                                      own_redis.shutdown_nosave, own_redis.start)
    assert body["status"] == "queued" and elapsed < 10
    job = assert_completed_once(database_url, body["id"])
    assert job.attempt == 1
    resent = b"re-dispatched (queued job not started, no message in the broker)"
    assert resent in stack.log("sweeper")


def test_redis_paused_at_submit_answers_within_seconds_and_the_job_runs_once(
    sqlite_url: str, own_redis: RedisServer, tmp_path: Path,
) -> None:
    procs = processes_for(sqlite_url, own_redis.url, tmp_path, STALE_QUEUED_SECONDS="1",
                          SWEEP_INTERVAL_SECONDS="0.5")
    try:
        procs.sweeper()
        procs.worker("w1")
        body, elapsed = submit_while_down(sqlite_url, own_redis.url, tmp_path,
                                          own_redis.pause, own_redis.resume)
        assert body["status"] == "queued" and elapsed < 15
        job = assert_completed_once(sqlite_url, body["id"])
        assert job.attempt == 1  # a second message, if any, found the job claimed or finished
    finally:
        own_redis.resume()
        procs.stop_all()
