"""The independent judge of ads banners: reads the PNG's pixels (RapidOCR for the text) and the copy.

    from alpaca_ads.judge import BriefTruth, judge
    verdict = judge(png_bytes, BriefTruth(size="300x250", language="en", ...), copy)
    verdict.passed, verdict.checks["contrast"].reason

Checks: size, headline_readback, cta_readback, contrast, overlap, margin, brand_colour, offer,
product. It imports the shared types of `alpaca_ads.domain.spec` only: never the renderer, the
designer or the model, and never the design JSON.
"""

from alpaca_ads.judge.core import judge, judge_file
from alpaca_ads.judge.offers import read_offers
from alpaca_ads.judge.verdict import BriefTruth, Check, Verdict

__all__ = ["BriefTruth", "Check", "Verdict", "judge", "judge_file", "read_offers"]
