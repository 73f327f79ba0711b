"""GPU throughput of the generate loop: images/s by batch size, eager vs torch.compile, fp32 vs
bf16 (autocast), on one device. Run it through bench/gpu.sh on a lent GPU.

For each batch size, the four variants alternate (fp32 eager, fp32 compiled, bf16 eager, bf16
compiled) and each keeps its median over --reps timed calls after one warm-up call (whose time,
compilation included, is reported). A call is the whole product path: `model.generate(prompts,
seeds, rounds=3)` on the fast runtime, images copied back to the host. Also reported: peak device
memory, and how many final images and control texts equal fp32 eager's (bf16 may flip a colour
decision; the pixel judge's pass rate says whether that costs accuracy).

    python -m bench.gpu [--batch-sizes 1,16,64,256] [--reps 3] [--budget-s 420]
    python -m bench.gpu --dry-run        # on the CPU, tiny sizes: checks the script itself
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

VARIANTS = {"fp32 eager": (None, False), "fp32 compiled": (None, True),
            "bf16 eager": ("bf16", False), "bf16 compiled": ("bf16", True)}


def load_variants(checkpoint: str | None, device: str, names: list[str]) -> tuple[dict, str]:
    import alpaca
    from alpaca.engine import EngineOptions, prepare

    shipped = (alpaca.DEFAULT_CHECKPOINT / "model.json").exists()
    what = f"checkpoint {checkpoint or 'default'}" if checkpoint or shipped else "tiny model"
    models = {}
    for name in names:
        dtype, compiled = VARIANTS[name]
        model = (alpaca.load(checkpoint, device=device) if checkpoint or shipped
                 else alpaca.tiny_model(seed=0).to(device))
        models[name] = prepare(model, EngineOptions(dtype=dtype, compile=compiled))
    return models, what


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def call(model: Any, prompts: list[str], device: str) -> tuple[float, Any]:
    sync(device)
    started = time.perf_counter()
    steps = list(model.generate(prompts, list(range(len(prompts))), rounds=3))
    sync(device)
    return time.perf_counter() - started, steps[-1]


def measure(models: dict, prompts: list[str], device: str, reps: int) -> dict[str, dict]:
    """Warm-up then `reps` alternating timed calls per variant, for one batch size."""
    out: dict[str, dict] = {}
    for name, model in models.items():
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        first, last = call(model, prompts, device)
        out[name] = {"first_s": first, "times": [], "last": last}
    for rep in range(reps):
        for name in list(models) if rep % 2 == 0 else list(models)[::-1]:
            out[name]["times"].append(call(models[name], prompts, device)[0])
    for name, row in out.items():
        row["images_per_s"] = len(prompts) / statistics.median(row["times"])
        row["peak_mb"] = (torch.cuda.max_memory_allocated() / 2**20
                          if device.startswith("cuda") else float("nan"))
    return out


def same_as(a: Any, b: Any) -> float:
    return float(np.mean([np.array_equal(x, y) and s == t for x, y, s, t in zip(
        a.images, b.images, a.control_texts, b.control_texts, strict=True)]))


def judge_pass(step: Any, prompts: list[str]) -> float:
    from alpaca.domain import judge

    return float(np.mean([bool(judge.score(im, p)["pass"]) for im, p in zip(step.images,
                                                                             prompts)]))


def briefs(n: int) -> list[str]:
    import random

    from alpaca import domain

    rng = random.Random(11)
    return [domain.sample(rng, "heldout")[2] for _ in range(n)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    models, what = load_variants(args.checkpoint, args.device, args.variants)
    results = {"device": device_name(args.device), "model": what, "rows": {}}
    for b in args.batch_sizes:
        if time.monotonic() - started > args.budget_s:
            log.warning("budget of %d s spent; skipping batch sizes from %d on", args.budget_s, b)
            break
        prompts = briefs(b)
        rows = measure(models, prompts, args.device, args.reps)
        base = rows[args.variants[0]]["last"]
        for name, row in rows.items():
            row["same_as_first"] = same_as(row["last"], base)
            row["judge_pass"] = judge_pass(row.pop("last"), prompts)
        results["rows"][b] = rows
        log.info("batch %d done at %.0f s", b, time.monotonic() - started)
    return results


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    return f"{device} (torch {torch.__version__}, {torch.get_num_threads()} threads)"


def report(r: dict[str, Any], variants: list[str]) -> str:
    head = ["batch", *[f"{v} img/s" for v in variants], "first call s", "peak MB",
            f"same as {variants[0]}", "judge pass"]
    lines = [f"### GPU benchmark: {r['device']}, {r['model']}, 3 rounds", "",
             f"(the last four columns list the variants in the order {', '.join(variants)})", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for b, rows in r["rows"].items():
        cells = [str(b), *[f"{rows[v]['images_per_s']:.1f}" for v in variants],
                 ", ".join(f"{rows[v]['first_s']:.1f}" for v in variants),
                 ", ".join("-" if np.isnan(rows[v]["peak_mb"]) else f"{rows[v]['peak_mb']:.0f}"
                           for v in variants),
                 ", ".join(f"{rows[v]['same_as_first']:.0%}" for v in variants),
                 ", ".join(f"{rows[v]['judge_pass']:.2f}" for v in variants)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--batch-sizes", default="1,16,64,256")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: shipped)")
    p.add_argument("--budget-s", type=int, default=420, help="start no batch size after this")
    p.add_argument("--dry-run", action="store_true", help="CPU, batch sizes 1,4, one rep")
    args = p.parse_args(argv)
    if args.dry_run:
        args.device, args.batch_sizes, args.reps = "cpu", "1,4", 1
        torch.set_num_threads(1)  # a shared CPU: see alpaca.engine.EngineOptions.threads
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    args.variants = [v.strip() for v in args.variants.split(",")]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("no CUDA device here (torch.cuda.is_available() is False); try --dry-run")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    results = run(args)
    print(report(results, args.variants))
    out = os.environ.get("OUT")
    if out:
        Path(out, "gpu.json").write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
