"""`make bench`: P1-P5 and the ads throughput one after another, each script's table, then the
acceptance summary.

    python -m bench.run_all [--checkpoint DIR] [--quick]

Every figure is a ratio of two things measured side by side in the same run (or a percentile of
one run), so the shared machine's other work slows both sides alike. --quick shrinks every
benchmark (for a smoke run); the acceptance figures are the full run's.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
from typing import Any

import torch

from bench import ads, p1_efficiency, p2_small_jobs, p3_runtime, p4_throughput, p5_submit
from bench.harness import median, table


def summary(results: dict[str, Any]) -> str:
    rows = []
    if "p1" in results:
        e = results["p1"]["efficiency"]
        rows.append(["P1 model time / worker wall, 1,000-item job", f"{e:.3f}", ">= 0.90", e >= 0.9])
    if "p2" in results:
        t = results["p2"]["times"]
        ratio = median(t["64 one-prompt jobs"]) / median(t["one 64-prompt job"])
        rows.append(["P2 wall, 64 one-prompt jobs / one 64-prompt job", f"{ratio:.2f}",
                     "<= 1.5", ratio <= 1.5])
    if "p3" in results:
        s = results["p3"]["speed"]
        ratio = median(s["fast"]) / median(s["naive"])
        rows.append(["P3 items/s, fast runtime / naive path", f"{ratio:.1f}x", ">= 3x", ratio >= 3])
    if "p4" in results:
        s = results["p4"]["speed"]
        ratio = median(s["system, null model"]) / median(s["raw Celery no-op"])
        rows.append(["P4 items/s system (null model) / raw Celery no-op tasks/s",
                     f"{ratio:.2f}x", f">= {p4_throughput.TARGET:g}x",
                     ratio >= p4_throughput.TARGET])
    if "p5" in results:
        p, m = results["p5"]["paced"], results["p5"]["memory"]
        ok = p["p99"] <= 50 and p["errors"] == 0
        floor = f" (a bare commit's p99: {p['commit']['p99']:.0f} ms)" if p.get("commit") else ""
        rows.append(["P5 submit p50 / p99 at 50 clients (paced), errors",
                     f"{p['p50']:.0f} / {p['p99']:.0f} ms, {p['errors']} errors{floor}",
                     "p99 <= 50 ms, 0 errors", ok])
        rows.append(["P5 worker RSS growth over 10,000 items", f"{m['growth']:+.1%}", "<= 10%",
                     m["growth"] <= 0.10])
    if "ads" in results:
        s = results["ads"]["speed"]
        a = median(s["ads"])
        rows.append(["Ads banners/s through the loop, size mix (issue 13), vs shapes model",
                     f"{a:.1f} ({a / median(s['shapes']):.2f}x shapes)", ">= 10", a >= 10])
        rows.append(ads.p1_row(results["ads"].get("p1")))
    return table("Acceptance (issues 4 and 13)", ["benchmark", "measured", "target", "met"],
                 [[*r[:3], "yes" if r[3] else "**no**"] for r in rows])


def run(checkpoint: str | None, quick: bool, only: list[str]) -> dict[str, Any]:
    steps = {
        "p1": lambda: p1_efficiency.run(200 if quick else 1000, checkpoint),
        "p2": lambda: p2_small_jobs.run(1 if quick else 3, checkpoint, off=not quick),
        "p3": lambda: p3_runtime.run(16 if quick else 32, 1 if quick else 3,
                                     32 if quick else 256, checkpoint),
        "p4": lambda: p4_throughput.run(320 if quick else 1000, 4, 1 if quick else 3),
        "p5": lambda: p5_submit.run(50, 4 if quick else 20, 2000 if quick else 10_000),
        "ads": lambda: ads.run(28 if quick else 112, 1 if quick else 3,
                               p1_items=20 if quick else 200),
    }
    reports = {"p1": p1_efficiency.report, "p2": p2_small_jobs.report, "p3": p3_runtime.report,
               "p4": p4_throughput.report, "p5": p5_submit.report,
               "ads": ads.report}
    results = {}
    for name, step in steps.items():
        if only and name not in only:
            continue
        started = time.monotonic()
        results[name] = step()
        print(reports[name](results[name]), flush=True)
        print(f"\n({name}: {time.monotonic() - started:.0f} s)\n", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__)
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: shipped)")
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--only", default="", help="comma-separated subset, e.g. p3,p4,ads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(f"# alpaca-jobs benchmarks ({platform.node()}, {torch.get_num_threads()} torch "
          f"threads available, torch {torch.__version__}; the worker runs 1 thread)\n",
          flush=True)
    started = time.monotonic()
    results = run(args.checkpoint, args.quick, [s for s in args.only.split(",") if s])
    print(summary(results))
    print(f"\n(all: {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
