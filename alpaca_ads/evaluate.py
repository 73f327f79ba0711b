"""Evaluation of an ads checkpoint through the loop, judged by the independent OCR judge.

    python -m alpaca_ads.evaluate [--n 100] [--unseen] [--checkpoint DIR] [--json FILE]
    (also `python -m alpaca.evaluate --model ads`, through KIND.extras["evaluate"])

Held-out briefs (half Chinese, every size, only the held-out product/size/tone combinations and
phrasing templates of `domain.briefs`) go through `model.generate`; the judge reads the round-0
banner and the final one. Printed and written as JSON: each check's pass rate by size and by
language, pass-all at round 0 and after the loop, what the loop fixed and broke, headline
read-back per language, copy figures (offer, product, length limits, distinct headlines over 4
seeds), refusals of the hand-written gibberish / product-less / unknown-size briefs, and with
`--unseen` pass-all on the briefs no training template writes: data/unseen_briefs.jsonl
(marketer-style frames) and data/unseen_handwritten.jsonl (typed one by one). It does not train
or change the model; the tables are drawn by `eval_report`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from alpaca_ads.domain import catalog
from alpaca_ads.domain.briefs import sample_brief
from alpaca_ads.domain.copywriter import LIMITS
from alpaca_ads.domain.spec import LANGUAGES, SIZES, Copy
from alpaca_ads.judge import BriefTruth, Verdict, judge

DATA = Path(__file__).resolve().parent / "data"
UNSEEN = DATA / "unseen_briefs.jsonl"  # marketer-style frames, written apart from the grammar
HANDWRITTEN = DATA / "unseen_handwritten.jsonl"  # typed one by one (evaluation only)
UNSEEN_SETS = {"unseen": UNSEEN, "unseen_handwritten": HANDWRITTEN}
REFUSE = DATA / "refuse_briefs.jsonl"
REFUSAL_CODE = "brief_not_understood"
DISTINCT_SEEDS = 4  # seeds per brief for the distinct-headline figure
DISTINCT_WANTED = 3  # distinct headlines out of DISTINCT_SEEDS that count as variety


@dataclass(frozen=True)
class Case:
    """One brief as the model reads it, with what the judge holds it to."""

    text: str
    truth: BriefTruth


@dataclass(frozen=True)
class Outcome:
    """What the loop made of one case: refused, or the copy and the judge's two verdicts."""

    case: Case
    refusal: tuple[str, str] | None = None
    copy: Copy | None = None
    first: Verdict | None = None  # round 0
    final: Verdict | None = None  # after the loop
    agreement0: float = 0.0  # the model's own reader at round 0 (1.0: it sees no issue)


def held_out_cases(n: int, seed: int = 2026) -> list[Case]:
    """n held-out briefs: languages alternate, sizes cycle, so every cell is (nearly) even."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        lang, size = LANGUAGES[i % 2], tuple(SIZES)[(i // 2) % len(SIZES)]
        spec, text = sample_brief(rng, "heldout")
        while (spec.language, spec.size) != (lang, size):
            spec, text = sample_brief(rng, "heldout")
        words = catalog.product(spec.product).names(spec.language)
        cases.append(Case(text, BriefTruth.from_spec(spec, words)))
    return cases


def _jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def unseen_cases(path: Path = UNSEEN, limit: int | None = None) -> list[Case]:
    """The hand-written briefs no training template writes, with their truths (`limit`: the
    first half of it in English and the rest in Chinese, in file order)."""
    rows = _jsonl(path)
    if limit is not None:
        by_lang = {lang: [r for r in rows if r["language"] == lang] for lang in LANGUAGES}
        rows = by_lang["en"][:(limit + 1) // 2] + by_lang["zh"][:limit // 2]
    return [Case(row["brief"], BriefTruth.from_json(row)) for row in rows]


def _judge(image: np.ndarray, truth: BriefTruth, copy: Copy) -> Verdict:
    return judge(Image.fromarray(image), truth, copy)


def _outcome(case: Case, first, last, j: int) -> Outcome:
    if last.failures[j]:
        return Outcome(case, refusal=tuple(last.failures[j]))
    copy0, copy = Copy(**first.payloads[j]["copy"]), Copy(**last.payloads[j]["copy"])
    verdict0 = _judge(first.images[j], case.truth, copy0)
    unchanged = last.images[j] is first.images[j] and copy == copy0
    final = verdict0 if unchanged else _judge(last.images[j], case.truth, copy)
    return Outcome(case, copy=copy, first=verdict0, final=final,
                   agreement0=float(first.agreement[j]))


def run_cases(model: Any, cases: Sequence[Case], rounds: int = 3, batch: int = 16,
              seed: int = 0) -> list[Outcome]:
    """Every case through the loop (seed + its index), both ends judged."""
    outcomes = []
    for start in range(0, len(cases), batch):
        part = cases[start:start + batch]
        seeds = [seed + start + k for k in range(len(part))]
        steps = list(model.generate([c.text for c in part], seeds, rounds))
        outcomes += [_outcome(c, steps[0], steps[-1], j) for j, c in enumerate(part)]
    return outcomes


def distinct_headline_counts(model: Any, texts: Sequence[str], seeds: int = DISTINCT_SEEDS,
                             batch: int = 16) -> list[int]:
    """Per brief, how many distinct headlines `seeds` seeds write at round 0."""
    per_batch = max(1, batch // seeds)
    counts = []
    for start in range(0, len(texts), per_batch):
        part = texts[start:start + per_batch]
        items = [t for t in part for _ in range(seeds)]
        step = next(model.generate(items, list(range(seeds)) * len(part), rounds=0))
        heads = [p["copy"]["headline"] if p["copy"] else None for p in step.payloads]
        counts += [len({h for h in heads[k * seeds:(k + 1) * seeds] if h})
                   for k in range(len(part))]
    return counts


def refusal_outcomes(model: Any, path: Path = REFUSE) -> list[tuple[str, str | None]]:
    """(reason the file gives, failure code the loop answered or None) per refuse brief."""
    rows = _jsonl(path)
    step = next(model.generate([r["brief"] for r in rows], [0] * len(rows), rounds=0))
    return [(r["reason"], f[0] if f else None) for r, f in zip(rows, step.failures, strict=True)]


def limits_kept(copy: Copy) -> bool:
    """Headline, subline and CTA within the ad formats' limits of the copy's language."""
    return all(len(getattr(copy, part)) <= n for part, n in LIMITS[copy.language].items())


def _rate(flags: Sequence[bool]) -> float | None:
    return round(float(np.mean(flags)), 4) if len(flags) else None


def check_rates(outcomes: Sequence[Outcome], group) -> dict[str, dict[str, float | None]]:
    """{group value: {check name: final pass rate, ..., "pass_all": ...}} over judged outcomes."""
    judged = [o for o in outcomes if o.final]
    table = {}
    for value in dict.fromkeys(group(o) for o in judged):  # in order of first appearance
        verdicts = [o.final for o in judged if group(o) == value]
        table[value] = {name: _rate([v.checks[name].passed for v in verdicts])
                        for name in verdicts[0].checks}
        table[value]["pass_all"] = _rate([v.passed for v in verdicts])
    return table


def loop_figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Pass-all at round 0 and after the loop; fixes of round-0 failures, breaks of passes."""
    judged = [o for o in outcomes if o.final]
    failed0 = [o for o in judged if not o.first.passed]
    passed0 = [o for o in judged if o.first.passed]
    return {"items": len(outcomes), "judged": len(judged),
            "refused": len(outcomes) - len(judged),
            "pass_all_round0": _rate([o.first.passed for o in judged]),
            "pass_all_final": _rate([o.final.passed for o in judged]),
            "round0_failures": len(failed0), "fixed": sum(o.final.passed for o in failed0),
            "round0_failures_reader_saw_none": sum(o.agreement0 >= 1.0 for o in failed0),
            "fix_rate": _rate([o.final.passed for o in failed0]),
            "round0_passes": len(passed0), "broken": sum(not o.final.passed for o in passed0),
            "break_rate": _rate([not o.final.passed for o in passed0])}


def copy_figures(outcomes: Sequence[Outcome], distinct: Sequence[int]) -> dict[str, Any]:
    """Offer exact, product named, limits kept (over the judged items), headline variety."""
    judged = [o for o in outcomes if o.final]
    return {"offer_exact": _rate([o.final.checks["offer"].passed for o in judged]),
            "product_named": _rate([o.final.checks["product"].passed for o in judged]),
            "limits_kept": _rate([limits_kept(o.copy) for o in judged]),
            "distinct_headlines_briefs": len(distinct),
            f"share_{DISTINCT_WANTED}plus_distinct_of_{DISTINCT_SEEDS}":
                _rate([c >= DISTINCT_WANTED for c in distinct])}


def readback_figures(outcomes: Sequence[Outcome]) -> dict[str, float | None]:
    """Headline read back exactly by the OCR, per language, after the loop."""
    judged = [o for o in outcomes if o.final]
    return {lang: _rate([o.final.checks["headline_readback"].passed for o in judged
                         if o.case.truth.language == lang]) for lang in LANGUAGES}


def refusal_figures(answers: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    """Share of the refuse briefs answered with brief_not_understood, per reason and in all."""
    reasons = sorted({r for r, _ in answers})
    return {"briefs": len(answers),
            "refused_all": _rate([code == REFUSAL_CODE for _, code in answers]),
            **{f"refused_{r}": _rate([code == REFUSAL_CODE for q, code in answers if q == r])
               for r in reasons}}


def unseen_figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Pass-all on the hand-written briefs, in all and per language (refused count as fails)."""
    def passed(o: Outcome) -> bool:
        return bool(o.final and o.final.passed)

    return {"briefs": len(outcomes), "refused": sum(o.refusal is not None for o in outcomes),
            "pass_all": _rate([passed(o) for o in outcomes]),
            **{f"pass_all_{lang}": _rate([passed(o) for o in outcomes
                                          if o.case.truth.language == lang])
               for lang in LANGUAGES},
            "failed_checks": _failed_check_counts(outcomes)}


def _failed_check_counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        for name in (o.final.failures if o.final else {"refused": ""}):
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def evaluate(model: Any, n: int, rounds: int = 3, unseen: int | None = None,
             distinct_n: int | None = None, batch: int = 16) -> dict[str, Any]:
    """Every figure of the evaluation as a JSON-ready dict (`unseen`: how many, 0 = skip)."""
    cases = held_out_cases(n)
    outcomes = run_cases(model, cases, rounds, batch)
    texts = [c.text for c in cases[:distinct_n or n]]
    figures = {
        "model": {"name": model.name, "version": model.version}, "rounds": rounds,
        "loop": loop_figures(outcomes),
        "checks_by_size": check_rates(outcomes, lambda o: o.case.truth.size),
        "checks_by_language": check_rates(outcomes, lambda o: o.case.truth.language),
        "headline_readback": readback_figures(outcomes),
        "copy": copy_figures(outcomes, distinct_headline_counts(model, texts, batch=batch)),
        "refusals": refusal_figures(refusal_outcomes(model)),
    }
    for name, path in (UNSEEN_SETS if unseen != 0 else {}).items():
        figures[name] = unseen_figures(run_cases(model, unseen_cases(path, unseen), rounds,
                                                 batch))
    return figures


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m alpaca_ads.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: shipped)")
    p.add_argument("--n", type=_positive, default=100, help="held-out briefs (default 100)")
    p.add_argument("--rounds", type=int, default=3, help="loop rounds after round 0")
    p.add_argument("--unseen", action="store_true", help="also both sets of unseen briefs")
    p.add_argument("--unseen-n", type=_positive, default=None,
                   help="only the first N of each set (half English, half Chinese)")
    p.add_argument("--distinct-n", type=_positive, default=None,
                   help="briefs for the 4-seed distinct-headline figure (default: all n)")
    p.add_argument("--threads", type=_positive, default=1, help="torch threads")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    return p


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: evaluate, print the tables, optionally write the JSON."""
    import torch

    import alpaca_ads
    from alpaca_ads.eval_report import report

    args = _parser().parse_args(argv)
    if args.rounds < 0:
        _parser().error(f"--rounds must be >= 0, got {args.rounds}")
    torch.set_num_threads(args.threads)
    model = alpaca_ads.load(args.checkpoint)
    unseen = (args.unseen_n or None) if args.unseen else 0
    figures = evaluate(model, args.n, args.rounds, unseen, args.distinct_n)
    print(report(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n",
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
