"""Submitting a job or a fine-tune, once for both: the model resolved (version and kind), the job
checked against its kind (kinds/params.py), the idempotent insert within the quota, the commit,
and dispatch after the commit.

The order matters and is the outbox pattern: the job and its items are committed first, then
the Celery message (the job id only) is sent by task name, then the job is marked dispatched.
If the broker is down the job stays queued and undispatched, the client still gets its 202, and
the sweeper sends the message later. The message is sent after the answer is on the wire
(`dispatch_after_response`, a background task on its own session): the client does not wait for
the broker or the mark, and a process that dies in between leaves exactly what a broker outage
leaves, a committed queued job the sweeper sends. The model is known only through its kind (kinds/).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import BackgroundTasks, Response
from pydantic import BaseModel
from kombu.exceptions import KombuError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api import errors
from api.deps import Services
from api.redis_client import REDIS_ERRORS
from api.schemas import ItemCreate, JobCreate
from config import Settings, faults
from kinds import ModelKind, UnknownKind, get_kind, kind_of_default_model
from kinds.params import ItemInput, JobRequest, ParamLimits, ParamProblem, check_job
from store.catalog import find_version
from store.jobs import IdempotencyInProgress, IdempotencyMismatch, NewItem, mark_dispatched
from store.models import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedModel:
    """What a submission's model reference names: its version (None: a kind's shipped default
    not yet in the catalog, pinned by the worker) and its kind."""

    version: str | None
    kind: ModelKind


def resolve_model(session: Session, ref: str, tenant_id: str) -> ResolvedModel:
    """The version and kind `ref` names for this tenant, resolved once, at submit. A kind's
    default model name ("default", "ads") resolves to its kind while it is unregistered."""
    found = find_version(session, ref, tenant_id)
    if found is None:
        kind = kind_of_default_model(ref)
        if kind is None:
            raise errors.UNKNOWN_MODEL(model=ref[:200])
        return ResolvedModel(None, kind)
    version, kind_name = found
    try:
        return ResolvedModel(version, get_kind(kind_name))
    except UnknownKind:
        raise errors.MODEL_KIND_UNAVAILABLE(model=ref[:200], kind=kind_name) from None


def checked_job(body: JobCreate, kind: ModelKind,
                settings: Settings) -> tuple[dict[str, Any], list[NewItem]]:
    """The job's params as stored and its items, checked against `kind` (kinds/params.py);
    a 422 naming the field when something is wrong."""
    limits = ParamLimits(max_items=settings.max_items_per_job,
                         max_prompt_chars=settings.max_prompt_chars,
                         max_rounds=settings.max_rounds, max_batch_size=settings.batch_size,
                         max_seed=settings.max_seed)
    try:
        params, items = check_job(kind, job_request(body), limits,
                                  lambda n: secrets.randbelow(max(1, settings.max_seed - n + 2)))
    except ParamProblem as exc:
        raise errors.ApiError(422, exc.code, exc.message) from None
    return params.stored(body.model), [NewItem(item.text, item.seed) for item in items]


def job_request(body: JobCreate) -> JobRequest:
    """The request's items and parameters as the kinds' checks read them."""
    if body.prompts is not None:
        items = [ItemInput(prompt, None, f"prompts[{i}]") for i, prompt in enumerate(body.prompts)]
    else:
        items = [_item_input(item, i) for i, item in enumerate(body.items or [])]
    return JobRequest(items=items, rounds=body.rounds, batch_size=body.batch_size,
                      seed=body.seed, options=body.options)


def _item_input(item: ItemCreate, index: int) -> ItemInput:
    fields = item.kind_fields()
    if not fields:
        return ItemInput(item.prompt, item.seed, f"items[{index}].prompt", f"items[{index}].seed")
    value = fields if item.prompt is None else {"prompt": item.prompt, **fields}
    return ItemInput(value, item.seed, f"items[{index}]", f"items[{index}].seed")


def submit_once(session: Session, create: Callable[[], tuple[Job, bool]],
                with_new: Callable[[Job], None]) -> tuple[Job, bool]:
    """Insert a submission (`create`: the job and whether it is new, or an idempotent replay)
    and commit it; `with_new` runs for a new one before the commit (the tenant's quota, and
    what is stored with the job, such as its webhook). The Idempotency-Key conflicts become
    their 409 / 422. Shared by jobs and fine-tunes; the caller then `answer`s."""
    try:
        job, created = create()
        if created:
            with_new(job)
        session.commit()
    except IdempotencyMismatch as exc:
        raise errors.IDEMPOTENCY_MISMATCH(key=exc.key, job_id=exc.job_id) from exc
    except IdempotencyInProgress as exc:
        raise errors.IDEMPOTENCY_IN_PROGRESS(key=exc.key) from exc
    return job, created


def answer(background: BackgroundTasks, services: Services, response: Response, job: Job,
           created: bool, url: str) -> None:
    """After the commit: a new job is dispatched once the answer is sent; a replay is marked
    `Idempotent-Replayed`; either way `Location` is the job's (or fine-tune's) url."""
    if created:
        dispatch_after_response(background, services, job)  # the row is the outbox
    else:
        log.info("job %s: idempotent replay", job.id)
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = url


def request_hash(body: BaseModel) -> str:
    """SHA-256 of the request as parsed, so formatting and key order do not matter."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dispatch_after_response(background: BackgroundTasks, services: Services, job: Job) -> None:
    """Send the committed job's message once the answer is on the wire (`send`)."""
    faults.crash_after_commit(job.id)  # chaos tests only (docs/reliability.md case 6)
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
