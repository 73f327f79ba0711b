"""Celery task bodies, registered by name on the light app (`worker.celery_app.app`).

A task is like a web view: it unpacks the job id, calls a plain function
(`worker.engine.run_delivery`) and sorts failures into three kinds:

- expected (bad input): handled inside the engine -- the item or job fails with a message and the
  task returns normally, so nothing is retried;
- transient (the database or the broker is unreachable): retried with exponential backoff; the
  run is handed back without using up an attempt, and finished items are never redone;
- unexpected: logged with its traceback and re-raised; the run is handed back to the queue
  (counting its attempt) and the sweeper re-sends it; after max_attempts it fails worker_crashed.
  Except during a cold shutdown (SIGQUIT), which is no fault of the job: the run is handed back
  without using up an attempt and the message is rejected back to the queue for the next worker.

This module is what a worker process imports (`celery -A worker.tasks worker ...`); the API never
does. The runtime (database engine, model cache) is built lazily by the process that runs tasks.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import Task
from celery.exceptions import Reject
from celery.signals import task_prerun, worker_init, worker_ready, worker_shutdown

from config import get_settings
from store.items import Progress
from store.transient import TRANSIENT_ERRORS
from worker import liveness
from worker.celery_app import FINETUNE_TASK, GENERATE_TASK, app
from worker.engine import run_delivery
from worker.finetune import run_finetune
from worker.lifecycle import Runtime
from worker.model_cache import ModelCache, default_checkpoint_path, kind_loader
from worker.safety import refuse_unsafe_torch

log = logging.getLogger(__name__)
worker_init.connect(refuse_unsafe_torch, weak=False)  # no worker on torch < 2.10 (case 18)


@worker_ready.connect(weak=False)
def _start_liveness(sender: Any = None, **_: Any) -> None:
    """Solo and thread pools run tasks in this process: keep its liveness key from now on."""
    if type(getattr(sender, "pool", None)).__module__.endswith("prefork"):
        return  # each pool child starts its own at its first task
    _ensure_liveness(getattr(sender, "hostname", None) or socket.gethostname())


@task_prerun.connect(weak=False)
def _liveness_in_pool_child(task: Task | None = None, **_: Any) -> None:
    if task is not None:
        _ensure_liveness(task.request.hostname or socket.gethostname())


def _ensure_liveness(node: str) -> None:
    settings = get_settings()
    liveness.ensure_running(node, settings.effective_redis_url,
                            settings.worker_liveness_interval_seconds)


@worker_shutdown.connect(weak=False)
def _stop_liveness(**_: Any) -> None:
    liveness.stop_all()

MAX_RETRIES = 8
MAX_BACKOFF_SECONDS = 120
PUBLISH_EVERY_SECONDS = 0.5  # progress published to the result backend at most this often
_PROCESS_TOKEN = uuid.uuid4().hex[:8]  # tells a restarted process from its predecessor
_runtime: Runtime | None = None

__all__ = ["app", "get_runtime", "run_finetune_job", "run_generate_job", "worker_id"]


def get_runtime() -> Runtime:
    """This process's runtime, built on first use (never at import, never before a fork)."""
    global _runtime
    if _runtime is None:
        settings = get_settings()
        models = ModelCache(kind_loader(settings), settings.model_cache_size)
        _runtime = Runtime(settings, settings.effective_database_url,
                           settings.effective_storage_dir, models,
                           default_checkpoint_path(settings), stopping=worker_terminating,
                           draining=worker_stopping)
    return _runtime


def worker_terminating() -> bool:
    """True once a cold shutdown began (SIGQUIT): Celery then cancels the running task, which on
    the solo pool surfaces inside the task as an exception once the soft shutdown timeout ends."""
    from celery.worker import state

    return state.should_terminate is not None


def worker_stopping() -> bool:
    """True once a warm (SIGTERM) or cold shutdown began: the task in flight finishes, nothing
    more starts."""
    from celery.worker import state

    stop = state.should_stop  # EX_OK (0) too: compared by identity, as Celery does
    return (stop is not None and stop is not False) or worker_terminating()


def worker_id(task: Task) -> str:
    """Who holds a run: Celery node name, pid and a per-process token."""
    node = task.request.hostname or socket.gethostname()
    return f"{liveness.process_identity(node)}/{_PROCESS_TOKEN}"


def backoff_seconds(retries: int) -> int:
    return min(MAX_BACKOFF_SECONDS, 2 ** (retries + 1))


def progress_publisher(task: Task):  # noqa: ANN201 - a Publish callback
    """Progress as Celery task state (Flower shows it); best effort, the store is the record.
    At most once per PUBLISH_EVERY_SECONDS, and the last one always: each costs the result
    backend two round trips and the worker some GIL time (7 % of it under P4's null model,
    where a batch is recorded every few milliseconds)."""
    if task.request.id is None:
        return None

    task_id = task.request.id  # the request is thread-local; batches are recorded on another
    last = [-float("inf")]  # time.monotonic() of the last state published

    def publish(job_id: str, progress: Progress) -> None:
        now = time.monotonic()
        if now - last[0] < PUBLISH_EVERY_SECONDS and progress.done < progress.total:
            return
        last[0] = now
        _publish_state(task, task_id, job_id, {
            "job_id": job_id, "done": progress.done, "failed": progress.failed,
            "total": progress.total, "round": progress.round})

    return publish


def _publish_state(task: Task, task_id: str, job_id: str, meta: dict[str, Any]) -> None:
    """One PROGRESS state of the task; a result backend that is away is logged, not raised."""
    try:
        task.update_state(task_id=task_id, state="PROGRESS", meta=meta)
    except (redis.exceptions.RedisError, kombu.exceptions.OperationalError) as exc:
        log.warning("job %s: progress not published: %s", job_id, exc)


@app.task(name=GENERATE_TASK, bind=True, max_retries=MAX_RETRIES)
def run_generate_job(self: Task, job_id: str) -> dict[str, Any]:
    """Run (or resume) a generate job; the message carries its id only."""
    try:
        status = run_delivery(job_id, get_runtime(), worker_id(self), progress_publisher(self))
    except TRANSIENT_ERRORS as exc:
        countdown = backoff_seconds(self.request.retries)
        log.warning("job %s: transient error, retry %d in %d s: %s", job_id,
                    self.request.retries + 1, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except Exception as exc:
        if worker_terminating():  # the run was handed back; the message goes back to the queue
            log.warning("job %s: interrupted by a cold shutdown; message requeued", job_id)
            raise Reject(exc, requeue=True) from exc
        log.exception("job %s: unexpected error", job_id)
        raise
    return {"job_id": job_id, "status": status}


def state_publisher(task: Task):  # noqa: ANN201 - a (job id, meta) callback
    """A fine-tune's step and loss as Celery task state; best effort, the store is the record."""
    if task.request.id is None:
        return None
    task_id = task.request.id

    def publish(job_id: str, meta: dict[str, Any]) -> None:
        _publish_state(task, task_id, job_id, meta)

    return publish


@app.task(name=FINETUNE_TASK, bind=True, max_retries=MAX_RETRIES)
def run_finetune_job(self: Task, job_id: str) -> dict[str, Any]:
    """Run (or resume from its last checkpoint) a fine-tune job; the message carries its id only."""
    try:
        status = run_finetune(job_id, get_runtime(), worker_id(self), state_publisher(self))
    except TRANSIENT_ERRORS as exc:
        countdown = backoff_seconds(self.request.retries)
        log.warning("job %s: transient error, retry %d in %d s: %s", job_id,
                    self.request.retries + 1, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except Exception:
        log.exception("job %s: unexpected error", job_id)
        raise
    return {"job_id": job_id, "status": status}
