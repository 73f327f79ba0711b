"""Behaviour check for the inference loop: one sha256 per path over every round's PNG.

On N held-out prompts (seeds 0..N-1, the shipped default checkpoint unless --checkpoint), each
path (bare: the model's own `generate`; fast; naive) runs the multi-round loop, and the PNG
bytes of every item's image after every round (repeated once the item is done) are hashed in
order. A refactor of the loop must leave all three hashes unchanged; the same lines also show
whether the paths agree with each other.

    python -m bench.png_hashes [--n 200] [--rounds 3] [--paths bare,fast,naive]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from typing import Any

import alpaca
from alpaca.evaluate import heldout_items, png_bytes, run_loop

PATHS = ("bare", "fast", "naive")


def model_for(path: str, checkpoint: str | None) -> Any:
    """A fresh load of the checkpoint set up to run `path`."""
    from alpaca.engine import EngineOptions, prepare

    model = alpaca.load(checkpoint)
    if path == "bare":
        return model
    return prepare(model, EngineOptions(path=path))


def png_hash(model: Any, prompts: list[str], rounds: int, batch_size: int) -> str:
    """sha256 over the PNG of every item after every round, items in order."""
    images, _, _ = run_loop(model, prompts, list(range(len(prompts))), rounds, batch_size)
    digest = hashlib.sha256()
    for per_round in images:
        for image in per_round:
            digest.update(png_bytes(image))
    return digest.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.png_hashes", description=__doc__)
    p.add_argument("--n", type=int, default=200, help="held-out prompts")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--paths", default=",".join(PATHS))
    p.add_argument("--checkpoint", default=None)
    args = p.parse_args(argv)
    paths = [x for x in args.paths.split(",") if x]
    unknown = sorted(set(paths) - set(PATHS))
    if unknown:
        p.error(f"unknown paths {unknown}; choose from {PATHS}")
    prompts = [prompt for _, _, prompt, _ in heldout_items(args.n, seed=0)]
    for path in paths:
        model = model_for(path, args.checkpoint)
        print(f"{path}: {png_hash(model, prompts, args.rounds, args.batch_size)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
