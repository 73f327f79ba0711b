"""The light Celery app: configuration, queues and task names. No torch, no model, no tasks.

The API imports this module to enqueue by task name (`send_task`), so it must stay cheap to
import. The worker process imports `worker.tasks`, which registers the task bodies on `app`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from celery import Celery
from kombu import Exchange, Queue

from config import Settings, get_settings

GENERATE_QUEUE = "generate"
FINETUNE_QUEUE = "finetune"
GENERATE_TASK = "worker.tasks.run_generate_job"
FINETUNE_TASK = "worker.tasks.run_finetune_job"
TASK_FOR_KIND = {"generate": GENERATE_TASK, "finetune": FINETUNE_TASK}
QUEUE_FOR_KIND = {"generate": GENERATE_QUEUE, "finetune": FINETUNE_QUEUE}
MAX_PRIORITY = 9
# Each worker process keeps a key `LIVENESS_PREFIX + "<node>/<pid>"` alive in the broker's Redis
# (worker/liveness.py); the key expires soon after the process dies. /metrics counts them.
LIVENESS_PREFIX = "alpaca:worker-alive:"
REDIS_TRANSPORT = "worker.redis_transport:Transport"


def celery_config(settings: Settings) -> dict:
    """The delivery baseline of docs/architecture.md, as Celery settings."""
    broker = settings.effective_redis_url
    return {
        "broker_url": broker,
        "broker_transport": broker_transport(broker),
        "result_backend": broker,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": settings.worker_soft_shutdown_timeout_seconds,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout_seconds,
            # How soon a message abandoned by a dead worker is redelivered: kombu scans for
            # messages unacked past the visibility timeout every interval x throttle seconds
            # (100 s by default); scan every interval, a fifth of the timeout, at most 10 s.
            "unacked_restore_interval": restore_interval(settings.visibility_timeout_seconds),
            "unacked_restore_throttle": 1,
            "queue_order_strategy": "priority",
            "priority_steps": list(range(MAX_PRIORITY + 1)),
            "sep": ":",
        },
        "result_expires": 7 * 24 * 3600,
        # Enforced by pools that can kill a task (prefork); on the solo pool runs stop
        # cooperatively (cancel, lease), and the limit bounds the visibility timeout.
        "task_time_limit": settings.task_time_limit_seconds,
        # No STARTED record in the result backend: Flower shows a task as started from its
        # task-started event, and integrators poll the API, not Celery results. Writing it cost
        # a Redis GET and SET per delivery, most of which (jobs that rode in another run's
        # batch) do nothing else. Progress (PROGRESS) and results are still stored.
        "task_track_started": False,
        "task_send_sent_event": True,
        "worker_send_task_events": True,
        "task_default_queue": GENERATE_QUEUE,
        # Each queue has its own exchange: with the default one, kombu's Redis transport binds
        # both queues to the same routing and every message lands in both.
        "task_queues": [Queue(name, Exchange(name), routing_key=name)
                        for name in (GENERATE_QUEUE, FINETUNE_QUEUE)],
        "task_routes": {GENERATE_TASK: {"queue": GENERATE_QUEUE}, FINETUNE_TASK: {"queue": FINETUNE_QUEUE}},
        "task_default_priority": 5,
        "task_inherit_parent_priority": True,
    }


def broker_transport(url: str) -> str | None:
    """worker/redis_transport.py for a redis:// or rediss:// broker; otherwise None, kombu's
    choice (a `redis+socket://` or `sentinel://` URL names its transport)."""
    return REDIS_TRANSPORT if urlsplit(url).scheme in ("redis", "rediss") else None


def restore_interval(visibility_timeout: float) -> int:
    """Seconds between the worker's scans for unacknowledged messages past the timeout."""
    return int(max(1, min(10, visibility_timeout // 5)))


def make_app(settings: Settings | None = None) -> Celery:
    """A Celery app configured from `settings`; without them, from the process settings, read
    lazily (importing this module neither reads the environment nor starts an embedded Redis)."""
    app = Celery("alpaca_jobs")
    if settings is not None:
        app.conf.update(celery_config(settings))
    else:
        app.add_defaults(lambda: celery_config(get_settings()))
    return app


def broker_priority(priority: int) -> int:
    """Our priorities run 0 (low) .. 9 (high); kombu's Redis transport serves 0 first."""
    return MAX_PRIORITY - max(0, min(MAX_PRIORITY, priority))


def enqueue_job(app: Celery, job_id: str, kind: str, priority: int) -> str:
    """Send the job's message by task name; the message carries the job id only."""
    result = app.send_task(
        TASK_FOR_KIND[kind], args=[job_id], queue=QUEUE_FOR_KIND[kind],
        priority=broker_priority(priority),
    )
    return result.id


app = make_app()
