"""Case 11: a poison job, one that takes its worker down every time it runs.

The stand-in model acts out two poison prompts (worker/stub_model.py): `stub-crash:exit` ends the
pool child (`os._exit`, as a segfault or the OOM killer would), `stub-crash:oom` raises an
OutOfMemoryError named like torch's CUDA one. Each run counts an attempt in the job row; after
max_attempts (3) the job fails with `worker_crashed` or `out_of_memory` instead of being
redelivered forever, while the normal jobs submitted with it all succeed. (A normal job that
shared a batch with a poison job's first run may share that one crash: attempt 2 at most.)
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests import invariants
from tests.chaos.harness import Cluster
from tests.worker_support import add_job, load_job, make_runtime
from worker.engine import run_job
from worker.stub_model import CRASH_EXIT, CRASH_OOM, OutOfMemoryError

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

MAX_ATTEMPTS = 3


def test_an_out_of_memory_job_fails_as_out_of_memory_after_max_attempts(
        sqlite_url: str, tmp_path: Path) -> None:
    rt = make_runtime(sqlite_url, tmp_path / "storage", max_attempts=MAX_ATTEMPTS)
    job_id = add_job(sqlite_url, [f"{CRASH_OOM} a red star"])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with pytest.raises(OutOfMemoryError):
            run_job(job_id, rt, "w1")
        job = load_job(sqlite_url, job_id)
        assert (job.status, job.attempt, job.error_code) == ("queued", attempt, "out_of_memory")
    assert run_job(job_id, rt, "w1") == "crashed"
    job = load_job(sqlite_url, job_id)
    assert (job.status, job.error_code, job.attempt) == ("failed", "out_of_memory", MAX_ATTEMPTS)
    assert job.error == "the job ran out of memory on each of 3 attempts"


def test_poison_jobs_fail_after_three_attempts_while_the_other_jobs_succeed(
        cluster: Cluster) -> None:
    cluster.configure(STALE_QUEUED_SECONDS="1")  # an OOM run is handed back as queued
    cluster.sweeper()
    cluster.worker("w1", pool="prefork", concurrency=1)
    crash = cluster.submit(1, prompt=CRASH_EXIT)
    oom = cluster.submit(1, prompt=CRASH_OOM)
    normal = [cluster.submit(5, prompt=f"normal {n}") for n in range(5)]
    cluster.wait_terminal([crash, oom, *normal], 90)
    time.sleep(3)  # long enough for a runaway redelivery to show

    crashed, oomed = cluster.job(crash), cluster.job(oom)
    assert (crashed.status, crashed.error_code, crashed.attempt) == (
        "failed", "worker_crashed", MAX_ATTEMPTS)
    assert (oomed.status, oomed.error_code, oomed.attempt) == (
        "failed", "out_of_memory", MAX_ATTEMPTS)
    for job_id in normal:
        job = cluster.job(job_id)
        assert job.status == "succeeded" and job.attempt <= 2, (job_id, job.attempt, job.error)
    text = cluster.log("w1")
    assert text.count("raised error: WorkerLostError") == MAX_ATTEMPTS
    invariants.assert_holds(cluster.database_url, cluster.storage, normal)
    log.info("case 11: poison jobs failed (%s after %d attempts, %s after %d); 5 normal jobs "
             "succeeded, attempts %s; child deaths %d", crashed.error_code, crashed.attempt,
             oomed.error_code, oomed.attempt, [cluster.job(j).attempt for j in normal],
             text.count("raised error: WorkerLostError"))
