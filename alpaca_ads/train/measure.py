"""Figures of a checkpoint on held-out briefs, without the OCR judge:
`python -m alpaca_ads.train.measure --checkpoint out/ads --n 200`.

- understanding: product span, offer, size, language and tone against the held-out specs;
- copy: product named, offer stated exactly, length limits kept (the copywriter's limits),
  distinct headlines over 4 seeds;
- refusals: share of negative briefs refused (and of held-out positives refused);
- designs: share with no issue by the domain's design checks (`checks.find_issues`, reads the
  design record, not pixels) at round 0 and after the loop; reader's verdict vs those checks;
- speed: banners per second through the loop (rounds=3, rendering included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

import numpy as np
import torch

LAYOUT_ISSUES = ("overflow", "low_contrast", "overlap", "outside_margin", "too_small")


def _copy_ok(spec, copy) -> dict[str, bool]:
    from alpaca_ads.domain.copywriter import format_limits
    from alpaca_ads.domain.offers import offer_renderings

    limit = format_limits(spec.language, spec.size)
    text = (copy.headline + " " + copy.subline).lower()
    offers = offer_renderings(spec.offer, spec.language)
    return {"product_named": spec.product_text.lower() in text,
            "offer_exact": not offers or any(o.lower() in text for o in offers),
            "limits_kept": all(len(getattr(copy, k)) <= limit[k] for k in limit)}


def _layout_issues(spec, design) -> list:
    from alpaca_ads.domain.checks import find_issues

    return [i for i in find_issues(spec, design) if i[1] in LAYOUT_ISSUES]


def understanding(model, pairs) -> dict[str, float]:
    unds, _ = model.understand([t for _, t in pairs])
    rows = [{"product": u.product.lower() == s.product_text.lower(), "offer": u.offer == s.offer,
             "size": u.size == s.size, "language": u.language == s.language,
             "tone": u.tone == s.tone, "refused": not u.understood}
            for (s, _), u in zip(pairs, unds, strict=True)]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def loop_figures(model, pairs, batch: int) -> dict[str, float]:
    from alpaca_ads.domain.checks import find_issues

    rows, n_done, t0 = [], 0, time.perf_counter()
    for i in range(0, len(pairs), batch):
        part = pairs[i: i + batch]
        steps = list(model.generate([t for _, t in part], list(range(i, i + len(part))), 3))
        n_done += len(part)
        first, last = steps[0], steps[-1]
        for j, (spec, _) in enumerate(part):
            if first.failures[j]:
                rows.append(None)
                continue
            d0 = _design(first.payloads[j]["design"])
            d1 = _design(last.payloads[j]["design"])
            copy = last.payloads[j]["copy"]
            rows.append({**_copy_ok(spec, _copy(copy)),
                         "clean_round0": not _layout_issues(spec, d0),
                         "clean_final": not _layout_issues(spec, d1),
                         "no_issue_at_all_final": not find_issues(spec, d1),
                         "icon_of_product": _icon_ok(spec, d1),
                         "reader_agrees": (first.agreement[j] >= 1.0) == (
                             not _layout_issues(spec, d0))})
    seconds = time.perf_counter() - t0
    ok = [r for r in rows if r]
    out = {k: float(np.mean([r[k] for r in ok])) for k in ok[0]} if ok else {}
    return {**out, "banners_per_s": n_done / seconds, "made": len(ok) / len(rows)}


def _icon_ok(spec, design) -> bool:
    from alpaca_ads.domain import catalog

    icon = design.element("icon")
    return bool(icon) and icon.icon in catalog.product(spec.product).icons


def _design(data):
    from alpaca_ads.domain.spec import Design

    return Design.from_json(data)


def _copy(data):
    from alpaca_ads.domain.spec import Copy

    return Copy(**data)


def distinct_headlines(model, pairs, seeds: int = 4) -> float:
    counts = []
    for spec, text in pairs:
        steps = [next(model.generate([text], [s], rounds=0)) for s in range(seeds)]
        heads = {s.payloads[0]["copy"]["headline"] for s in steps if s.payloads[0]["copy"]}
        counts.append(len(heads))
    return float(np.mean(counts))


def refusals(model, n: int) -> dict[str, float]:
    from alpaca_ads.domain.briefs import negative_brief

    rng = np.random.default_rng(4242)
    negs = [negative_brief(rng, "en" if k % 2 else "zh") for k in range(n)]
    unds, _ = model.understand([t for t, _ in negs])
    by: dict[str, list[bool]] = {}
    for (_, reason), u in zip(negs, unds, strict=True):
        by.setdefault(reason, []).append(not u.understood)
    out = {f"refused_{k}": float(np.mean(v)) for k, v in by.items()}
    return {"refused_negatives": float(np.mean([not u.understood for u in unds])), **out}


def measure(model, n: int = 200, batch: int = 16) -> dict[str, float]:
    from alpaca_ads.domain.briefs import sample_brief

    rng = np.random.default_rng(2026)
    pairs = [sample_brief(rng, "heldout") for _ in range(n)]
    with torch.inference_mode():
        out = {**understanding(model, pairs), **loop_figures(model, pairs, batch),
               "distinct_headlines_4_seeds": distinct_headlines(model, pairs[:40]),
               **refusals(model, n)}
    return {k: round(v, 4) for k, v in out.items()}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m alpaca_ads.train.measure")
    p.add_argument("--checkpoint", default=None, help="checkpoint dir (default: shipped)")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    import alpaca_ads

    model = alpaca_ads.load(args.checkpoint)
    print(json.dumps({"version": model.version, **measure(model, args.n)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
