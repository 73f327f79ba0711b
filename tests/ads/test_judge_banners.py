"""The judge on synthetic banners read by the real OCR: clean ones pass, each fault fails its check.

About 15 OCR reads (0.3-3 s each on 2 cores); verdicts are cached per banner across tests.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from alpaca_ads.domain.spec import SIZES, Copy, Offer
from alpaca_ads.judge import BriefTruth, Verdict, judge, judge_file
from alpaca_ads.judge.core import check_brand, check_size
from alpaca_ads.judge.synthetic import Banner, draw_banner

COPIES = {
    "en": Copy("Running Shoes 30% Off", "Light, fast and ready for race day", "Shop now", "en"),
    "zh": Copy("跑鞋全场七折", "轻盈缓震 限时三天", "立即抢购", "zh"),
}
BRAND = "#FFC233"  # the synthetic CTA button's fill
CLEAN = [(size, ("en", "zh")[i % 2]) for i, size in enumerate(SIZES)] + [("320x50", "en"), ("160x600", "zh")]


def _truth(size: str, language: str) -> BriefTruth:
    return BriefTruth(size, language, Offer("percent_off", 30), ("running shoes", "跑鞋"), (BRAND,))


@lru_cache(maxsize=None)
def _verdict(size: str, language: str, fault: str = "none") -> Verdict:
    copy = COPIES[language]
    return judge(draw_banner(Banner(size, copy, fault=fault)), _truth(size, language), copy)


@pytest.mark.parametrize("size,language", CLEAN)
def test_clean_banner_passes_every_check(size, language):
    verdict = _verdict(size, language)
    assert verdict.passed, verdict.failures
    assert set(verdict.checks) == {"size", "headline_readback", "cta_readback", "contrast", "overlap",
                                   "margin", "brand_colour", "offer", "product"}


@pytest.mark.parametrize("size,language", [("300x250", "en"), ("728x90", "zh")])
def test_low_contrast_text_fails_contrast_naming_the_text_and_ratio(size, language):
    check = _verdict(size, language, "low_contrast").checks["contrast"]
    assert not check.passed and ":1 <" in check.reason


@pytest.mark.parametrize("size,language", [("160x600", "en"), ("1200x628", "zh")])
def test_icon_over_the_headline_fails_overlap(size, language):
    check = _verdict(size, language, "icon_over_text").checks["overlap"]
    assert not check.passed, check.reason


def test_cta_inside_its_button_is_not_an_overlap():
    check = _verdict("1080x1080", "zh").checks["overlap"]
    assert check.passed, check.reason


@pytest.mark.parametrize("size,language", [("300x600", "en"), ("320x50", "zh")])
def test_headline_cut_off_at_the_edge_fails_readback_or_margin(size, language):
    checks = _verdict(size, language, "cut_off").checks
    assert not (checks["headline_readback"].passed and checks["margin"].passed)


def test_wrong_size_fails_size_and_brand_colour_needs_its_pixels():
    rgb = np.asarray(draw_banner(Banner("300x250", COPIES["en"])))
    assert not check_size(rgb, _truth("300x600", "en")).passed
    assert "300x250" in check_size(rgb, _truth("300x600", "en")).reason
    assert check_brand(rgb, _truth("300x250", "en")).passed
    other = BriefTruth("300x250", "en", brand_colors=("#00C853",))
    assert not check_brand(rgb, other).passed
    assert check_brand(rgb, BriefTruth("300x250", "en")).passed


def test_judge_file_reads_a_png_and_a_truth_json(tmp_path):
    path = tmp_path / "banner.png"
    draw_banner(Banner("320x50", COPIES["zh"])).save(path)
    truth = {"size": "320x50", "language": "zh", "product_words": ["跑鞋"],
             "offer": {"kind": "percent_off", "value": 70}, "copy": COPIES["zh"].to_json()}
    verdict = judge_file(path, truth)
    assert verdict.checks["headline_readback"].passed
    assert not verdict.checks["offer"].passed and "70% off" in verdict.checks["offer"].reason
