"""Case 22: SQLite write contention: the API, two workers and the sweeper all writing at once.

Eight clients submit and poll small jobs for 8 s while two workers record results in batches of
two items (a commit every few milliseconds) and the sweeper passes every half second. SQLite runs
in WAL mode with a busy timeout and `BEGIN IMMEDIATE` for every transaction (store/db.py), so
writers queue instead of failing: no client sees a 500 or "database is locked", and every job
ends with one result per item.
"""

from __future__ import annotations

import logging

import pytest

from tests import invariants
from tests.chaos.harness import Cluster
from tests.chaos.load import Load

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

LOAD_SECONDS = 8


def test_sqlite_under_api_workers_and_sweeper_never_shows_database_is_locked(
        cluster: Cluster) -> None:
    keys = [cluster.key(name) for name in ("acme", "globex", "initech")]
    cluster.configure(BATCH_SIZE="2", STUB_ITEM_SECONDS="0.002", STALE_QUEUED_SECONDS="5")
    api = cluster.api()
    cluster.worker("w1")
    cluster.worker("w2")
    cluster.sweeper()
    load = Load(api, keys, threads=8, items=6, polls=3)
    load.run_for(LOAD_SECONDS)
    cluster.wait_terminal(list(load.accepted), 90)

    assert load.server_errors() == []
    assert not [r for r in load.replies if "locked" in r.text]
    logs = {name: cluster.log(name) for name in ("api", "w1", "w2", "sweeper")}
    assert "database is locked" not in logs["api"]
    report = invariants.assert_holds(cluster.database_url, cluster.storage)
    assert report.jobs == {"succeeded": len(load.accepted)}
    locked = {name: text.count("database is locked") for name, text in logs.items()}
    log.info("case 22: %s; 503s %d; 'database is locked' in process logs %s; jobs %s, items %s",
             load.summary(), load.statuses()[503], locked, report.jobs, report.items)
