"""Fault-injection points for the chaos tests (docs/reliability.md cases 6 and 9); inert unless set.

Each point reads its environment variable when it is reached, so a process started without it
behaves exactly as production; nothing here is a setting a deployment would ever turn on.

- `crash_after_commit(job_id)`: with FAULT_AFTER_COMMIT=1 the API process dies (`os._exit`)
  between the commit of a new job and the send of its message, the gap the sweeper covers.
- `pause_before_finalize(job_id)`: with FAULT_PAUSE_BEFORE_FINALIZE=<folder>, a worker about to
  write a job's final status creates `<folder>/<job id>` and waits until the test deletes it (at
  most PAUSE_LIMIT_SECONDS), once per job and process, so the test can take the database away
  at exactly that moment.
- `kill_after_finalize(job_id)`: with FAULT_KILL_AFTER_FINALIZE=<folder>, the first worker to
  commit a job's final status writes `<folder>/killed` (the job id) and SIGKILLs itself right
  after the commit, once per folder: nothing after the commit runs (webhooks must still go out).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 70
PAUSE_LIMIT_SECONDS = 60.0
_paused: set[str] = set()  # jobs this process already paused for


def crash_after_commit(job_id: str) -> None:
    if os.environ.get("FAULT_AFTER_COMMIT") == "1":
        log.critical("job %s: FAULT_AFTER_COMMIT: exiting after the commit, before the send",
                     job_id)
        logging.shutdown()
        os._exit(CRASH_EXIT_CODE)


def pause_before_finalize(job_id: str) -> None:
    folder = os.environ.get("FAULT_PAUSE_BEFORE_FINALIZE")
    if not folder or job_id in _paused:
        return
    _paused.add(job_id)
    marker = Path(folder) / job_id
    marker.touch()
    log.warning("job %s: FAULT_PAUSE_BEFORE_FINALIZE: waiting for %s to go", job_id, marker)
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def kill_after_finalize(job_id: str) -> None:
    folder = os.environ.get("FAULT_KILL_AFTER_FINALIZE")
    marker = Path(folder) / "killed" if folder else None
    if marker is None or marker.exists():
        return
    marker.write_text(job_id)
    log.critical("job %s: FAULT_KILL_AFTER_FINALIZE: SIGKILL right after the final commit", job_id)
    logging.shutdown()
    os.kill(os.getpid(), signal.SIGKILL)

