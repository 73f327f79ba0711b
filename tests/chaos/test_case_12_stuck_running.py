"""Case 12: a job row left `running` with no message anywhere (worker killed, then Redis flushed).

Nothing can be redelivered: the message was held by the dead worker and FLUSHALL took the
`unacked` hash too. The run's lease (2 s here) is what tells: while a worker lives, every round
pushes the job's `updated_at` forward, which pollers see over the API; once it stops, the sweeper
finds the lease expired and puts the job back to queued (the next claim is attempt 2), or, when
the job has already used max_attempts, fails it as `worker_crashed`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import httpx
import pytest

from tests import invariants
from tests.chaos.harness import Cluster, kill_group
from tests.worker_support import add_job, load_items, wait_for

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

ITEMS = 100


def poll(base: str, job_id: str, key: str) -> dict:
    reply = httpx.get(f"{base}/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"},
                      timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_running_job_with_no_message_is_requeued_when_its_lease_expires(cluster: Cluster) -> None:
    cluster.configure(STUB_ITEM_SECONDS="0.03")
    key = cluster.key("acme")
    api = cluster.api()
    worker = cluster.worker("w1")
    body = {"prompts": [f"brief {i}: a blue square" for i in range(ITEMS)], "rounds": 1}
    reply = httpx.post(f"{api}/v1/jobs", json=body, headers={"Authorization": f"Bearer {key}"},
                       timeout=10)
    job_id = reply.json()["id"]
    wait_for(lambda: poll(api, job_id, key)["progress"]["done"] >= 10, 30, "10 items done")
    first = poll(api, job_id, key)["updated_at"]
    wait_for(lambda: poll(api, job_id, key)["updated_at"] > first, 10, "a heartbeat")
    kill_group(worker)
    client = cluster.redis.client()
    client.flushall()
    client.close()
    stuck = poll(api, job_id, key)
    time.sleep(1)
    assert poll(api, job_id, key)["updated_at"] == stuck["updated_at"]  # no more heartbeats

    cluster.sweeper()
    cluster.worker("w2")
    job = cluster.wait_status(job_id, "succeeded", 60)
    assert job.attempt == 2 and "claim claimed, attempt 2" in cluster.log("w2")
    assert "run lease expired on attempt 1" in cluster.log("sweeper")
    invariants.assert_holds(cluster.database_url, cluster.storage, [job_id])
    log.info("case 12: stuck with %d/%d items done, last heartbeat %s; re-queued by the sweeper "
             "and finished on attempt %d", stuck["progress"]["done"], ITEMS, stuck["updated_at"],
             job.attempt)


def test_a_stuck_job_that_used_every_attempt_fails_as_worker_crashed(cluster: Cluster) -> None:
    job_id = add_job(cluster.database_url, ["a red star", "a blue square"], status="running",
                     attempt=3, age_seconds=30)
    cluster.sweeper()
    job = cluster.wait_status(job_id, "failed", 30)
    assert (job.error_code, job.attempt) == ("worker_crashed", 3)
    assert job.finished_at is not None
    assert {(i.status, i.error_code) for i in load_items(cluster.database_url, job_id)} == {
        ("failed", "worker_crashed")}
    assert "failed worker_crashed after 3 attempts" in cluster.log("sweeper")
    log.info("case 12: a stuck job on its last attempt failed as %s at %s", job.error_code,
             job.finished_at.astimezone(dt.timezone.utc).isoformat())
