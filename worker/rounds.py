"""One batch through the model: its rounds, and between rounds a heartbeat of every job in it.

`run_step` runs a batch with `model.generate` and collects each item's images (one per round it
went through, for its round-by-round strip: worker/strip.py), control texts and agreements as
the rounds come. After every round but the last whose run's last heartbeat is
settings.round_beat_seconds old, it renews the run of every job in the batch that has not
stopped (one statement for all of them) and reads its cancel flag: a canceled or lost job stops
alone (its items that had exited early are kept, a lost job's none), and the batch stops early
only when every job in it has stopped. A model whose rounds take longer than that gets a
heartbeat after every round; one whose rounds take a few ms (P4's null model) gets none within
a batch: the heartbeat before each batch renews it, and a cancel stops it at the next batch.
If the model rejects the batch (ValueError), its items run one by one so a bad prompt fails
only its own item.

Knows the run's heartbeat (worker/lifecycle.py) and the model contract; the engine
(worker/engine.py) claims the batch before and records it after.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from kinds import ItemRefusal, Step
from store.items import ItemFailure, ItemTask
from store.runs import Beat
from worker.lifecycle import Run, Runtime, beat

log = logging.getLogger(__name__)


@dataclass
class _Track:
    """One item's results so far, round by round."""

    images: list[Any] = field(default_factory=list)  # each round's image, while it ran
    texts: list[str] = field(default_factory=list)
    agreements: list[float] = field(default_factory=list)
    done: bool = False
    payload: dict[str, Any] | None = None  # what the result carries beyond its PNG (Step.payloads)
    refusal: ItemRefusal | None = None  # the model could not make the item (Step.refusals)

    @property
    def image(self) -> Any:
        """The final image: the last round's the item went through."""
        return self.images[-1] if self.images else None


@dataclass
class BatchOutcome:
    results: dict[int, _Track] = field(default_factory=dict)  # item id -> finished item
    failures: list[ItemFailure] = field(default_factory=list)
    stop: Beat | None = None  # CANCEL or LOST when the run must end after this batch
    model_ms: float = 0.0
    last_round: int | None = None  # the batch's last round (written with the progress)
    stops: dict[str, Beat] = field(default_factory=dict)  # job id -> CANCEL or LOST, any job


def run_step(rt: Runtime, run: Run, batch: list[ItemTask]) -> BatchOutcome:
    """Generate a batch; if the model rejects it (ValueError), run its items one by one."""
    try:
        return _generate(rt, run, batch)
    except ValueError as exc:
        if len(batch) == 1:
            log.warning("job %s attempt %d: item %d rejected: %s", run.job_id, run.attempt,
                        batch[0].index, exc)
            return BatchOutcome(failures=[ItemFailure(batch[0].id, "invalid_input", str(exc))])
        log.warning("job %s attempt %d: batch at item %d rejected (%s); running its items alone",
                    run.job_id, run.attempt, batch[0].index, exc)
    merged = BatchOutcome()
    for item, owner in zip(batch, run.owners(batch), strict=True):
        if owner in merged.stops:
            continue
        part = run_step(rt, run, [item])
        merged.results.update(part.results)
        merged.failures.extend(part.failures)
        merged.model_ms += part.model_ms
        merged.stops.update(part.stops)
        if part.stop:
            merged.stop = part.stop
            break
    return merged


def _generate(rt: Runtime, run: Run, batch: list[ItemTask]) -> BatchOutcome:
    tracks = [_Track() for _ in batch]
    owners = run.owners(batch)
    outcome = BatchOutcome()
    steps = run.model.generate([i.prompt for i in batch], [i.seed for i in batch],
                               rounds=run.rounds, early_exit=run.early_exit)
    try:
        while True:
            started = time.perf_counter()
            step = next(steps, None)
            outcome.model_ms += (time.perf_counter() - started) * 1000
            if step is None:
                break
            _absorb(tracks, step, [owner in outcome.stops for owner in owners])
            outcome.last_round = step.round
            if step.round >= run.rounds or all(step.done):
                continue  # the final round: nothing is left to stop, the record step follows
            if time.monotonic() - run.beat_at < rt.settings.round_beat_seconds:
                continue  # the run was renewed moments ago (a model whose rounds are quick)
            states = beat(rt, run, current_round=step.round, stopped=list(outcome.stops))
            outcome.stops.update({job: s for job, s in states.items() if s != Beat.OK})
            if set(owners) <= set(outcome.stops):
                break
    finally:
        getattr(steps, "close", lambda: None)()
    outcome.stop = outcome.stops.get(run.job_id)
    # A stopped job keeps the items that had already exited when it stopped (a lost one keeps
    # none); the generator's end finishes all the others.
    kept = [(item, t) for item, t, owner in zip(batch, tracks, owners, strict=True)
            if outcome.stops.get(owner) != Beat.LOST and (t.done or owner not in outcome.stops)]
    outcome.results = {item.id: t for item, t in kept if t.refusal is None}
    outcome.failures = [ItemFailure(item.id, t.refusal.code, t.refusal.message)
                        for item, t in kept if t.refusal is not None]
    return outcome


def _absorb(tracks: list[_Track], step: Step, frozen: list[bool]) -> None:
    """Take one round's outputs for every item that had not exited early (nor stopped); an
    item the model refused is done, and fails with the refusal's code. A family's own step
    type may lack the optional fields of kinds.Step (payloads, refusals)."""
    payloads, refusals = getattr(step, "payloads", None), getattr(step, "refusals", None)
    for i, track in enumerate(tracks):
        if track.done or frozen[i]:
            continue
        track.images.append(step.images[i])  # a reference: models yield fresh arrays
        track.texts.append(str(step.control_texts[i]).replace("\x00", ""))  # PostgreSQL text
        track.agreements.append(float(step.agreement[i]))
        track.done = bool(step.done[i])
        if payloads is not None:
            track.payload = payloads[i]
        if refusals and refusals[i] is not None:
            track.refusal, track.done = refusals[i], True
