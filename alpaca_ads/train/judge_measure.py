"""The OCR judge's figures of a checkpoint on held-out briefs, round 0 and after the loop:
`python -m alpaca_ads.train.judge_measure --n 100 --threads 1`.

The briefs are the brief designer's held-out split (the same rng as `measure`, so the two scripts
see the same briefs), or with --unseen those of data/unseen_briefs.jsonl; each banner is judged from its pixels and copy (`alpaca_ads.judge`). Prints
pass-all, every check's pass rate by language, the loop's fixes and breaks, and the refusal rate
on data/refuse_briefs.jsonl. A quick figure for development, not the project's evaluation command.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parents[1] / "data"
REFUSE_FILE = DATA / "refuse_briefs.jsonl"
UNSEEN_FILE = DATA / "unseen_briefs.jsonl"


def _truth(spec):
    from alpaca_ads.domain import catalog
    from alpaca_ads.judge.verdict import BriefTruth

    return BriefTruth.from_spec(spec, catalog.product(spec.product).names(spec.language))


def _verdict(step, j, truth):
    from alpaca_ads.domain.spec import Copy
    from alpaca_ads.judge.core import judge
    from PIL import Image

    copy = Copy(**step.payloads[j]["copy"])
    return judge(Image.fromarray(step.images[j]), truth, copy)


def designer_briefs(n: int) -> list[tuple[object, str]]:
    """(truth, brief) of the brief designer's first `n` held-out briefs (rng 2026)."""
    from alpaca_ads.domain.briefs import sample_brief

    rng = np.random.default_rng(2026)
    pairs = [sample_brief(rng, "heldout") for _ in range(n)]
    return [(_truth(spec), text) for spec, text in pairs]


def unseen_briefs(n: int) -> list[tuple[object, str]]:
    """(truth, brief) of `n` briefs of data/unseen_briefs.jsonl, spread over the file (both
    languages), written apart from the brief designer's grammar."""
    from alpaca_ads.judge.verdict import BriefTruth

    rows = [json.loads(line) for line in UNSEEN_FILE.read_text().splitlines() if line]
    step = max(1, len(rows) // n)
    return [(BriefTruth.from_json(r), r["brief"]) for r in rows[::step][:n]]


def judged_rows(model, pairs, batch: int) -> list[dict]:
    """Per brief: its language, refused or not, and the round-0 and final verdicts."""
    rows = []
    for i in range(0, len(pairs), batch):
        part = pairs[i: i + batch]
        steps = list(model.generate([t for _, t in part], list(range(i, i + len(part))), 3))
        for j, (truth, _) in enumerate(part):
            if steps[0].failures[j]:
                rows.append({"language": truth.language, "refused": True})
                continue
            rows.append({"language": truth.language, "refused": False,
                         "first": _verdict(steps[0], j, truth),
                         "final": _verdict(steps[-1], j, truth)})
    return rows


def summarise(rows: list[dict]) -> dict[str, float]:
    """Pass-all, per-check rates by language, loop fixes / breaks."""
    made = [r for r in rows if not r["refused"]]
    out = {"refused_heldout": sum(r["refused"] for r in rows) / len(rows),
           "pass_all_round0": float(np.mean([r["first"].passed for r in made])),
           "pass_all_final": float(np.mean([r["final"].passed for r in made]))}
    by: dict[str, list[bool]] = defaultdict(list)
    for r in made:
        for name, check in r["final"].checks.items():
            by[f"{name}_{r['language']}"].append(check.passed)
    out.update({k: float(np.mean(v)) for k, v in sorted(by.items())})
    failed0 = [r for r in made if not r["first"].passed]
    passed0 = [r for r in made if r["first"].passed]
    out["loop_fixes"] = float(np.mean([r["final"].passed for r in failed0])) if failed0 else 1.0
    out["loop_breaks"] = float(np.mean([not r["final"].passed for r in passed0])) if passed0 else 0.0
    return out


def refused_file(model) -> float:
    """Share of data/refuse_briefs.jsonl refused with brief_not_understood."""
    briefs = [json.loads(line)["brief"] for line in REFUSE_FILE.read_text().splitlines() if line]
    unds, _ = model.understand(briefs)
    return float(np.mean([not u.understood for u in unds]))


def failure_reasons(rows: list[dict], limit: int = 12) -> list[str]:
    """A few final-round failure reasons, then the checks each break of the loop failed."""
    made = [r for r in rows if not r["refused"]]
    reasons = [f"{name}: {why}" for r in made for name, why in r["final"].failures.items()]
    breaks = [f"loop broke {', '.join(r['final'].failures)}" for r in made
              if r["first"].passed and not r["final"].passed]
    return reasons[:limit] + breaks


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m alpaca_ads.train.judge_measure")
    p.add_argument("--checkpoint", default=None, help="checkpoint dir (default: shipped)")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reasons", action="store_true", help="also print some failure reasons")
    p.add_argument("--unseen", action="store_true",
                   help="briefs of data/unseen_briefs.jsonl instead of the designer's held-out")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    import alpaca_ads

    model = alpaca_ads.load(args.checkpoint)
    pairs = (unseen_briefs if args.unseen else designer_briefs)(args.n)
    with torch.inference_mode():
        rows = judged_rows(model, pairs, batch=16)
        out = {**summarise(rows), "refused_refuse_file": refused_file(model)}
    print(json.dumps({"version": model.version, **{k: round(v, 4) for k, v in out.items()}},
                     indent=1))
    if args.reasons:
        print("\n".join(failure_reasons(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
