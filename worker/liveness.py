"""A worker process's liveness key: refreshed by a thread, gone soon after the process dies.

Celery's own ways of asking "who is there" do not fit: a solo-pool worker inside a long job
answers no control ping until the job ends, and worker events need a consumer. So each worker
process, once ready, runs a daemon thread that every `interval` seconds sets the key
`LIVENESS_PREFIX + "<node>/<pid>"` in the broker's Redis with a time-to-live of three intervals,
independent of how long a batch takes; a clean shutdown deletes it, a SIGKILL lets it expire.
Operators' metrics count the keys (api/metrics.py); the sweeper can use them to tell a dead
run owner from a slow one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import redis

from worker.celery_app import LIVENESS_PREFIX

log = logging.getLogger(__name__)

TTL_INTERVALS = 3  # a key outlives three missed refreshes, no more


def process_identity(node: str) -> str:
    """This process as run owners name it: `<Celery node>/<pid>` (tasks.worker_id adds a token)."""
    return f"{node}/{os.getpid()}"


def liveness_key(identity: str) -> str:
    """The key of a process identity (`<node>/<pid>`)."""
    return f"{LIVENESS_PREFIX}{identity}"


def key_for_owner(owner: str) -> str:
    """The liveness key of the process that holds a run (`<node>/<pid>/<token>`)."""
    return liveness_key(owner.rsplit("/", 1)[0])


class Liveness:
    """The refresher thread of one worker process (start once ready, stop at shutdown)."""

    def __init__(self, redis_url: str, node: str, interval: float) -> None:
        self.key = liveness_key(process_identity(node))
        self.interval = interval
        self._client = redis.Redis.from_url(redis_url, socket_timeout=interval,
                                            socket_connect_timeout=interval)
        self._value = json.dumps({"node": node, "pid": os.getpid(), "since": time.time()})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveness", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing and delete the key (best effort: it expires anyway)."""
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        try:
            self._client.delete(self.key)
        except (redis.RedisError, OSError) as exc:
            log.warning("liveness: could not delete %s: %s", self.key, exc)
        self._client.close()

    def _run(self) -> None:
        ttl_ms = int(self.interval * TTL_INTERVALS * 1000)
        while not self._stop.is_set():
            try:
                self._client.set(self.key, self._value, px=ttl_ms)
            except (redis.RedisError, OSError) as exc:  # the broker is away: retry next beat
                log.warning("liveness: refresh of %s failed: %s", self.key, exc)
            self._stop.wait(self.interval)



_running: dict[int, Liveness] = {}  # by pid: a forked pool child starts its own


def ensure_running(node: str, redis_url: str, interval: float) -> None:
    """Start this process's liveness refresher unless it runs already: at worker_ready for a
    solo pool, at a pool child's first task otherwise (threads do not survive a fork)."""
    if os.getpid() not in _running:
        liveness = Liveness(redis_url, node, interval)
        liveness.start()
        _running[os.getpid()] = liveness


def stop_all() -> None:
    """Stop this process's refresher and delete its key (Celery's worker_shutdown)."""
    liveness = _running.pop(os.getpid(), None)
    if liveness is not None:
        liveness.stop()
