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
  leased, all in two statements (`worker.lifecycle.claim_riders`), so nothing runs twice: a
  rider's own message, when delivered later, finds it finished (or running here) and does nothing;
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
- each rider keeps its own heartbeat, cancel and finalization, and if the run stops on an
  error, riders are handed back to the queue like the run's own job (worker/lifecycle.py).

Chooses riders; their lifecycle is worker/lifecycle.py's. Knows the store and the model seam;
knows nothing of Celery or of the model's internals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from store.crossjob import Candidate, queued_candidates
from worker.lifecycle import Rider, Run, Runtime, claim_riders

log = logging.getLogger(__name__)

POLL_SECONDS = 0.005  # the wait window's first looks for new jobs are this far apart
POLL_GROWTH = 8  # later ones, an eighth of the time waited so far (see poll_interval)
CANDIDATE_WINDOW = 64  # queued jobs read per look, best first
Rides = Callable[[dict[str, Any], int], bool]  # (job params, pending items) -> may it ride?


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
    riders = claim_riders(session, rt, run, chosen)
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


