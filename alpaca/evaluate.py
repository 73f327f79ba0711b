"""Evaluation: `python -m alpaca.evaluate --n 1000` (`--model NAME`: another model kind's own
evaluation, registered in its kind's `extras["evaluate"]`).

On N held-out prompts (attribute combinations never trained on), the pixel judge alone scores
every round's image: per category, per language and overall (GenEval style, the mean of the
category scores) at round 0 and after the loop; the loop's fix rate (round-0 failures it
fixes) and regression rate (round-0 passes it breaks); how often the captioner's verdict
(agreement == 1) matches the judge's on generated images; images/s. Separately, the
captioner's exact accuracy on real renders, per language. The captioner's own agreement is
never used as a quality figure. Last, determinism: the same prompts and seeds through two
separate loads of the checkpoint give byte-identical PNGs, and other seeds other images.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import logging
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from alpaca import domain
from alpaca.checkpoint import load
from alpaca.domain import judge
from alpaca.domain.checks import agreement
from alpaca.nn.model import Alpaca
from kinds import get_kind, kind_of_default_model

log = logging.getLogger(__name__)

SHAPES_KIND = "shapes"  # the model kind this module evaluates (alpaca/kind.py)


def heldout_items(n: int, seed: int, categories: Sequence[str] | None = None) -> list[tuple]:
    """n (spec, scene, prompt, lang) held-out samples, categories cycling if given."""

    rng = random.Random(seed)
    cats = list(categories or [])
    return [domain.sample(rng, "heldout", category=cats[i % len(cats)] if cats else None)
            for i in range(n)]


def run_loop(model: Alpaca, prompts: list[str], seeds: list[int], rounds: int,
             batch_size: int) -> tuple[list[list[np.ndarray]], list[list[str]], float]:
    """Per item, the image and control text after every round (repeated once the item is done),
    and the wall time of the loop."""
    images = [[] for _ in prompts]
    texts = [[] for _ in prompts]
    t0 = time.perf_counter()
    for lo in range(0, len(prompts), batch_size):
        hi = min(len(prompts), lo + batch_size)
        for step in model.generate(prompts[lo:hi], seeds[lo:hi], rounds=rounds):
            for j in range(hi - lo):
                images[lo + j].append(step.images[j])
                texts[lo + j].append(step.control_texts[j])
    wall = time.perf_counter() - t0
    for im, tx in zip(images, texts, strict=True):  # early exit: the image stays fixed
        im.extend([im[-1]] * (rounds + 1 - len(im)))
        tx.extend([tx[-1]] * (rounds + 1 - len(tx)))
    return images, texts, wall


def category_scores(passes: Sequence[bool], cats: Sequence[str]) -> dict[str, float]:
    """Per-category pass rates and their mean ("overall")."""
    names = sorted({str(c) for c in cats})
    out = {cat: float(np.mean([bool(p) for p, c in zip(passes, cats, strict=True) if c == cat]))
           for cat in names}
    out["overall"] = float(np.mean([out[c] for c in names])) if names else 0.0
    return out


def judge_rounds(model: Alpaca, n: int = 1000, seed: int = 0, rounds: int = 3,
                 batch_size: int = 128, categories: Sequence[str] | None = None,
                 examples: int = 0) -> dict:
    """The judge's figures for the loop on n held-out prompts."""

    items = heldout_items(n, seed, categories)
    prompts, langs = [it[2] for it in items], [it[3] for it in items]
    cats = [it[0].category for it in items]
    seeds = [seed * 100_003 + i for i in range(n)]
    images, texts, wall = run_loop(model, prompts, seeds, rounds, batch_size)
    verdicts = [[judge.score(images[i][r], prompts[i]) for r in range(rounds + 1)]
                for i in range(n)]
    passes = np.array([[bool(v["pass"]) for v in row] for row in verdicts])  # (n, R+1)
    first, last = passes[:, 0], passes[:, -1]
    agree0 = np.array([agreement(p, t[0]) >= 1.0 for p, t in zip(prompts, texts, strict=True)])
    out = {
        "n": n, "rounds": rounds, "seed": seed,
        "round0": category_scores(first, cats), "final": category_scores(last, cats),
        "per_round_overall": [category_scores(passes[:, r], cats)["overall"]
                              for r in range(rounds + 1)],
        "per_language": {lang: {"round0": category_scores(first[m], np.array(cats)[m]),
                                "final": category_scores(last[m], np.array(cats)[m])}
                         for lang in sorted(set(langs))
                         for m in [np.array(langs) == lang]},
        "round0_failures": int((~first).sum()), "fixed": int((~first & last).sum()),
        "round0_passes": int(first.sum()), "broken": int((first & ~last).sum()),
        "captioner_agreement": float((agree0 == first).mean()),
        "images_per_s": n / wall, "wall_s": wall,
    }
    out["overall_round0"], out["overall_final"] = out["round0"]["overall"], out["final"]["overall"]
    out["fix_rate"] = out["fixed"] / max(1, out["round0_failures"])
    out["regression_rate"] = out["broken"] / max(1, out["round0_passes"])
    out["examples"] = _examples(prompts, texts, verdicts, first, last, examples)
    return out


def _examples(prompts, texts, verdicts, first, last, k: int) -> list[dict]:
    """Up to k items the loop fixed, round by round."""
    fixed = [i for i in range(len(prompts)) if not first[i] and last[i]][:k]
    return [{"prompt": prompts[i], "rounds": [
        {"control_text": texts[i][r], "judge_pass": bool(verdicts[i][r]["pass"]),
         "judge_reason": str(verdicts[i][r].get("reason", ""))} for r in range(len(texts[i]))]}
        for i in fixed]


def captioner_accuracy(model: Alpaca, n: int = 1000, seed: int = 1, split: str = "heldout",
                       batch_size: int = 256) -> dict[str, float]:
    """Exact-match rate of the control text on real renders, per language."""

    rng = random.Random(seed)
    out = {}
    for lang in domain.LANGS:
        scenes = [domain.sample(rng, split, lang=lang)[1] for _ in range(n)]
        truth = [domain.caption(s, lang) for s in scenes]
        said = []
        with torch.inference_mode():
            for lo in range(0, n, batch_size):
                batch = np.stack([domain.render(s, model.cfg.image_size)
                                  for s in scenes[lo:lo + batch_size]])
                said += model.read(batch, [lang] * len(batch))
        out[lang] = float(np.mean([a == b for a, b in zip(said, truth, strict=True)]))
    return out


def table(report: dict) -> str:
    """A Markdown table of the report: categories x (round 0, after the loop), per language."""
    langs = sorted(report["per_language"])
    head = ["category", "round 0", "after loop"] + [f"{l} r0 / after" for l in langs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for cat in [c for c in report["round0"] if c != "overall"] + ["overall"]:
        row = [cat, f"{report['round0'][cat]:.3f}", f"{report['final'][cat]:.3f}"]
        for lang in langs:
            per = report["per_language"][lang]
            row.append(f"{per['round0'].get(cat, float('nan')):.3f} / "
                       f"{per['final'].get(cat, float('nan')):.3f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def png_bytes(image: np.ndarray) -> bytes:
    """The image as PNG bytes (Pillow's defaults, as the worker stores it)."""

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def determinism(load_model: Callable[[], Alpaca], n: int = 50, rounds: int = 3,
                seed: int = 2) -> dict[str, int]:
    """Final PNGs of n held-out prompts through two separate loads with the same seeds, and
    through a third with other seeds: how many are byte-identical, how many differ."""
    prompts = [prompt for _, _, prompt, _ in heldout_items(n, seed)]

    def final_pngs(seeds: list[int]) -> list[bytes]:
        images, _, _ = run_loop(load_model(), prompts, seeds, rounds, batch_size=64)
        return [png_bytes(per_round[-1]) for per_round in images]

    first, again = final_pngs(list(range(n))), final_pngs(list(range(n)))
    other = final_pngs(list(range(n, 2 * n)))
    return {"n": n, "identical": sum(a == b for a, b in zip(first, again, strict=True)),
            "different": sum(a != c for a, c in zip(first, other, strict=True))}


def summary(report: dict) -> str:
    r = report
    lines = [
        table(r), "",
        f"overall by round: {', '.join(f'{x:.3f}' for x in r['per_round_overall'])}",
        f"loop fixes {r['fixed']}/{r['round0_failures']} round-0 failures "
        f"({r['fix_rate']:.1%}), breaks {r['broken']}/{r['round0_passes']} passes "
        f"({r['regression_rate']:.1%})",
        f"captioner verdict agrees with the judge on {r['captioner_agreement']:.1%} "
        "of round-0 images",
        f"throughput: {r['images_per_s']:.1f} prompts/s through the {r['rounds']}-round loop "
        f"({r['wall_s']:.1f} s for {r['n']})",
    ]
    if "captioner_exact" in r:
        lines.append("captioner exact accuracy on real renders: " + ", ".join(
            f"{k} {v:.3f}" for k, v in r["captioner_exact"].items()))
    if "determinism" in r:
        d = r["determinism"]
        lines.append(f"determinism: same prompt, seed and checkpoint (two loads) -> byte-identical "
                     f"PNGs for {d['identical']}/{d['n']}; other seeds -> different images for "
                     f"{d['different']}/{d['n']}")
    return "\n".join(lines)


def other_kind_evaluation(model: str) -> Callable[[list[str]], Any] | None:
    """The evaluation entry point of the model kind `model` names (a kind's name, or the name of
    its shipped default model), from its `extras["evaluate"]` (a callable taking argv, or a
    "module:function" string); None for the shapes kind, which this module evaluates."""

    kind = kind_of_default_model(model) or get_kind(model)
    if kind.name == SHAPES_KIND:
        return None
    target = kind.extras.get("evaluate")
    if target is None:
        raise ValueError(f"model kind {kind.name!r} registers no evaluation (extras['evaluate'])")
    if callable(target):
        return target
    module_name, _, function = str(target).partition(":")
    if not module_name or not function:
        raise ValueError(f"{kind.name}'s evaluation {target!r} must be written module:function")
    return getattr(importlib.import_module(module_name), function)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--model", default=None)
    known, rest = first.parse_known_args(argv)
    if known.model is not None:
        try:
            other = other_kind_evaluation(known.model)
        except (LookupError, ValueError) as exc:
            raise SystemExit(f"python -m alpaca.evaluate: {exc}") from None
        if other is not None:
            return int(other(rest) or 0)
    return evaluate_shapes(arguments().parse_args(rest))


def arguments() -> argparse.ArgumentParser:
    """The command line of the shapes model's evaluation."""
    p = argparse.ArgumentParser(prog="python -m alpaca.evaluate", description=__doc__)
    p.add_argument("--model", default=None, help="a model kind or its default model's name "
                   "(default: shapes); another kind runs its own evaluation with the other "
                   "arguments")
    p.add_argument("--checkpoint", default=None, help="checkpoint directory (default: shipped)")
    p.add_argument("--n", type=int, default=1000, help="held-out prompts")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--categories", default="", help="comma-separated categories (default: all)")
    p.add_argument("--caption-n", type=int, default=None, help="renders per language (default n)")
    p.add_argument("--examples", type=int, default=3, help="fixed items to show round by round")
    p.add_argument("--json", default=None, help="write the full report here")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--determinism", type=int, default=50, help="prompts for the check (0: skip)")
    return p


def evaluate_shapes(args: argparse.Namespace) -> int:
    """The judge's figures for a shapes checkpoint, printed (and written as JSON with --json)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.threads:
        torch.set_num_threads(args.threads)

    model = load(args.checkpoint)
    cats = [c for c in args.categories.split(",") if c] or None
    report = judge_rounds(model, args.n, args.seed, args.rounds, args.batch_size, cats,
                          examples=args.examples)
    report["captioner_exact"] = captioner_accuracy(model, args.caption_n or args.n, args.seed + 1)
    if args.determinism:
        report["determinism"] = determinism(lambda: load(args.checkpoint), args.determinism,
                                            args.rounds)
    report["model"] = {"name": model.name, "version": model.version}
    print(f"model {model.name} version {model.version}")
    print(summary(report))
    for ex in report["examples"]:
        print(f"\nfixed item: {ex['prompt']}")
        for r, rd in enumerate(ex["rounds"]):
            verdict = "pass" if rd["judge_pass"] else "fail"
            print(f"  round {r}: {rd['control_text']}  -> judge {verdict}: {rd['judge_reason']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
