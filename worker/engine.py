"""The batch engine: runs one delivery of a generate job as named steps.

    claim   -> take the job (compare-and-set, attempt counter), pick its model
    loop:     claim a batch of pending items (with a lease)
              run it through model.generate (worker/rounds.py), renewing the run and checking
              cancel between rounds (once the last heartbeat is round_beat_seconds old)
              record: PNGs into object storage (content keys, durable: the final images and
              the round-by-round strips, worker/strip.py) on a thread of their own, then the
              item rows, in one commit, on another, while the next batch runs
    release -> finalize the job (succeeded / partial / failed / canceled), or hand back the items

The claim, heartbeat, riders' claim and finish, release and final status are the run's
lifecycle (worker/lifecycle.py); this module is the loop that strings them together.

With cross-job batching (worker/crossjob.py), a batch the job's own items leave room in also
carries whole queued jobs of the same model ("riders"): each keeps its own heartbeat, cancel and
final status, and the batch stops early only when every job in it has stopped. A delivery whose
run carried riders goes on with the next queued job (`run_delivery`), since the messages ahead
of that job's in the broker are the riders', which find their jobs finished.

A batch is recorded on threads of its own while the next one runs (`RecordBehind`: its PNGs
stored while the batch before commits its rows), so a killed worker loses at most the batch in
flight, the one being stored and the one being committed, and a redelivered job resumes with
the items still pending: finished items are never redone. Expected failures
stay inside the job (a prompt the model rejects with ValueError fails that item with its
message; an unknown model fails the job); anything else propagates to the task, which hands
the leased items back first.

Knows the store and the model contract; knows nothing of Celery (progress goes to a callback).
"""

from __future__ import annotations

import copy
import logging
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from config import Settings
from kinds import ServableModel, UnknownKind, UnsafeCheckpoint
from kinds.params import DEFAULT_ROUNDS
from store.crossjob import next_queued_job
from store.items import ItemFailure, ItemResult, ItemTask, claim_batch, record_results_of
from store.items import update_progress
from store.models import utcnow
from store.runs import Beat, JobClaim, JobSpec, lock_job, set_model_version
from worker import crossjob
from worker.lifecycle import Publish, Run, RunEnd, Runtime, beat_run, claim_step, fail_claimed
from worker.lifecycle import finish_riders, finish_step, nothing_to_run, release_step
from worker.model_cache import Location, UnknownModel, register_default
from worker.rounds import BatchOutcome, run_step
from worker.storage import store_results

log = logging.getLogger(__name__)

MAX_FOLLOW_ONS = 8  # follow-on runs after one delivery (run_delivery): 8 full batches


def run_delivery(job_id: str, rt: Runtime, worker: str,
                 publish: Publish | None = None) -> RunEnd:
    """Run one delivery of the job (`run_job`), then, while the run just done carried riders,
    the best queued job straight from the store; returns the delivered job's status.

    The riders' own messages are still in the broker's queue, ahead of those of the jobs that
    arrived after them: each costs the worker a delivery that finds its job finished (a few ms,
    31 of them behind a full batch). Taking the next queued job from the store at once keeps a
    burst of small jobs going batch after batch; the messages skipped find their jobs finished
    (or running) and cost nothing more than before. A follow-on run is an ordinary run (claim,
    riders, heartbeats, final status); one that fails was handed back by `run_job`, and its own
    message runs it again. At most MAX_FOLLOW_ONS follow a delivery, so that under a steady
    stream of small jobs the messages the store does not offer (retries) still come up."""
    status, carried = _run(job_id, rt, worker, publish)
    for _ in range(MAX_FOLLOW_ONS):
        if not carried or rt.draining():
            break
        with rt.session() as session:
            follow_on = next_queued_job(session)
        if follow_on is None:
            break
        log.info("job %s: runs next, straight from the queue in the store", follow_on)
        try:
            carried = _run(follow_on, rt, worker, None)[1]
        except Exception:  # noqa: BLE001 - handed back; its own delivery retries it
            log.exception("job %s: follow-on run stopped; left to its own delivery", follow_on)
            break
    return status


def run_job(job_id: str, rt: Runtime, worker: str, publish: Publish | None = None) -> RunEnd:
    """Run one delivery of the job; returns the final job status, or why nothing ran."""
    return _run(job_id, rt, worker, publish)[0]


def _run(job_id: str, rt: Runtime, worker: str,
         publish: Publish | None) -> tuple[RunEnd, int]:
    """`run_job`, and how many riders the run carried in all."""
    claim = claim_step(rt, job_id, worker)
    if not claim.runnable:
        return nothing_to_run(job_id, claim), 0
    run: Run | None = None
    try:
        run = prepare_step(rt, claim, worker, publish)
        if run is None:
            return RunEnd.FAILED, 0
        stop = batches_step(rt, run)
    except BaseException as exc:
        release_step(rt, claim, worker, exc, run=run)
        raise
    return finish_step(rt, run, stop), run.carried


def prepare_step(rt: Runtime, claim: JobClaim, worker: str, publish: Publish | None) -> Run | None:
    """Check the job's parameters and get its model; fails the job (and returns None) if it can't."""
    job = claim.job
    try:
        rounds, batch_size = job_options(job.params, rt.settings)
    except ValueError as exc:
        fail_claimed(rt, claim, "invalid_params", str(exc))
        return None
    try:
        with rt.session() as session:
            location = rt.models.locate(session, job.model_ref, job.tenant_id)
    except UnknownModel as exc:
        fail_claimed(rt, claim, "unknown_model", str(exc))
        return None
    try:
        model = rt.models.get(location)
    except (FileNotFoundError, ValueError, UnknownKind) as exc:  # missing, corrupt or pickled
        # checkpoint, or a kind this worker does not know
        code = "unsafe_checkpoint" if isinstance(exc, UnsafeCheckpoint) else "model_unavailable"
        fail_claimed(rt, claim, code, f"cannot load model {job.model_ref or 'default'}: {exc}")
        return None
    _pin_model(rt, job, model, location)
    log.info("job %s attempt %d: model %s, %d rounds, batch size %d", job.id, claim.attempt,
             model.version, rounds, batch_size)
    early_exit = bool(job.params.get("early_exit", True))
    return Run(job.id, claim.attempt, worker, model, rounds, early_exit, batch_size, publish,
               location)


def _pin_model(rt: Runtime, job: JobSpec, model: ServableModel, location: Location) -> None:
    """Pin the job to the version it runs with, and put the default in the catalog once per
    process; a job the API pinned to that version already needs no write at all."""
    register = location.checkpoint_dir is None and not rt.models.registered(model.version)
    if not register and job.model_version == model.version:
        return
    with rt.session() as session:
        if register:
            register_default(session, model, rt.default_checkpoint)
        set_model_version(session, job.id, model.version)
    if register:
        rt.models.note_registered(model.version)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def job_options(params: dict[str, Any], settings: Settings) -> tuple[int, int]:
    """(rounds, batch size) from the job's params; the worker's batch size is also the maximum."""
    rounds = params.get("rounds", DEFAULT_ROUNDS)
    if not _whole(rounds) or rounds < 0:
        raise ValueError(f"rounds must be a non-negative integer, got {rounds!r}")
    batch_size = params.get("batch_size") or settings.batch_size
    if not _whole(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return rounds, min(batch_size, settings.batch_size)


def batches_step(rt: Runtime, run: Run) -> Beat:
    """Claim, run and record batches until none is left (OK) or the run must stop (CANCEL,
    LOST); each batch is recorded while the next one runs (RecordBehind), the last before this
    returns."""
    with RecordBehind(rt, run) as recorder:
        while True:
            state, batch = next_batch(rt, run)
            if state != Beat.OK or not batch:
                return state
            outcome = run_step(rt, run, batch)
            recorder.record(batch, outcome)
            if outcome.stop:
                return outcome.stop


class RecordBehind:
    """Records each batch of a run on threads of its own, in two stages, so that the model runs
    the next batch while the PNGs of the last one are written (`store_step`) and the rows of the
    one before are committed (`record_step`): the plumbing of a batch costs the model nothing
    unless one of its stages takes longer than the batch.

    Each stage takes one batch at a time, in order, and a batch's rows commit only after its own
    PNGs are stored. `record` first waits until the batch before is stored and the one before
    that committed. On leaving, every batch is waited for; a failure to record is raised there
    (or logged, if the run is already failing), and the riders of that batch join the run's, so
    that the run's release hands them back too. A worker killed outright loses the batch in
    flight and, at worst, the one being stored and the one being committed: their items run
    again (never twice recorded)."""

    def __init__(self, rt: Runtime, run: Run) -> None:
        self.rt, self.run = rt, run
        self.stores = ThreadPoolExecutor(1, thread_name_prefix=f"store-{run.job_id[:8]}")
        self.commits = ThreadPoolExecutor(1, thread_name_prefix=f"record-{run.job_id[:8]}")
        self.pending: list[tuple[Future[Any], Future[None], Run]] = []  # oldest first

    def __enter__(self) -> RecordBehind:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is None:
                self.wait()
            else:
                self._wait_quietly()
        finally:
            self.stores.shutdown(wait=True)
            self.commits.shutdown(wait=True)

    def record(self, batch: list[ItemTask], outcome: BatchOutcome) -> None:
        """Start storing `batch` once the batch before it is stored (and the one before that
        committed); its rows commit once it is stored and the batch before is committed."""
        self.wait(keep=1)
        if self.pending and self.pending[0][0].exception() is not None:
            self.wait()  # a batch not stored is not committed either: raise its error now
        snapshot = copy.copy(self.run)  # the riders of this batch; the run moves on to the next
        snapshot.riders = list(self.run.riders)
        stored = self.stores.submit(store_step, self.rt, outcome)
        committed = self.commits.submit(
            lambda: record_step(self.rt, snapshot, batch, outcome, stored.result()))
        self.pending.append((stored, committed, snapshot))

    def wait(self, keep: int = 0) -> None:
        """Wait until at most `keep` batches are left to commit; the error of the first batch
        that could not be recorded."""
        while len(self.pending) > keep:
            _, committed, snapshot = self.pending.pop(0)
            try:
                committed.result()
            except BaseException:
                self.run.riders = snapshot.riders + self.run.riders
                raise

    def _wait_quietly(self) -> None:
        while self.pending:
            try:
                self.wait(keep=len(self.pending) - 1)
            except Exception:  # noqa: BLE001 - the error already leaving the run is the one to raise
                log.exception("job %s attempt %d: recording one of its last batches failed as "
                              "well", self.run.job_id, self.run.attempt)


def next_batch(rt: Runtime, run: Run) -> tuple[Beat, list[ItemTask]]:
    """Heartbeat (cancel check) and lease the next batch in one transaction, if the run is ours."""
    now = utcnow()
    with rt.session(relaxed=True) as session:  # a heartbeat's commit (store.crossjob)
        state = beat_run(session, rt, run, now)
        if state != Beat.OK:
            return state, []
        batch = claim_batch(session, run.job_id, run.worker, size=run.batch_size,
                            lease_seconds=rt.settings.lease_seconds, now=now)
    run.riders, run.leased_at = [], time.monotonic()
    run.batches += 1
    room = rt.settings.batch_size - len(batch)
    if batch and room > 0 and rt.settings.cross_job_batching:
        run.riders = crossjob.fill(rt, run, room, lambda params, pending: _rides(
            run, params, pending, rt.settings), wait=run.batches == 1)
        batch = batch + [item for rider in run.riders for item in rider.items]
        run.carried += len(run.riders)
    return Beat.OK, batch


def _rides(run: Run, params: dict[str, Any], pending: int, settings: Settings) -> bool:
    """Whether another job can share this run's loop (rounds, early exit) and fit one batch."""
    try:
        rounds, batch_size = job_options(params, settings)
    except ValueError:
        return False  # its own delivery fails it with the reason
    early_exit = bool(params.get("early_exit", True))
    return (rounds, early_exit) == (run.rounds, run.early_exit) and pending <= batch_size


def store_step(rt: Runtime, outcome: BatchOutcome) -> list[tuple[str, str, str | None]]:
    """Write the batch's PNGs (final images and round-by-round strips), durably; per finished
    item (image key, sha256, strip key or None), in the order of `outcome.results`."""
    return store_results(rt.storage, [track.images for track in outcome.results.values()])


def record_step(rt: Runtime, run: Run, batch: list[ItemTask], outcome: BatchOutcome,
                stored: list[tuple[str, str, str | None]] | None = None) -> None:
    """Once the batch's PNGs are stored (`stored`: `store_step`'s answer; None: store them
    now), in one commit its item rows and the progress of every job in it that is still ours,
    and the final status of its riders."""
    per_item_ms = outcome.model_ms / max(1, len(batch))
    owner = dict(zip((item.id for item in batch), run.owners(batch), strict=True))
    results: dict[str, list[ItemResult]] = defaultdict(list)
    failures: dict[str, list[ItemFailure]] = defaultdict(list)
    if stored is None:
        stored = store_step(rt, outcome)
    for (item_id, track), (path, sha, strip) in zip(outcome.results.items(), stored, strict=True):
        results[owner[item_id]].append(ItemResult(
            item_id, path, sha, track.texts, track.agreements, rounds_run=len(track.texts),
            compute_ms=per_item_ms, payload=track.payload, rounds_path=strip))
    for failure in outcome.failures:
        failures[owner[failure.item_id]].append(failure)
    jobs = [job for job in run.held() if outcome.stops.get(job) != Beat.LOST]
    with rt.session() as session:
        lock_job(session, run.job_id)  # before its items: the next batch's heartbeat runs
        _record_items(session, run, {job: results[job] for job in jobs},
                      {job: failures[job] for job in jobs})
        # riders' progress is written when they are finalized
        mine = None
        if run.job_id in jobs:
            mine = update_progress(session, run.job_id, current_round=outcome.last_round)
        finish_riders(session, run, outcome.stops)
    run.riders = []
    if mine is not None:
        log.info("job %s attempt %d: %d/%d items done (%d failed), batch of %d (%d jobs) "
                 "%.0f ms in the model", run.job_id, run.attempt, mine.done, mine.total,
                 mine.failed, len(batch), len(jobs), outcome.model_ms)
        if run.publish is not None:
            run.publish(run.job_id, mine)


def _record_items(session: Any, run: Run, results: dict[str, list[ItemResult]],
                  failures: dict[str, list[ItemFailure]]) -> None:
    """The item rows of every job in the batch, under this worker's leases, in one go."""
    written = record_results_of(session, run.worker, results, failures, utcnow())
    expected = sum(map(len, results.values())) + sum(map(len, failures.values()))
    if written != expected:
        log.warning("job %s: recorded %d of %d items of its batch (leases lost)", run.job_id,
                    written, expected)


