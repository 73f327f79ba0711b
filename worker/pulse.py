"""A run's pulse: a background thread that keeps a long run's lease alive and its progress current.

A fine-tune spends minutes inside calls it does not control (reading the pairs, a training step,
an evaluation), so instead of heartbeating between steps it runs a small thread that every
`interval` seconds, in one transaction, renews the run's lease (store.runs.heartbeat, a
compare-and-set on worker and attempt) and writes the latest progress into the job row. What the
heartbeat answers is kept: CANCEL (the client asked to stop) or LOST (the run is no longer ours;
stop without writing); the training callback reads it between steps. A store outage is logged
and retried at the next beat; if it lasts past the lease, the sweeper takes the run back and the
next beat answers LOST.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from store.finetunes import set_progress
from store.models import utcnow
from store.runs import CANCEL, LOST, OK, Beat, heartbeat

log = logging.getLogger(__name__)


class Stopped(Exception):
    """The run must stop at this boundary: canceled (CANCEL) or no longer ours (LOST)."""

    def __init__(self, state: Beat) -> None:
        super().__init__(state)
        self.state = state


class Pulse:
    """Heartbeat + progress writer of one run (job, worker, attempt), on a daemon thread."""

    def __init__(self, rt: Any, job_id: str, worker: str, attempt: int,
                 progress: dict[str, Any], interval: float) -> None:
        self.rt, self.job_id, self.worker, self.attempt = rt, job_id, worker, attempt
        self.interval = interval
        self.state = OK
        self._progress = dict(progress)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pulse-{job_id[:8]}", daemon=True)

    def __enter__(self) -> Pulse:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 30)

    @property
    def progress(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._progress)

    def check(self) -> None:
        """Raise Stopped if the last heartbeat said CANCEL or LOST (call between steps)."""
        if self.state in (CANCEL, LOST):
            raise Stopped(self.state)

    def update(self, **fields: Any) -> None:
        """Change the progress the next beat writes."""
        with self._lock:
            self._progress.update(fields)

    def beat(self) -> Beat:
        """One heartbeat and progress write now; returns (and keeps) OK, CANCEL or LOST."""
        progress = self.progress
        with self.rt.session() as session:
            state = heartbeat(session, self.job_id, self.worker, self.attempt, now=utcnow(),
                              lease_seconds=self.rt.settings.lease_seconds)
            if state != LOST:
                set_progress(session, self.job_id, self.worker, self.attempt, progress, utcnow())
        if state != OK and self.state == OK:
            log.info("job %s attempt %d: heartbeat says %s at step %s", self.job_id,
                     self.attempt, state, progress.get("step"))
        if self.state != LOST:
            self.state = state if state != OK else self.state
        return self.state

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - the next beat retries; the lease covers it
                log.warning("job %s attempt %d: heartbeat failed: %s", self.job_id, self.attempt,
                            exc)
            if self.state in (CANCEL, LOST):
                return
