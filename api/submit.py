"""Submitting a job: limits from settings, seeds, the request hash, and dispatch after commit.

The order matters and is the outbox pattern: the job and its items are committed first, then
the Celery message (the job id only) is sent by task name, then the job is marked dispatched.
If the broker is down the job stays queued and undispatched, the client still gets its 202, and
the sweeper sends the message later. The message is sent after the answer is on the wire
(`dispatch_after_response`, a background task on its own session): the client does not wait for
the broker or the mark, and a process that dies in between leaves exactly what a broker outage
leaves, a committed queued job the sweeper sends. Nothing here knows the model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from typing import Any

from fastapi import BackgroundTasks
from kombu.exceptions import KombuError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api import errors
from api.deps import Services
from api.redis_client import REDIS_ERRORS
from api.schemas import JobCreate
from config import Settings, faults
from store.catalog import DEFAULT_MODEL_NAME, find_version
from store.jobs import NewItem, mark_dispatched
from store.models import Job

log = logging.getLogger(__name__)

DEFAULT_ROUNDS = 3


def check_limits(body: JobCreate, settings: Settings) -> None:
    """Raise the matching ApiError when `body` asks for more than the settings allow."""
    prompts = body.prompt_list()
    if len(prompts) > settings.max_items_per_job:
        raise errors.TOO_MANY_ITEMS(count=len(prompts), limit=settings.max_items_per_job)
    for index, prompt in enumerate(prompts):
        if len(prompt.strip()) > settings.max_prompt_chars:
            field = f"prompts[{index}]" if body.prompts is not None else f"items[{index}].prompt"
            raise errors.PROMPT_TOO_LONG(field=field, length=len(prompt.strip()),
                                         limit=settings.max_prompt_chars)
    if body.rounds is not None and body.rounds > settings.max_rounds:
        raise errors.ROUNDS_OUT_OF_RANGE(rounds=body.rounds, limit=settings.max_rounds)
    if body.batch_size is not None and body.batch_size > settings.batch_size:
        raise errors.BATCH_SIZE_OUT_OF_RANGE(batch_size=body.batch_size, limit=settings.batch_size)
    _check_seeds(body, settings.max_seed)


def _check_seeds(body: JobCreate, max_seed: int) -> None:
    if body.seed is not None and body.seed + len(body.prompt_list()) - 1 > max_seed:
        raise errors.SEED_OUT_OF_RANGE(field="seed (plus the prompt index)", limit=max_seed,
                                       seed=body.seed)
    for index, item in enumerate(body.items or []):
        if item.seed > max_seed:
            raise errors.SEED_OUT_OF_RANGE(field=f"items[{index}].seed", limit=max_seed,
                                           seed=item.seed)


def resolve_model(session: Session, ref: str, tenant_id: str) -> str | None:
    """The version `ref` names for this tenant; "default" may be unregistered (None)."""
    version = find_version(session, ref, tenant_id)
    if version is not None:
        return version
    if ref == DEFAULT_MODEL_NAME:
        return None
    raise errors.UNKNOWN_MODEL(model=ref[:200])


def job_params(body: JobCreate, settings: Settings) -> dict[str, Any]:
    """What the worker needs besides the items: rounds, batch size, the requested model."""
    count = len(body.prompt_list())
    base_seed = body.seed
    if body.prompts is not None and base_seed is None:
        base_seed = secrets.randbelow(max(1, settings.max_seed - count + 2))
    return {
        "model": body.model,
        "rounds": body.rounds if body.rounds is not None else min(DEFAULT_ROUNDS, settings.max_rounds),
        "batch_size": body.batch_size,
        "seed": base_seed if body.prompts is not None else None,
    }


def new_items(body: JobCreate, params: dict[str, Any]) -> list[NewItem]:
    """The job's items: prompts trimmed; seeds given, or the base seed plus the index."""
    if body.items is not None:
        return [NewItem(item.prompt.strip(), item.seed) for item in body.items]
    return [NewItem(p.strip(), params["seed"] + i) for i, p in enumerate(body.prompts or [])]


def request_hash(body: JobCreate) -> str:
    """SHA-256 of the request as parsed, so formatting and key order do not matter."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dispatch_after_response(background: BackgroundTasks, services: Services, job: Job) -> None:
    """Send the committed job's message once the answer is on the wire (`send`)."""
    faults.crash_after_commit(job.id)  # chaos tests only (RELIABILITY.md case 6)
    background.add_task(send, services, job.id, job.kind, job.priority)


def send(services: Services, job_id: str, kind: str, priority: int) -> bool:
    """Send the job's message and mark it dispatched, on a session of its own (the request's is
    closed by the time a background task runs); False (and a log line) if the send failed."""
    with services.sessions() as session:
        return _send(services, session, job_id, kind, priority)


def _send(services: Services, session: Session, job_id: str, kind: str, priority: int) -> bool:
    from worker.celery_app import enqueue_job  # see Services.celery for why this is late

    try:
        task_id = enqueue_job(services.celery, job_id, kind, priority)
    except (KombuError, *REDIS_ERRORS) as exc:
        log.warning("job %s: broker unavailable, left queued for the sweeper: %s", job_id, exc)
        return False
    try:
        mark_dispatched(session, job_id)
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("job %s: sent (task %s) but not marked dispatched: %s", job_id, task_id, exc)
        return True
    log.info("job %s: dispatched as task %s (priority %d)", job_id, task_id, priority)
    return True
