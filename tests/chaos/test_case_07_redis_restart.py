"""Case 7: Redis restarts, or loses everything, while jobs wait in the queue.

- With AOF on (`--appendonly yes --appendfsync everysec`), a restart keeps the 20 queued
  messages: a worker started afterwards runs every job from its own message, no sweeper needed.
- After `FLUSHALL` (data loss), no message is left; the store still says the 20 jobs are queued,
  so the sweeper sends each again (the row is the outbox) and every job succeeds once.
"""

from __future__ import annotations

import logging
import re

import pytest

from tests import invariants
from tests.chaos.harness import Cluster
from tests.worker_support import wait_for

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

JOBS = 20
SWEEP_RE = re.compile(r"'requeued_queued': (\d+)")


def submit_all(cluster: Cluster) -> list[str]:
    jobs = [cluster.submit(5, prompt=f"job {n}") for n in range(JOBS)]
    assert cluster.queued() == JOBS
    return jobs


def assert_all_succeeded_once(cluster: Cluster, jobs: list[str]) -> None:
    cluster.wait_terminal(jobs, 60)
    assert {(cluster.job(j).status, cluster.job(j).attempt) for j in jobs} == {("succeeded", 1)}
    invariants.assert_holds(cluster.database_url, cluster.storage, jobs)


def test_queued_messages_survive_a_redis_restart_with_aof(cluster: Cluster) -> None:
    jobs = submit_all(cluster)
    cluster.redis.restart()  # SIGTERM: Redis writes its append-only file and exits
    assert cluster.queued() == JOBS
    cluster.worker("w1")
    assert_all_succeeded_once(cluster, jobs)
    log.info("case 7 AOF: %d queued messages survived the restart; all jobs succeeded", JOBS)


def test_after_flushall_the_sweeper_rebuilds_the_queue_from_the_database(cluster: Cluster) -> None:
    jobs = submit_all(cluster)
    client = cluster.redis.client()
    client.flushall()
    client.close()
    assert cluster.queued() == 0
    cluster.configure(STALE_QUEUED_SECONDS="1")
    cluster.sweeper()
    wait_for(lambda: resent(cluster) >= JOBS, 30, "the sweeper to send every job again")
    cluster.worker("w1")
    assert_all_succeeded_once(cluster, jobs)
    assert resent(cluster) == JOBS
    log.info("case 7 FLUSHALL: the sweeper sent all %d jobs again; all succeeded once", JOBS)


def resent(cluster: Cluster) -> int:
    return sum(int(n) for n in SWEEP_RE.findall(cluster.log("sweeper")))
