"""Case 6: the API process dies after committing a job and before sending its message.

With FAULT_AFTER_COMMIT=1 (config/faults.py) the API exits between the commit and the send: the
client's connection drops, the job row is queued with no message anywhere. The sweeper finds the
stale queued row (no message in the broker) and sends it; a worker runs it once. The client,
retrying with its Idempotency-Key against the restarted API, gets the same job back: one job,
one attempt, one result per item.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import func, select

from store import session_scope
from store.models import Job
from tests import invariants
from tests.chaos.harness import Cluster

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

BODY = {"prompts": [f"brief {i}: three yellow circles" for i in range(20)], "rounds": 1}


def jobs_of(url: str) -> list[Job]:
    with session_scope(url) as session:
        return list(session.scalars(select(Job)))


def test_a_crash_between_commit_and_send_is_repaired_by_the_sweeper_and_runs_once(
        cluster: Cluster) -> None:
    headers = {"Authorization": f"Bearer {cluster.key('acme')}", "Idempotency-Key": "brief-42"}
    crashing = cluster.api("api-crash", FAULT_AFTER_COMMIT="1")
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{crashing}/v1/jobs", json=BODY, headers=headers, timeout=30)
    [row] = jobs_of(cluster.database_url)
    assert (row.status, row.dispatched_at) == ("queued", None)
    assert "FAULT_AFTER_COMMIT: exiting after the commit" in cluster.log("api-crash")
    assert not cluster.queued(), "a message was sent after all"

    cluster.configure(STALE_QUEUED_SECONDS="1")
    cluster.sweeper()
    cluster.worker("w1")
    job = cluster.wait_status(row.id, "succeeded", 30)
    api = cluster.api("api")
    replay = httpx.post(f"{api}/v1/jobs", json=BODY, headers=headers, timeout=30)

    assert replay.status_code == 202 and replay.json()["id"] == row.id
    assert replay.headers.get("Idempotent-Replayed") == "true"
    with session_scope(cluster.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
    assert (job.attempt, job.done_items) == (1, 20)
    assert "'requeued_queued': 1" in cluster.log("sweeper")
    invariants.assert_holds(cluster.database_url, cluster.storage, [row.id])
    log.info("case 6: API died after the commit; sweeper sent job %s, it ran once (attempt %d); "
             "the client's retry got the same job back", row.id, job.attempt)
