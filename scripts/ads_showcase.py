"""The ads showcase under docs/ads/: 8 banners (4 English, 4 Chinese, all seven sizes between
them) and one item round by round, each judged by the OCR judge, with a Markdown index
(docs/ads/README.md).

    python -m scripts.ads_showcase [--checkpoint DIR] [--out docs/ads]

The briefs and what the judge holds them to are written here by hand; nothing is picked after
seeing the output (seed = the brief's index), so the page shows what the checkpoint does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from alpaca_ads.domain.spec import Copy
from alpaca_ads.judge import BriefTruth, Verdict, judge

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3


def _truth(size: str, lang: str, product: list[str], offer: dict | None = None,
           brand: list[str] | None = None) -> dict[str, Any]:
    return {"size": size, "language": lang, "product_words": product,
            "offer": offer or {"kind": "none"}, "brand_colors": brand or []}


def _pct(value: int, up_to: bool = False) -> dict[str, Any]:
    return {"kind": "percent_off", "value": value, "up_to": up_to}


SHOWCASE = [
    ("Summer sale on running shoes, 30% off, brand colour #FF6600, 300x250",
     _truth("300x250", "en", ["running shoes", "shoes", "sneakers"], _pct(30), ["#FF6600"])),
    ("Black Friday: headphones half price, bold, leaderboard 728x90",
     _truth("728x90", "en", ["headphones", "headphone"], _pct(50))),
    ("Coffee beans, buy one get one free, warm and friendly, square 1080x1080",
     _truth("1080x1080", "en", ["coffee beans", "coffee"], {"kind": "bogo"})),
    ("Bikes up to 40% off, brand navy #0A2540, skyscraper 160x600",
     _truth("160x600", "en", ["bikes", "bike", "bicycle"], _pct(40, True), ["#0A2540"])),
    ("双十一耳机限时五折，品牌色深蓝#0A2540，1200x628，简洁风格",
     _truth("1200x628", "zh", ["耳机"], _pct(50), ["#0A2540"])),
    ("跑鞋七折，300x600，活力风格",
     _truth("300x600", "zh", ["跑鞋", "运动鞋"], _pct(30))),
    ("咖啡豆买一送一，320x50，温暖一点",
     _truth("320x50", "zh", ["咖啡豆", "咖啡"], {"kind": "bogo"})),
    ("瑜伽垫满100减20，300x250，品牌色#6A0DAD",
     _truth("300x250", "zh", ["瑜伽垫", "瑜伽"], {"kind": "amount_off", "value": 20,
                                                    "threshold": 100}, ["#6A0DAD"])),
]


def _verdict_text(verdict: Verdict | None) -> str:
    if verdict is None:
        return "not judged"
    if verdict.passed:
        return f"**pass** (all {len(verdict.checks)} checks)"
    return "fail: " + "; ".join(f"{name}: {reason}" for name, reason in verdict.failures.items())


def _save(image, path: Path) -> None:
    Image.fromarray(image).save(path, format="PNG", optimize=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def banners(model: Any, out: Path) -> list[str]:
    """The 8 banners through the loop; Markdown sections for the index."""
    steps = list(model.generate([b for b, _ in SHOWCASE], list(range(len(SHOWCASE))), ROUNDS))
    last, lines = steps[-1], []
    for j, (brief, truth) in enumerate(SHOWCASE):
        name = f"banner-{j + 1}-{truth['language']}-{truth['size']}.png"
        if last.failures[j]:
            lines.append(f"### {j + 1}. {brief}\n\nrefused: {last.failures[j]}\n")
            continue
        copy = Copy(**last.payloads[j]["copy"])
        _save(last.images[j], out / name)
        verdict = judge(out / name, BriefTruth.from_json(truth), copy)
        lines.append(f"### {j + 1}. {truth['language']}, {truth['size']}\n\n"
                     f"Brief: {brief}\n\n![{name}]({name})\n\n"
                     f"| headline | subline | CTA |\n|---|---|---|\n| {_cell(copy.headline)} | "
                     f"{_cell(copy.subline)} | {_cell(copy.cta)} |\n\n"
                     f"Judge: {_verdict_text(verdict)}\n")
    return lines


def _first_changed(model: Any) -> int:
    """The first showcase brief whose banner the loop changes (0 when it changes none)."""
    briefs = [b for b, _ in SHOWCASE]
    steps = list(model.generate(briefs, list(range(len(briefs))), ROUNDS, early_exit=False))
    changed = [j for j in range(len(briefs)) if not steps[0].failures[j] and any(
        step.images[j] is not steps[0].images[j] for step in steps[1:])]
    return changed[0] if changed else 0


def round_by_round(model: Any, out: Path, index: int, why: str = "") -> list[str]:
    """One showcase item with early exit off: every round's banner, control text and verdict."""
    brief, truth = SHOWCASE[index]
    steps = list(model.generate([brief], [index], ROUNDS, early_exit=False))
    lines = [f"## One item round by round\n\nBrief: {brief} (seed {index}, early exit off; an "
             f"edit is kept only if the reader's agreement rises{why})\n"]
    for step in steps:
        if step.failures[0]:
            return lines + [f"refused: {step.failures[0]}\n"]
        name = f"rounds-{step.round}.png"
        _save(step.images[0], out / name)
        copy = Copy(**step.payloads[0]["copy"])
        verdict = judge(out / name, BriefTruth.from_json(truth), copy)
        lines.append(f"### Round {step.round}\n\n![{name}]({name})\n\n"
                     f"Control text: `{step.control_texts[0]}` (agreement "
                     f"{step.agreement[0]:.2f})\n\nJudge: {_verdict_text(verdict)}\n")
    return lines


def write(model: Any, out: Path, round_item: int | None = None) -> Path:
    """Every image and the index; returns the index's path."""
    out.mkdir(parents=True, exist_ok=True)
    head = [f"# Alpaca Ads showcase\n\nWritten by `python -m scripts.ads_showcase` with the "
            f"checkpoint `{model.version}` ({ROUNDS} rounds, early exit). Judge: "
            "`alpaca_ads.judge` (RapidOCR read-back, WCAG contrast, overlap, margin, brand "
            "colour, offer, product, size), reading the PNG's pixels and the copy only.\n",
            "## Eight banners\n"]
    why = "; the first of the eight whose banner the loop changes" if round_item is None else ""
    item = _first_changed(model) if round_item is None else round_item
    text = "\n".join(head + banners(model, out) + round_by_round(model, out, item, why))
    index = out / "README.md"
    index.write_text(text, encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.ads_showcase", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="ads checkpoint (default: shipped)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "ads"), help="output folder")
    parser.add_argument("--round-item", type=int, default=None, choices=range(len(SHOWCASE)),
                        help="which brief to show round by round (default: the first the loop "
                             "changes)")
    args = parser.parse_args(argv)
    import alpaca_ads

    print(write(alpaca_ads.load(args.checkpoint), Path(args.out), args.round_item))
    return 0


if __name__ == "__main__":
    sys.exit(main())
