"""Cross-job batching: whole queued jobs ride in a run's batch when the run's own items leave room.

A worker runs one job per Celery delivery, in batches of up to settings.batch_size items. A small
job (or the tail of a big one) would leave most of a batch empty, and a batch costs about the same
whatever its size, so the run fills the room with other queued generate jobs ("riders") that
use the same model version and the same loop options (rounds, early exit):

- candidates come highest priority first, then oldest (`store.crossjob.queued_candidates`); a
  rider must fit whole (all its pending items, within its own batch_size), so it is finished in
  the batch it rides in and never left half-run for another worker to find;
- riders are claimed as a delivery claims a job (compare-and-set queued -> running, attempt
  counter; canceled jobs and jobs out of attempts are left to their own delivery) and their items
  leased, all in two statements (`store.crossjob`), so nothing runs twice: a rider's own message,
  when delivered later, finds it finished (or running here) and does nothing;
- a job whose earlier run died never rides, and a retried run takes no riders, so a poison job
  (one that kills its worker) takes innocent jobs down at most once and fails alone;
- its tenant must be allowed its model (`ModelCache.locate` with the rider's tenant);
- if a run's first batch is still not full, the run waits while jobs keep arriving: until none
  came for settings.batch_wait_ms, at most batch_wait_max_ms in all. Its later batches (the
  tail of a job bigger than a batch) take the riders queued by then without waiting: jobs that
  arrived while the earlier batches ran are already there, and the next delivery's first batch
  waits for those still to come. A waiting run looks every few milliseconds at first (a burst
  is caught at once), then less often as the wait goes on, never more than half a quiet gap
  apart (`poll_interval`): a look is a transaction, and a steady trickle of jobs would
  otherwise keep the worker querying the store 200 times a second.
  A lone job waits batch_wait_ms; a burst of small jobs fills one batch instead of starting
  half-empty ones, each of which costs most of a full batch's time;
- each rider keeps its own heartbeat, cancel and finalization (worker/engine.py), and if the run
  stops on an error, riders are handed back to the queue like the run's own job.

Knows the store and the model seam; knows nothing of Celery or of the model's internals.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from store.crossjob import Candidate, claim_queued_jobs, lease_pending_items, queued_candidates
from store.items import ItemTask, update_progress
from store.models import utcnow
from store.runs import CANCEL, LOST, OK, WORKER_ERROR, finalize_job, finalize_jobs, release_run

if TYPE_CHECKING:
    from worker.engine import Run, Runtime

log = logging.getLogger(__name__)

POLL_SECONDS = 0.005  # the wait window's first looks for new jobs are this far apart
POLL_GROWTH = 8  # later ones, an eighth of the time waited so far (see poll_interval)
CANDIDATE_WINDOW = 64  # queued jobs read per look, best first
Rides = Callable[[dict[str, Any], int], bool]  # (job params, pending items) -> may it ride?


@dataclass
class Rider:
    """A queued job riding in this run's batch: its attempt and the items it leased."""

    job_id: str
    attempt: int
    items: list[ItemTask] = field(default_factory=list)
    state: str = OK  # the last heartbeat's answer: OK, CANCEL or LOST


def fill(rt: Runtime, run: Run, room: int, rides: Rides, *, wait: bool = True) -> list[Rider]:
    """Riders for `room` free places, waiting while jobs keep arriving (see the module
    docstring); without `wait`, those queued now only. `rides(params, pending)` says whether a
    job with these params and that many pending items can share the run's loop options and be
    finished in one batch. A run that is a retry after a crash takes no riders: if the job
    itself is poison, it dies alone."""
    if run.attempt > 1:
        return []
    if not wait:
        with rt.session() as session:
            return adopt(session, rt, run, room, rides, {run.job_id})
    start = time.monotonic()
    last_arrival, riders = start, []
    skip: set[str] = {run.job_id}
    while True:
        with rt.session() as session:
            new = adopt(session, rt, run, room, rides, skip)
        now = time.monotonic()
        if new:
            riders += new
            room -= sum(len(r.items) for r in new)
            last_arrival = now
        if (room <= 0 or now - last_arrival >= rt.settings.batch_wait_ms / 1000
                or now - start >= rt.settings.batch_wait_max_ms / 1000):
            return riders
        time.sleep(poll_interval(now - start, rt.settings.batch_wait_ms / 1000))


def poll_interval(waited: float, quiet_gap: float) -> float:
    """Seconds until the next look, `waited` seconds into the window: POLL_SECONDS at first,
    then an eighth of the time waited, at most half the quiet gap that ends the wait (so the end
    of a stream is seen at most half a gap late)."""
    return max(POLL_SECONDS, min(waited / POLL_GROWTH, quiet_gap / 2))


def adopt(session: Session, rt: Runtime, run: Run, room: int, rides: Rides,
          skip: set[str]) -> list[Rider]:
    """Claim whole queued jobs that fit in `room`, best first; adds every job looked at to
    `skip` (it will not fit later either: the room only shrinks)."""
    s, now = rt.settings, utcnow()
    chosen, models = [], {}
    for cand in queued_candidates(session, exclude=skip, max_pending=room,
                                  limit=CANDIDATE_WINDOW):
        skip.add(cand.id)
        if cand.pending <= room and rides(cand.params, cand.pending) and _same_model(
                session, rt, run, cand, models):
            chosen.append(cand.id)
            room -= cand.pending
        if room <= 0:
            break
    claimed = claim_queued_jobs(session, chosen, run.worker, model_version=run.model.version,
                                max_attempts=s.max_attempts, now=now)
    items = lease_pending_items(session, claimed, run.worker, lease_seconds=s.lease_seconds,
                                now=now)
    riders = [Rider(job, claimed[job], items.get(job, [])) for job in chosen if job in claimed]
    if riders:
        log.info("job %s attempt %d: %d jobs ride in its batch with %d items: %s", run.job_id,
                 run.attempt, len(riders), sum(len(r.items) for r in riders),
                 " ".join(f"{r.job_id}/{r.attempt}" for r in riders))
    return riders


def _same_model(session: Session, rt: Runtime, run: Run, cand: Candidate,
                seen: dict[tuple[str | None, str], bool]) -> bool:
    """Whether the candidate's tenant may use, and asks for, the model this run has loaded
    (`seen` remembers the cache's answer per (model reference, tenant)); a job whose model is
    unknown stays for its own delivery, which fails it with the reason."""
    key = (cand.model_ref, cand.tenant_id)
    if key not in seen:
        seen[key] = rt.models.serves(session, cand.model_ref, cand.tenant_id, run.location,
                                     run.model.version)
    return seen[key]


def finish_riders(session: Session, run: Run, stops: dict[str, str]) -> None:
    """After the batch is recorded: finalize each rider (canceled if it was), which writes its
    progress; a rider with items left (it lost the lease of one) goes back to the queue for its
    own delivery."""
    now, outcomes = utcnow(), Counter()
    finalized = finalize_jobs(session, {r.job_id: r.attempt for r in run.riders
                                        if stops.get(r.job_id, OK) == OK}, run.worker, now)
    for rider in run.riders:
        state = stops.get(rider.job_id, OK)
        if state == LOST:
            outcomes[LOST] += 1
            continue
        status = (finalize_job(session, rider.job_id, run.worker, rider.attempt, now,
                               canceled=True) if state == CANCEL else finalized.get(rider.job_id))
        if status is None:
            released = release_run(session, rider.job_id, run.worker, rider.attempt, now,
                                   count_attempt=False,
                                   reason=f"rode in job {run.job_id}'s batch and had items left")
            update_progress(session, rider.job_id)
            status = "handed back" if released else LOST
            log.warning("job %s attempt %d: %s after riding in job %s's batch", rider.job_id,
                        rider.attempt, status, run.job_id)
        outcomes[status] += 1
    if outcomes:
        log.info("job %s attempt %d: its riders ended %s", run.job_id, run.attempt,
                 ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items())))


def release_riders(rt: Runtime, run: Run, *, count_attempt: bool, reason: str,
                   code: str = WORKER_ERROR) -> None:
    """After an error: hand the riders still held (the batch in flight, and one whose recording
    failed) back to the queue (best effort)."""
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
