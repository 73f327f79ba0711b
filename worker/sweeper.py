"""The sweeper: re-dispatches jobs whose rows say queued or running but whose message is gone.

No queue delivers exactly once, and a message can be lost between the commit of a job and its
send, in a Redis restart, or with a worker killed outright. The store is the record, so a periodic
pass over it repairs the queue:

- a `queued` job last dispatched more than `stale_queued_seconds` ago is sent again, unless its
  message still waits in the broker (a backlog is not a loss);
- a `running` job whose owner process is dead -- its liveness key (worker/liveness.py, a few
  seconds' time-to-live, refreshed by a thread whatever the batch is doing) is gone -- goes back
  to `queued` at once and is sent again, so an idle worker takes over within seconds of a
  SIGKILL instead of after the lease; a slow but living worker keeps its run;
- a `running` job whose run lease expired (no heartbeat for `lease_seconds`, no live item lease)
  goes the same way: the backstop for an owner that lives but lost its run;
- either way its next claim counts a new attempt (a late write of the old attempt is fenced
  off), and a job that used `max_attempts` fails with `worker_crashed`.

Every `storage_temp_max_age_seconds` it also removes the PNG temp files that workers killed
mid-write left in the storage directory, and the temp folders of dataset uploads whose API
process was killed, once they are that old (worker.storage).

A duplicate message is harmless: claims are compare-and-set and finished items are never redone.
Each re-dispatch is committed before its message is sent (the row is the outbox).

Run it with `python -m worker.sweeper` (one per deployment is enough; two are safe).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
import time
from collections import Counter

from celery import Celery
from sqlalchemy.orm import Session

from config import Settings
from store import session_scope
from store.models import utcnow
from store.runs import (
    JobRef, expired_running_jobs, mark_dispatched, requeue_from_dead_owner, requeue_job,
    running_jobs_with_owner, stale_queued_jobs,
)
from store.transient import TRANSIENT_ERRORS
from worker.celery_app import QUEUE_FOR_KIND, TASK_FOR_KIND, enqueue_job, make_app
from worker.liveness import TTL_INTERVALS, key_for_owner
from worker.service import run_until_signalled
from worker.storage import remove_stale_temp_files

log = logging.getLogger(__name__)



COUNTS = ("requeued_queued", "still_in_broker", "requeued_dead_owner", "requeued_running",
          "failed_crashed", "skipped")


def sweep_once(session: Session, app: Celery, settings: Settings, now: dt.datetime) -> dict[str, int]:
    """One pass; returns how many jobs got each treatment (the keys of COUNTS).

    Commits `session` once per job acted on, before sending its message.
    """
    counts: Counter[str] = Counter()
    stale = stale_queued_jobs(session, now, settings.stale_queued_seconds)
    session.commit()  # never wait on Redis inside a transaction: on SQLite it holds the write lock
    waiting = jobs_in_broker(app) if stale else set()
    for ref in stale:
        counts[_resend_queued(session, app, settings, ref, now, waiting)] += 1
    if settings.handover_on_dead_worker:
        _hand_over_dead_owners(session, app, settings, now, counts)
    for ref in expired_running_jobs(session, now, settings.lease_seconds):
        counts[_recover(session, app, settings, ref, now)] += 1
    session.commit()
    return {key: counts[key] for key in COUNTS}


def _resend_queued(session: Session, app: Celery, settings: Settings, ref: JobRef,
                   now: dt.datetime, waiting: set[str]) -> str:
    """Re-send a job that sat queued too long, unless its message still waits in the broker
    (a long backlog is not a lost message, and re-sending it every pass would flood the queue)."""
    if not mark_dispatched(session, ref.id, now, settings.stale_queued_seconds):
        return "skipped"
    if ref.id in waiting:
        session.commit()  # checked again after another stale_queued_seconds
        return "still_in_broker"
    _commit_and_send(session, app, ref, "queued job not started, no message in the broker")
    return "requeued_queued"


def jobs_in_broker(app: Celery) -> set[str]:
    """Ids of the jobs whose messages wait in a queue or are held unacknowledged by a worker.

    Reads kombu's Redis layout: one list per queue and priority step, and the `unacked` hash.
    """
    messages: list[dict] = []
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        client = channel.client
        for queue in QUEUE_FOR_KIND.values():
            for priority in channel.priority_steps:
                key = channel._q_for_pri(queue, priority)  # noqa: SLF001 - kombu's key naming
                messages.extend(json.loads(raw) for raw in client.lrange(key, 0, -1))
        messages.extend(json.loads(raw)[0] for raw in client.hvals(channel.unacked_key))
    return {job_id for job_id in map(_job_id, messages) if job_id is not None}


def _job_id(message: dict) -> str | None:
    """The job id argument of a Celery task message (protocol 2, JSON), or None."""
    if message.get("headers", {}).get("task") not in TASK_FOR_KIND.values():
        return None
    body = message.get("body", "")
    if message.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args = json.loads(body)[0]
    return str(args[0]) if args else None


def _hand_over_dead_owners(session: Session, app: Celery, settings: Settings, now: dt.datetime,
                           counts: Counter[str]) -> None:
    """Re-dispatch every running job whose owner process has no liveness key. Only runs quiet
    for a liveness time-to-live are asked about: a Redis restart drops every key, and a living
    worker's refresher needs one interval to write its own again."""
    quiet = settings.worker_liveness_interval_seconds * TTL_INTERVALS
    running = running_jobs_with_owner(session, now, quiet)
    session.commit()  # no transaction held while Redis answers
    if not running:
        return
    alive = owners_alive(app, {owner for _, owner in running})
    for ref, owner in running:
        if owner in alive:
            continue
        outcome = requeue_from_dead_owner(session, ref, owner, now,
                                          max_attempts=settings.max_attempts)
        counts[_after_requeue(session, app, ref, outcome, f"owner {owner} is dead",
                              requeued_as="requeued_dead_owner")] += 1


def owners_alive(app: Celery, owners: set[str]) -> set[str]:
    """The run owners whose process keeps its liveness key (worker/liveness.py)."""
    ordered = sorted(owners)
    with app.connection_for_read() as connection:
        client = connection.default_channel.client
        pipe = client.pipeline(transaction=False)
        for owner in ordered:
            pipe.exists(key_for_owner(owner))
        found = pipe.execute()
    return {owner for owner, exists in zip(ordered, found, strict=True) if exists}


def _recover(session: Session, app: Celery, settings: Settings, ref: JobRef,
             now: dt.datetime) -> str:
    outcome = requeue_job(session, ref, now, lease_seconds=settings.lease_seconds,
                          max_attempts=settings.max_attempts)
    return _after_requeue(session, app, ref, outcome, f"run lease expired on attempt {ref.attempt}")


def _after_requeue(session: Session, app: Celery, ref: JobRef, outcome: str, why: str, *,
                   requeued_as: str = "requeued_running") -> str:
    """Commit a requeue's outcome (and send the job again if it went back to queued); the
    count it falls under."""
    if outcome == "requeued":
        _commit_and_send(session, app, ref, why)
        return requeued_as
    if outcome == "failed":
        session.commit()
        log.warning("job %s: failed worker_crashed after %d attempts", ref.id, ref.attempt)
        return "failed_crashed"
    return "skipped"


def _commit_and_send(session: Session, app: Celery, ref: JobRef, why: str) -> None:
    session.commit()
    task_id = enqueue_job(app, ref.id, ref.kind, ref.priority)
    log.info("job %s: re-dispatched (%s) as task %s", ref.id, why, task_id)


def sweep_storage(settings: Settings, now: float) -> int:
    """Remove the PNG temp files and dataset temp folders older than
    `storage_temp_max_age_seconds` at `now` (seconds since the epoch); returns how many. A
    storage directory that cannot be read is logged."""
    storage_dir = settings.effective_storage_dir
    try:
        removed = remove_stale_temp_files(storage_dir, now - settings.storage_temp_max_age_seconds)
    except OSError as exc:
        log.warning("storage sweep of %s skipped: %s", storage_dir, exc)
        return 0
    for path in removed:
        log.info("removed %s, left by a writer killed mid-write", path)
    return len(removed)


def run_forever(settings: Settings, stop: threading.Event) -> None:
    """Sweep every `sweep_interval_seconds` until `stop` is set; outages are logged and waited out."""
    app = make_app(settings)
    url = settings.effective_database_url
    log.info("sweeper started: every %.1f s, stale queued after %.0f s, lease %d s",
             settings.sweep_interval_seconds, settings.stale_queued_seconds, settings.lease_seconds)
    next_storage_sweep = time.monotonic()
    while not stop.is_set():
        try:
            with session_scope(url) as session:
                counts = sweep_once(session, app, settings, utcnow())
            if any(counts.values()):
                log.info("sweep: %s", counts)
        except TRANSIENT_ERRORS as exc:
            log.warning("sweep skipped, store or broker unavailable: %s", exc)
        if time.monotonic() >= next_storage_sweep:  # a listing of every folder: not every pass
            sweep_storage(settings, time.time())
            next_storage_sweep = time.monotonic() + settings.storage_temp_max_age_seconds
        stop.wait(settings.sweep_interval_seconds)
    log.info("sweeper stopped")


def main() -> None:
    """`python -m worker.sweeper`: the periodic loop, stopped by SIGTERM or Ctrl-C."""
    run_until_signalled(run_forever)


if __name__ == "__main__":
    main()
