"""A second model family for the tests: "solid colour", a whole ModelKind in one file.

A prompt names a colour; the image is that colour, flat, 8x8. A checkpoint is a folder holding
`toy.json` ({"shade": int}: added to every channel, so two checkpoints draw differently). A
colour it does not know is refused (ItemRefusal "colour_unknown"); each result carries a payload
with the colour's name and RGB. Registered only where a test sets MODEL_KINDS to
"tests.toy_kind:KIND": the worker serves it with no change to worker/ (tests/test_worker_kinds.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from kinds import ItemRefusal, LoadOptions, ModelKind, Step

NAME = "toy"
COLOURS = {"red": (200, 0, 0), "green": (0, 200, 0), "blue": (0, 0, 200)}
SIZE = 8


class SolidColour:
    """A ServableModel: one round per item, done at once."""

    kind, name = NAME, "solid-colour"

    def __init__(self, shade: int, version: str) -> None:
        self.shade, self.version = shade, version

    def generate(self, prompts: Sequence[str], seeds: Sequence[int], rounds: int = 3,
                 early_exit: bool = True) -> Iterator[Step]:
        if len(prompts) != len(seeds):
            raise ValueError(f"got {len(prompts)} prompts but {len(seeds)} seeds")
        rgb = [COLOURS.get(p.strip().lower()) for p in prompts]
        yield Step(
            round=0, images=[self._draw(c or (0, 0, 0)) for c in rgb],
            control_texts=[p if c else "" for p, c in zip(prompts, rgb)],
            agreement=[1.0 if c else 0.0 for c in rgb], done=[True] * len(prompts),
            payloads=[{"colour": p.strip().lower(), "rgb": list(self._rgb(c))} if c else None
                      for p, c in zip(prompts, rgb)],
            refusals=[None if c else ItemRefusal("colour_unknown", f"no colour called {p!r}")
                      for p, c in zip(prompts, rgb)])

    def _rgb(self, colour: tuple[int, int, int]) -> tuple[int, ...]:
        return tuple(min(255, v + self.shade) for v in colour)

    def _draw(self, colour: tuple[int, int, int]) -> np.ndarray:
        return np.full((SIZE, SIZE, 3), self._rgb(colour), dtype=np.uint8)


def save(shade: int, checkpoint_dir: Path) -> str:
    """Write a checkpoint; its version (first 16 hex of the JSON's sha256, as a real kind's)."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"shade": shade}).encode()
    (checkpoint_dir / "toy.json").write_bytes(data)
    return hashlib.sha256(data).hexdigest()[:16]


def load(checkpoint_dir: str | None, options: LoadOptions) -> SolidColour:
    """The model of `checkpoint_dir` (None: shade 0)."""
    if checkpoint_dir is None:
        return SolidColour(0, "toy-default")
    data = (Path(checkpoint_dir) / "toy.json").read_bytes()
    return SolidColour(int(json.loads(data)["shade"]), hashlib.sha256(data).hexdigest()[:16])


KIND = ModelKind(name=NAME, default_model="toy", load=load,
                 description="a flat colour named by the prompt (tests only)")
