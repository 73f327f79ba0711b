"""Case 3: a task that runs longer than the Redis visibility timeout.

The config guard refuses a task time limit at or above the visibility timeout, both in the
settings and at worker start-up. Forced anyway (a job that overruns its declared limit), Redis
hands the still-running job's message to the second worker after the timeout; that delivery
finds the run alive (compare-and-set claim: busy) and does nothing, and the job ends once, on
attempt 1, with one result per item.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from pydantic import ValidationError

from config import Settings
from tests import invariants
from tests.chaos.harness import Cluster
from tests.worker_support import ROOT

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

GUARD = "task_time_limit_seconds must be below visibility_timeout_seconds"


@pytest.mark.parametrize("limit", [10, 11])
def test_config_guard_refuses_a_task_time_limit_not_below_the_visibility_timeout(limit: int) -> None:
    with pytest.raises(ValidationError, match=GUARD):
        Settings(visibility_timeout_seconds=10, task_time_limit_seconds=limit)
    assert Settings(visibility_timeout_seconds=10, task_time_limit_seconds=9)


def test_abandoned_messages_are_looked_for_within_a_fifth_of_the_visibility_timeout() -> None:
    from worker.celery_app import celery_config

    for timeout, interval in ((5, 1), (15, 3), (4 * 3600, 10)):
        options = celery_config(Settings(redis_url="redis://127.0.0.1:1/0",
                                         visibility_timeout_seconds=timeout,
                                         task_time_limit_seconds=timeout - 1)
                                )["broker_transport_options"]
        assert (options["unacked_restore_interval"], options["unacked_restore_throttle"]) == (
            interval, 1)


def test_a_worker_refuses_to_start_with_a_time_limit_above_the_visibility_timeout(
        cluster: Cluster) -> None:
    env = {**cluster.env, "VISIBILITY_TIMEOUT_SECONDS": "10", "TASK_TIME_LIMIT_SECONDS": "20"}
    done = subprocess.run([sys.executable, "-m", "celery", "-A", "worker.tasks", "worker",
                           "--pool=solo", "-n", "guard@%h"], cwd=ROOT, env=env,
                          capture_output=True, timeout=60, start_new_session=True)
    assert done.returncode != 0
    assert GUARD in done.stdout.decode() + done.stderr.decode()


def test_a_task_longer_than_the_visibility_timeout_is_delivered_twice_and_runs_once(
        cluster: Cluster) -> None:
    # Forced: the declared limit (4 s) passes the guard, the job takes about 12 s.
    cluster.configure(VISIBILITY_TIMEOUT_SECONDS="5", TASK_TIME_LIMIT_SECONDS="4",
                      STUB_ITEM_SECONDS="0.05")
    cluster.worker("w1")
    cluster.worker("w2")
    job_id = cluster.add(120)
    task_id = cluster.send(job_id)
    job = cluster.wait_status(job_id, "succeeded", 60)

    logs = cluster.log("w1") + cluster.log("w2")
    assert logs.count(f"[{task_id}] received") >= 2, "the message was not redelivered"
    assert "claim busy" in logs
    assert (job.attempt, job.done_items) == (1, 120)
    report = invariants.assert_holds(cluster.database_url, cluster.storage, [job_id])
    log.info("case 3: deliveries %d, busy no-ops %d, attempt %d, items %s",
             logs.count(f"[{task_id}] received"), logs.count("claim busy"), job.attempt,
             report.items)
