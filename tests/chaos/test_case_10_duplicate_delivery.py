"""Case 10: the same task message delivered twice at the same time.

The same payload (same task id, same job id) is published twice while two idle consumers wait:
two solo workers on SQLite, or one prefork worker with two children on PostgreSQL. Both
deliveries try to claim the queued job at once; the compare-and-set lets one through (attempt 1)
and the other finds it busy (or already finished) and returns without writing. One result per
item.
"""

from __future__ import annotations

import logging
import uuid

import pytest

from tests import invariants
from tests.chaos.harness import Cluster

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

ITEMS = 40


@pytest.mark.parametrize(("any_cluster", "topology"), [
    ("sqlite_url", "two solo workers"), ("own_pg_url", "prefork -c 2")],
    indirect=["any_cluster"], ids=["sqlite-two solo workers", "postgres-prefork -c 2"])
def test_a_message_delivered_twice_at_once_is_claimed_once(any_cluster: Cluster,
                                                           topology: str) -> None:
    if topology == "two solo workers":
        any_cluster.worker("w1")
        any_cluster.worker("w2")
        names = ["w1", "w2"]
    else:
        any_cluster.worker("w1", pool="prefork", concurrency=2)
        names = ["w1"]
    job_id = any_cluster.add(ITEMS)
    task_id = str(uuid.uuid4())
    for _ in range(2):
        any_cluster.send(job_id, task_id=task_id)
    job = any_cluster.wait_status(job_id, "succeeded", 30)
    any_cluster.procs.stop_all(grace=5)  # both deliveries answered before the logs are read

    text = "".join(any_cluster.log(name) for name in names)
    claims = [line for line in text.splitlines() if f"job {job_id}: claim" in line]
    assert text.count(f"[{task_id}] received") == 2
    assert sum("claim claimed, attempt 1" in line for line in claims) == 1
    assert sum(("claim busy" in line) or ("claim terminal" in line) for line in claims) == 1
    assert (job.attempt, job.done_items) == (1, ITEMS)
    invariants.assert_holds(any_cluster.database_url, any_cluster.storage, [job_id])
    log.info("case 10 (%s): claims %s", topology, [c.split("job ")[1] for c in claims])
