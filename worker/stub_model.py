"""A stand-in model for delivery tests and benches (MODEL_BACKEND=stub): sleeps, draws a stripe.

It is a `kinds.ServableModel` standing in for the default kind's model (`kind`, `version`,
`name`, `generate(prompts, seeds, rounds, early_exit)` yielding `kinds.Step`s) but knows nothing
of text or images: each item's picture is
derived from a hash of its prompt and seed, so a redone item yields the same bytes, and every item
of a batch a different picture. It sleeps `item_seconds` per item per round to stand in for GPU
time. An empty prompt raises ValueError, as the real model does for input it cannot take.

Poison prompts, for the crash cases of docs/reliability.md: a prompt starting with `stub-crash:exit`
ends the process after the first round (`os._exit`, as a segfault or the OOM killer would), and
one starting with `stub-crash:oom` raises `OutOfMemoryError` there, as torch does when CUDA runs
out of memory.

Not for production: the worker selects it only when settings.model_backend == "stub".
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator, Sequence

import numpy as np

from kinds import DEFAULT_KIND, Step

SIZE = 32  # pixels per side
CRASH_EXIT = "stub-crash:exit"
CRASH_OOM = "stub-crash:oom"
CRASH_EXIT_CODE = 137

log = logging.getLogger(__name__)


class OutOfMemoryError(RuntimeError):
    """Stands in for torch.OutOfMemoryError (the same name; the worker matches it by name)."""


class StubModel:
    """Deterministic, cheap, sleeps per item: enough to exercise delivery, leases and storage."""

    kind = DEFAULT_KIND
    name = "stub"
    version = "stub-v1"

    def __init__(self, item_seconds: float = 0.02) -> None:
        self.item_seconds = item_seconds

    def generate(self, prompts: Sequence[str], seeds: Sequence[int], rounds: int = 3,
                 early_exit: bool = True) -> Iterator[Step]:
        if len(prompts) != len(seeds):
            raise ValueError(f"got {len(prompts)} prompts but {len(seeds)} seeds")
        for prompt in prompts:
            if not prompt.strip():
                raise ValueError("prompt is empty")
        digests = [hashlib.sha256(f"{p}\x00{s}".encode()).digest() for p, s in zip(prompts, seeds)]
        images = np.stack([_picture(d) for d in digests])  # (B, H, W, 3)
        exit_round = [d[0] % (rounds + 1) if early_exit else rounds for d in digests]
        for r in range(rounds + 1):
            if self.item_seconds > 0:  # sleep(0) would still hand the GIL to another thread
                time.sleep(self.item_seconds * len(prompts))
            if r == 0:
                _maybe_crash(prompts)
            done = [r >= e for e in exit_round]
            yield Step(
                round=r, images=images.copy(), done=done,  # images: uint8 (B, H, W, 3)
                control_texts=[f"stub round {r}: {p}" for p in prompts],
                agreement=[1.0 if d else r / (rounds + 1) for d in done],
            )


def _maybe_crash(prompts: Sequence[str]) -> None:
    """Act out a poison prompt, if the batch holds one (see the module docstring)."""
    if any(p.startswith(CRASH_EXIT) for p in prompts):
        log.critical("stub model: %s prompt, exiting the process", CRASH_EXIT)
        logging.shutdown()
        os._exit(CRASH_EXIT_CODE)
    if any(p.startswith(CRASH_OOM) for p in prompts):
        raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (stub model)")


def _picture(digest: bytes) -> np.ndarray:
    """A flat colour from the digest, with the digest itself written into the first row."""
    image = np.empty((SIZE, SIZE, 3), dtype=np.uint8)
    image[:] = np.frombuffer(digest[:3], dtype=np.uint8)
    row = np.frombuffer(digest * 3, dtype=np.uint8)[: SIZE * 3]
    image[0] = row.reshape(SIZE, 3)
    return image
