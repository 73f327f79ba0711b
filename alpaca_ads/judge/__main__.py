"""Command line: judge one banner by hand, or measure the judge on synthetic banners.

    python -m alpaca_ads.judge banner.png truth.json   # truth: brief fields + "copy"
    python -m alpaca_ads.judge --measure                # time per size, pass rates clean/broken
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

from alpaca_ads.domain.spec import SIZES, Copy, Offer
from alpaca_ads.judge.core import judge, judge_file
from alpaca_ads.judge.synthetic import Banner, draw_banner
from alpaca_ads.judge.verdict import BriefTruth

COPIES = {
    "en": Copy("Running Shoes 30% Off", "Light, fast and ready for race day", "Shop now", "en"),
    "zh": Copy("跑鞋全场七折", "轻盈缓震 限时三天", "立即抢购", "zh"),
}
TARGET = {"none": None, "low_contrast": "contrast", "icon_over_text": "overlap",
          "cut_off": ("headline_readback", "margin")}


def measure() -> None:
    """Print judge seconds per size and the pass rate of every fault's targeted check."""
    seconds: dict[str, list[float]] = defaultdict(list)
    caught: dict[str, list[bool]] = defaultdict(list)
    for size in SIZES:
        for language, copy in COPIES.items():
            truth = BriefTruth(size, language, Offer("percent_off", 30), ("running shoes", "跑鞋"))
            for fault, target in TARGET.items():
                verdict = judge(draw_banner(Banner(size, copy, fault=fault)), truth, copy)
                seconds[size].append(verdict.seconds)
                names = (target,) if isinstance(target, str) else target or ()
                passed = verdict.passed if target is None else all(
                    verdict.checks[n].passed for n in names)
                caught[fault].append(passed)
    for size, values in seconds.items():
        print(f"{size:>10}: {sum(values) / len(values):.2f} s per banner (n={len(values)})")
    for fault, values in caught.items():
        print(f"{fault:>15}: targeted check passed on {sum(values)}/{len(values)}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        measure()
        return 0
    if len(argv) != 2:
        print(__doc__)
        return 2
    verdict = judge_file(argv[0], argv[1])
    print(json.dumps(verdict.to_json(), ensure_ascii=False, indent=2))
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
