"""The entry point shared by the worker-side service loops (`python -m worker.sweeper`,
`python -m worker.webhooks`): logging, a stop event set by SIGTERM or Ctrl-C, the process
settings, then the loop until it returns."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from config import Settings, get_settings

Loop = Callable[[Settings, threading.Event], None]


def run_until_signalled(loop: Loop) -> None:
    """Run `loop(settings, stop)`; SIGTERM and SIGINT set `stop`, and the loop ends its pass."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    loop(get_settings(), stop)
