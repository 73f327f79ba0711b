"""Case 4: SIGTERM (warm shutdown) and SIGQUIT (cold shutdown) sent to a worker during a task.

Mirrors Celery's smoke tests (t/smoke/tests/test_worker.py) on the production pool (solo), with
no sweeper running, so the message itself must carry the job through:

- warm: the worker stops taking messages, lets the running job finish and acknowledges it, then
  exits; the job succeeds on attempt 1;
- cold: after the soft shutdown timeout (3 s here) Celery cancels the task; the run is handed
  back without using up an attempt and the message is rejected back to the queue (requeue), so
  the next worker takes the same message and resumes the job, still on attempt 1.
"""

from __future__ import annotations

import logging
import signal
import time

import pytest

from tests import invariants
from tests.chaos.harness import Cluster, elapsed, wait_running

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

ITEMS = 100


def test_sigterm_during_a_task_lets_it_finish_before_the_worker_exits(cluster: Cluster) -> None:
    cluster.configure(STUB_ITEM_SECONDS="0.02")  # about 4 s of work
    worker = cluster.worker("w1")
    job_id = cluster.submit(ITEMS)
    wait_running(cluster, job_id, done_at_least=10)
    worker.send_signal(signal.SIGTERM)
    signalled, done_at_signal = time.monotonic(), cluster.done_items(job_id)
    assert worker.wait(30) == 0

    job = cluster.job(job_id)
    assert "worker: Warm shutdown (MainProcess)" in cluster.log("w1")
    assert (job.status, job.attempt, job.done_items) == ("succeeded", 1, ITEMS)
    invariants.assert_holds(cluster.database_url, cluster.storage, [job_id])
    log.info("case 4 warm: SIGTERM with %d/%d done; job finished and worker exited %.1f s later",
             done_at_signal, ITEMS, elapsed(signalled))


def test_sigquit_during_a_task_requeues_its_message_and_the_next_worker_resumes_it(
        cluster: Cluster) -> None:
    cluster.configure(STUB_ITEM_SECONDS="0.05")  # about 10 s of work: longer than the soft timeout
    worker = cluster.worker("w1")
    job_id = cluster.add(ITEMS)
    task_id = cluster.send(job_id)
    wait_running(cluster, job_id, done_at_least=10)
    worker.send_signal(signal.SIGQUIT)
    signalled, done_at_signal = time.monotonic(), cluster.done_items(job_id)
    worker.wait(30)
    stopped, handed_back = elapsed(signalled), cluster.job(job_id)

    text = cluster.log("w1")
    assert "Initiating Soft Shutdown, terminating in 3.0 seconds" in text
    assert "interrupted by a cold shutdown; message requeued" in text
    assert (handed_back.status, handed_back.attempt) == ("queued", 0)  # the attempt given back
    cluster.worker("w2")
    job = cluster.wait_status(job_id, "succeeded", 30)
    assert f"[{task_id}] received" in cluster.log("w2"), "w2 did not get the requeued message"
    assert (job.attempt, job.done_items) == (1, ITEMS)
    invariants.assert_holds(cluster.database_url, cluster.storage, [job_id])
    log.info("case 4 cold: SIGQUIT with %d/%d done; worker exited %.1f s later with the run "
             "handed back; the next worker resumed the same message, attempt %d", done_at_signal,
             ITEMS, stopped, job.attempt)
