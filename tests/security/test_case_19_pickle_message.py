"""Case 19: a pickle message injected into the worker's queue is refused and never executed.

A real `celery worker` (stub model) consumes the `generate` queue of a private redis-server. The
test publishes, with kombu's `Producer(serializer="pickle")`, a message shaped like a real task
of ours (protocol-2 headers naming worker.tasks.run_generate_job) whose pickled arguments hold an
object whose `__reduce__` runs `touch <sentinel>`. The worker refuses to deserialize it
(ContentDisallowed, logged as an ERROR: "Received invalid task message ... ignored and
discarded"), drops it (nothing left queued or unacknowledged to be redelivered),
the sentinel never appears, and the worker goes on to run a genuine JSON job.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Producer

from config import Settings
from tests.security.servers import RedisServer, wait_until
from tests.worker_support import Processes, add_job, load_job, processes_for
from worker.celery_app import GENERATE_QUEUE, GENERATE_TASK, enqueue_job, make_app

pytestmark = pytest.mark.chaos


class Evil:
    """Unpickling this runs `touch <sentinel>`."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):  # noqa: ANN204
        return os.system, (f"touch {self.sentinel}",)


def test_the_worker_accepts_json_only() -> None:
    conf = make_app(Settings(redis_url="redis://127.0.0.1:1/0")).conf
    assert conf.accept_content == ["json"] and conf.result_accept_content == ["json"]
    assert conf.task_serializer == conf.result_serializer == "json"


@pytest.fixture
def worker(sqlite_url: str, own_redis: RedisServer, tmp_path: Path) -> Iterator[Processes]:
    procs = processes_for(sqlite_url, own_redis.url, tmp_path)
    try:
        procs.worker("w1")
        yield procs
    finally:
        procs.stop_all()


def inject_pickle(url: str, sentinel: Path) -> str:
    """Publish a pickled task message for our generate task; returns its task id."""
    task_id = str(uuid.uuid4())
    headers = {"lang": "py", "task": GENERATE_TASK, "id": task_id, "root_id": task_id,
               "parent_id": None, "group": None, "retries": 0, "eta": None, "expires": None,
               "argsrepr": "(Evil(),)", "kwargsrepr": "{}", "origin": "attacker@host"}
    body = ((Evil(sentinel),), {}, {"callbacks": None, "errbacks": None, "chain": None,
                                    "chord": None})
    layout = make_app(Settings(redis_url=url)).conf.broker_transport_options  # key separator
    with Connection(url, transport_options=layout) as connection:
        producer = Producer(connection.default_channel, serializer="pickle")
        producer.publish(body, exchange=Exchange(GENERATE_QUEUE), routing_key=GENERATE_QUEUE,
                         headers=headers, correlation_id=task_id, declare=[])
    return task_id


def broker_leftovers(server: RedisServer) -> int:
    """Messages still waiting in the generate queue or held unacknowledged."""
    client = server.client()
    try:
        waiting = sum(client.llen(k) for k in client.keys(f"{GENERATE_QUEUE}*")
                      if client.type(k) == b"list")
        return waiting + client.hlen("unacked")
    finally:
        client.close()


def test_a_pickled_task_message_is_refused_logged_dropped_and_never_run(
    sqlite_url: str, own_redis: RedisServer, worker: Processes, tmp_path: Path,
) -> None:
    sentinel = tmp_path / "pwned"
    task_id = inject_pickle(own_redis.url, sentinel)
    wait_until(lambda: b"ContentDisallowed" in worker.log("w1"), 30, "the refusal in the log")
    log = worker.log("w1").decode(errors="replace")
    assert ("ERROR/MainProcess] Received invalid task message: Refusing to deserialize untrusted "
            "content of type pickle (application/x-python-serialize)") in log
    assert "The message has been ignored and discarded." in log
    wait_until(lambda: broker_leftovers(own_redis) == 0, 10, "the message to be dropped")

    job_id = add_job(sqlite_url, ["a red circle", "a blue square"])  # a genuine job still runs
    enqueue_job(make_app(Settings(redis_url=own_redis.url)), job_id, "generate", 5)
    wait_until(lambda: load_job(sqlite_url, job_id).status == "succeeded", 60, "the JSON job")
    assert not sentinel.exists()
    assert f"Task {GENERATE_TASK}[{task_id}] received" not in log
