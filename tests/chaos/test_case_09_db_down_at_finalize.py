"""Case 9: the database goes away just as the worker writes a job's final status.

FAULT_PAUSE_BEFORE_FINALIZE (config/faults.py) stops the worker right before finalize_job and
leaves a marker file; the test then stops its private PostgreSQL with `pg_ctl -m immediate`
(a crash, no goodbye to clients) and lets the worker go on. The final write fails, the task is
retried with backoff (the message is not acknowledged meanwhile), and once PostgreSQL is back
(5 s later) the retry resumes the same run: nothing is redone, and the final status is written
once, on attempt 1.
"""

from __future__ import annotations

import logging
import time

import pytest

from tests import invariants
from tests.chaos.harness import Cluster, elapsed
from tests.chaos.servers import PostgresServer
from tests.worker_support import wait_for

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

ITEMS = 30
OUTAGE_SECONDS = 5


def test_a_database_crash_at_the_final_status_write_is_retried_and_the_status_set_once(
        pg_cluster: Cluster, own_postgres: PostgresServer) -> None:
    markers = pg_cluster.tmp / "markers"
    markers.mkdir()
    pg_cluster.configure(FAULT_PAUSE_BEFORE_FINALIZE=str(markers))
    pg_cluster.worker("w1")
    job_id = pg_cluster.submit(ITEMS)
    marker = markers / job_id
    wait_for(marker.exists, 30, "the worker to reach the final status write")
    assert pg_cluster.job(job_id).done_items == ITEMS

    own_postgres.stop("immediate")
    stopped = time.monotonic()
    marker.unlink()  # the worker goes on, into a dead database
    wait_for(lambda: "transient error, retry 1" in pg_cluster.log("w1"), 30, "a retry")
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    own_postgres.start()
    job = pg_cluster.wait_status(job_id, "succeeded", 60)

    text = pg_cluster.log("w1")
    assert text.count(f"job {job_id} attempt 1: finished succeeded") == 1
    assert "claim resumed, attempt 1" in text
    assert (job.attempt, job.done_items, job.failed_items) == (1, ITEMS, 0)
    invariants.assert_holds(pg_cluster.database_url, pg_cluster.storage, [job_id])
    log.info("case 9: PostgreSQL crashed at the final write, back after %d s; job succeeded "
             "%.1f s after the crash, attempt %d; retries logged %d", OUTAGE_SECONDS,
             elapsed(stopped), job.attempt, text.count("transient error, retry"))
