"""P3, inference runtime: the fast path vs the naive path, items/s, same outputs, judge scores.

In this process, on one batch of N held-out briefs (3 rounds, early exit): the naive path (one
item at a time, eager, no KV cache: alpaca/engine.py with its fast paths off), the engine's fast
path, and the fast path on an int8 dynamically quantized copy. The variants
alternate (A, B, C, D, D, C, B, A, ...) and each keeps its median items/s. Outputs are compared
with the naive path's (final image bytes and control text); the pixel judge scores every
variant's final images (pass rate, and the GenEval-style mean over categories on a larger
sample for the fast path and int8, whose accuracy cost is the point).

    python -m bench.p3_runtime [--n 32] [--reps 3] [--judge-n 256] [--checkpoint DIR]
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from typing import Any

import numpy as np
import torch

from bench.harness import interleaved, median, table

TARGET = 3.0
VARIANTS = ("naive", "fast", "fast int8")


def load(checkpoint: str | None) -> tuple[Any, str]:
    import alpaca

    if checkpoint or (alpaca.DEFAULT_CHECKPOINT / "model.json").exists():
        return alpaca.load(checkpoint), f"checkpoint {checkpoint or 'default'}"
    return alpaca.tiny_model(seed=0), "the untrained tiny model (no checkpoint yet)"


def variants(model: Any) -> dict[str, Any]:
    """One model object per variant (the engine is a property of the model object)."""
    from alpaca.engine import EngineOptions, prepare

    return {"naive": prepare(copy.deepcopy(model), EngineOptions(path="naive")),
            "fast": prepare(copy.deepcopy(model), EngineOptions(path="fast")),
            "fast int8": prepare(copy.deepcopy(model), EngineOptions(path="fast", quantize=True))}


def final(model: Any, prompts: list[str], seeds: list[int], batch: int) -> tuple[np.ndarray, list]:
    images, texts = [], []
    for lo in range(0, len(prompts), batch):
        steps = list(model.generate(prompts[lo:lo + batch], seeds[lo:lo + batch], rounds=3))
        images.append(steps[-1].images)
        texts += steps[-1].control_texts
    return np.concatenate(images), texts


def judged(images: np.ndarray, items: list[tuple]) -> tuple[float, float]:
    """(share of images that pass, GenEval-style mean of the per-category pass rates)."""
    from alpaca.domain import judge
    from alpaca.evaluate import category_scores

    passes = [bool(judge.score(im, it[2])["pass"]) for im, it in zip(images, items, strict=True)]
    return float(np.mean(passes)), category_scores(passes, [it[0].category for it in items])[
        "overall"]


def run(n: int = 32, reps: int = 3, judge_n: int = 256, checkpoint: str | None = None,
        threads: int = 1) -> dict[str, Any]:
    from alpaca.evaluate import heldout_items

    torch.set_num_threads(threads)
    model, what = load(checkpoint)
    models = variants(model)
    items = heldout_items(n, seed=7)
    prompts, seeds = [it[2] for it in items], list(range(n))
    outputs: dict[str, tuple] = {}

    def timed(name: str) -> float:
        started = time.perf_counter()
        outputs[name] = final(models[name], prompts, seeds, batch=n)
        return n / (time.perf_counter() - started)

    speed = interleaved({name: (lambda name=name: timed(name)) for name in VARIANTS}, reps)
    big = heldout_items(judge_n, seed=8)
    sample = {name: judged(final(models[name], [it[2] for it in big], list(range(judge_n)),
                                 batch=32)[0], big) for name in ("fast", "fast int8")}
    return {"model": what, "n": n, "reps": reps, "judge_n": judge_n, "threads": threads,
            "speed": speed, "outputs": outputs, "items": items, "sample": sample}


def report(r: dict[str, Any]) -> str:
    naive_images, naive_texts = r["outputs"]["naive"]
    base = median(r["speed"]["naive"])
    rows = []
    for name in VARIANTS:
        images, texts = r["outputs"][name]
        same = np.mean([np.array_equal(a, b) and s == t for a, b, s, t in
                        zip(images, naive_images, texts, naive_texts, strict=True)])
        passed, _ = judged(images, r["items"])
        big = r["sample"].get(name)
        speedup = median(r["speed"][name]) / base
        rows.append([name, f"{median(r['speed'][name]):.1f}",
                     f"**{speedup:.1f}x**" if name == "fast" else f"{speedup:.1f}x",
                     f"{same:.0%}", f"{passed:.3f}",
                     f"{big[1]:.3f} ({big[0]:.3f})" if big else "", f">= {TARGET}x"
                     if name == "fast" else ""])
    return table(f"P3 runtime, {r['n']} held-out briefs in one batch, 3 rounds ({r['model']}, "
                 f"{r['threads']} thread(s), median of {r['reps']})",
                 ["path", "items/s", "vs naive", "same outputs as naive", "judge pass (timed set)",
                  f"judge GenEval mean (pass) on {r['judge_n']}", "target"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p3_runtime", description=__doc__)
    parser.add_argument("--n", type=int, default=32, help="briefs in the timed batch")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--judge-n", type=int, default=256, help="briefs for the int8 accuracy")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: shipped)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    print(report(run(args.n, args.reps, args.judge_n, args.checkpoint, args.threads)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
