"""Start-up guard: a worker refuses to run on a torch older than 2.10.

The project never unpickles a checkpoint (kinds.checkpoint_files reads safetensors + JSON only, and
refuses pickled weights by name and by content). The torch floor is defence in depth for any code
path that might still reach `torch.load`: since 2.6 it defaults to `weights_only=True`, and the
releases before 2.10 carry known bypasses of that restricted unpickler. The version is read from
the installed package's metadata, so the check neither imports torch nor slows the start.

`refuse_unsafe_torch` is connected to Celery's `worker_init` signal by worker.tasks: a worker
process on an old torch exits at start-up (status 1) with the message below instead of taking jobs.
"""

from __future__ import annotations

import logging
import re
from importlib import metadata
from typing import Any

log = logging.getLogger(__name__)

MIN_TORCH = (2, 10)
UNSAFE_TORCH = ("torch {found} is older than {minimum}: its torch.load can be made to run "
                "code from a checkpoint; install torch>={minimum}")


def torch_version() -> str:
    """The installed torch's version string, e.g. '2.13.0+cpu'."""
    return metadata.version("torch")


def version_tuple(version: str) -> tuple[int, int]:
    """'2.13.0+cpu' -> (2, 13); ValueError for a string that does not start major.minor."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"not a torch version: {version!r}")
    return int(match.group(1)), int(match.group(2))


def require_safe_torch(version: str | None = None) -> str:
    """Return the torch version, or raise RuntimeError if it is below MIN_TORCH."""
    found = version if version is not None else torch_version()
    if version_tuple(found) < MIN_TORCH:
        raise RuntimeError(UNSAFE_TORCH.format(found=found,
                                               minimum=".".join(map(str, MIN_TORCH))))
    return found


def refuse_unsafe_torch(**_signal: Any) -> None:
    """`worker_init` handler: stop the worker's start-up on an unsafe torch. Celery logs and
    swallows a handler's exceptions, so this exits the process (SystemExit) instead."""
    try:
        found = require_safe_torch()
    except RuntimeError as exc:
        log.critical("refusing to start the worker: %s", exc)
        raise SystemExit(f"refusing to start the worker: {exc}") from exc
    log.info("torch %s: checkpoint loading guard ok (>= %d.%d)", found, *MIN_TORCH)
