"""Case 8: PostgreSQL restarts under traffic.

Four clients submit and poll jobs through the real API (uvicorn) on a private PostgreSQL, two
workers and the sweeper run them; after a few seconds PostgreSQL is stopped (`pg_ctl -m fast`:
every connection is cut) and started again 2 s later. Requests caught in the gap get a 503 with
the JSON error `database_unavailable` and Retry-After, never a 500; requests after it succeed
(pooled connections are checked before use); the workers' writes are retried, and every job
reaches a terminal state with one result per item.
"""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tests import invariants
from tests.chaos.harness import Cluster
from tests.chaos.load import Load
from tests.chaos.servers import PostgresServer

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

LOAD_SECONDS = 12
DOWN_SECONDS = 2


def test_a_postgres_restart_under_traffic_gives_503s_not_500s_and_no_job_is_stuck(
        pg_cluster: Cluster, own_postgres: PostgresServer) -> None:
    keys = [pg_cluster.key(name) for name in ("acme", "globex")]
    pg_cluster.configure(STALE_QUEUED_SECONDS="3")
    api = pg_cluster.api()
    pg_cluster.worker("w1")
    pg_cluster.worker("w2")
    pg_cluster.sweeper()
    load = Load(api, keys, threads=4, items=5, pause=0.2)

    def restart() -> None:
        time.sleep(4)
        own_postgres.stop("fast")
        time.sleep(DOWN_SECONDS)
        own_postgres.start()

    load.run_for(LOAD_SECONDS, during=restart)
    after = httpx.get(f"{api}/v1/jobs", headers={"Authorization": f"Bearer {keys[0]}"}, timeout=10)
    pg_cluster.wait_terminal(list(load.accepted), 90)

    assert load.server_errors() == []
    unavailable = [r for r in load.replies if r.status == 503]
    assert unavailable, "no request fell in the outage; the case tested nothing"
    assert {r.code for r in unavailable} == {"database_unavailable"}
    assert after.status_code == 200
    assert " 500 " not in pg_cluster.log("api")
    report = invariants.assert_holds(pg_cluster.database_url, pg_cluster.storage)
    log.info("case 8: %s; after the restart: %d; jobs %s; items %s", load.summary(),
             after.status_code, report.jobs, report.items)
