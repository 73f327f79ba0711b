"""P4's baseline: a raw Celery app with one no-op task, delivered like the project's tasks.

It takes the project's Celery settings (worker/celery_app.py: JSON, acks late, prefetch 1, the
same Redis) and its own queue, `noop`, on kombu's own Redis transport: the one that keeps a
client per channel (worker/redis_transport.py) is this project's code, part of the system P4
measures, not of raw Celery. The task only counts itself (one Redis INCR), so the benchmark
knows when every task has run without reading a result per task.

    celery -A bench.noop_app worker -Q noop --pool=solo
"""

from __future__ import annotations

import functools

import redis
from celery import Celery
from kombu import Exchange, Queue

from config import get_settings
from worker.celery_app import celery_config

QUEUE = "noop"
TASK = "bench.noop"
COUNTER = "bench:noop:done"


def _config() -> dict:
    return {**celery_config(get_settings()), "broker_transport": None, "task_default_queue": QUEUE,
            "task_queues": [Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE)],
            "task_routes": {TASK: {"queue": QUEUE}}}


app = Celery("bench_noop")
app.add_defaults(_config)


@functools.lru_cache(maxsize=1)
def _counter() -> redis.Redis:
    return redis.Redis.from_url(get_settings().effective_redis_url)


@app.task(name=TASK)
def noop(index: int) -> None:
    """Nothing but a count of tasks done."""
    _counter().incr(COUNTER)
