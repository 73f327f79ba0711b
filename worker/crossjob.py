"""Cross-job batching: whole queued jobs ride in a run's batch when the run's own items leave room.

A worker runs one job per Celery delivery, in batches of up to settings.batch_size items. A small
job (or the tail of a big one) would leave most of a batch empty, and a batch costs about the same
whatever its size, so the run fills the room with other queued generate jobs ("riders") that
use the same model version and the same loop options (rounds, early exit):

- candidates come highest priority first, then oldest (`store.crossjob.queued_candidates`); a
  rider must fit whole (all its pending items, within its own batch_size), so it is finished in
  the batch it rides in and never left half-run for another worker to find;
- a rider is claimed like any delivery (`store.runs.claim_job`: compare-and-set, attempt counter,
  cancel-at-claim) and its items are leased (`store.items.claim_batch`), so nothing runs twice:
  its own message, when delivered later, finds it finished (or running here) and does nothing;
- its tenant must be allowed its model (`locate_model` with the rider's tenant);
- if the batch is still not full, the run waits up to settings.batch_wait_ms for jobs to arrive
  (polling every few milliseconds), which bounds the latency this adds to a lone job;
- each rider keeps its own heartbeat, cancel and finalization (worker/engine.py), and if the run
  stops on an error, riders are handed back to the queue like the run's own job.

Knows the store and the model seam; knows nothing of Celery or of the model's internals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from store.crossjob import Candidate, queued_candidates
from store.items import ItemTask, claim_batch
from store.models import utcnow
from store.runs import CANCEL, LOST, OK, WORKER_ERROR, claim_job, finalize_job, release_run
from store.runs import set_model_version
from worker.model_cache import UnknownModel, locate_model

if TYPE_CHECKING:
    from worker.engine import Run, Runtime

log = logging.getLogger(__name__)

POLL_SECONDS = 0.005  # how often the wait window looks for new jobs
CANDIDATE_WINDOW = 64  # queued jobs read per look, best first
Rides = Callable[[dict[str, Any], int], bool]  # (job params, pending items) -> may it ride?


@dataclass
class Rider:
    """A queued job riding in this run's batch: its attempt and the items it leased."""

    job_id: str
    attempt: int
    items: list[ItemTask] = field(default_factory=list)
    state: str = OK  # the last heartbeat's answer: OK, CANCEL or LOST


def fill(rt: Runtime, run: Run, room: int, rides: Rides) -> list[Rider]:
    """Riders for `room` free places, waiting up to settings.batch_wait_ms for jobs to arrive.

    `rides(params, pending)` says whether a job with these params and that many pending items
    can share the run's loop options and be finished in one batch.
    """
    deadline = time.monotonic() + rt.settings.batch_wait_ms / 1000
    riders: list[Rider] = []
    skip: set[str] = {run.job_id}
    while True:
        with rt.session() as session:
            new = adopt(session, rt, run, room, rides, skip)
        riders += new
        room -= sum(len(r.items) for r in new)
        if room <= 0 or time.monotonic() >= deadline:
            return riders
        time.sleep(POLL_SECONDS)


def adopt(session: Session, rt: Runtime, run: Run, room: int, rides: Rides,
          skip: set[str]) -> list[Rider]:
    """Claim whole queued jobs that fit in `room`; adds every job looked at to `skip`."""
    s, now, riders = rt.settings, utcnow(), []
    for cand in queued_candidates(session, exclude=skip, max_pending=room,
                                  limit=CANDIDATE_WINDOW):
        if cand.pending > room:
            continue
        skip.add(cand.id)
        if not (rides(cand.params, cand.pending) and _same_model(session, run, cand)):
            continue
        claim = claim_job(session, cand.id, run.worker, max_attempts=s.max_attempts,
                          lease_seconds=s.lease_seconds, now=now)
        if not claim.runnable:
            continue
        set_model_version(session, cand.id, run.model.version)
        items = claim_batch(session, cand.id, run.worker, size=cand.pending,
                            lease_seconds=s.lease_seconds, now=now)
        riders.append(Rider(cand.id, claim.attempt, items))
        room -= len(items)
        log.info("job %s attempt %d: rides in job %s's batch with %d items", cand.id,
                 claim.attempt, run.job_id, len(items))
        if room <= 0:
            break
    return riders


def _same_model(session: Session, run: Run, cand: Candidate) -> bool:
    """Whether the candidate's tenant may use, and asks for, the model this run has loaded."""
    try:
        checkpoint_dir, version = locate_model(session, cand.model_ref, cand.tenant_id)
    except UnknownModel:
        return False  # its own delivery fails it with the reason
    return checkpoint_dir == run.checkpoint_dir and version in (None, run.model.version)


def finish_riders(session: Session, run: Run, stops: dict[str, str]) -> None:
    """After the batch is recorded: finalize each rider (canceled if it was); a rider with items
    left (it lost the lease of one) goes back to the queue for its own delivery."""
    now = utcnow()
    for rider in run.riders:
        state = stops.get(rider.job_id, OK)
        if state == LOST:
            continue
        status = finalize_job(session, rider.job_id, run.worker, rider.attempt, now,
                              canceled=state == CANCEL)
        if status is None:
            status = "handed back" if release_run(
                session, rider.job_id, run.worker, rider.attempt, now, count_attempt=False,
                reason=f"rode in job {run.job_id}'s batch and had items left") else LOST
        log.info("job %s attempt %d: %s after riding in job %s's batch", rider.job_id,
                 rider.attempt, status, run.job_id)


def release_riders(rt: Runtime, run: Run, *, count_attempt: bool, reason: str,
                   code: str = WORKER_ERROR) -> None:
    """After an error: hand the riders of the batch in flight back to the queue (best effort)."""
    if not run.riders:
        return
    now = utcnow()
    try:
        with rt.session() as session:
            for rider in run.riders:
                release_run(session, rider.job_id, run.worker, rider.attempt, now,
                            count_attempt=count_attempt, reason=reason, code=code)
    except Exception:  # noqa: BLE001 - the original error matters more; the leases expire anyway
        log.exception("job %s: could not hand back its riders %s", run.job_id,
                      [r.job_id for r in run.riders])
    run.riders = []
