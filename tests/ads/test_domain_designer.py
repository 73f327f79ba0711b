"""Designer targets are legible, tidy and on brief for every size and language."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from alpaca_ads.domain import catalog
from alpaca_ads.domain.briefs import sample_spec
from alpaca_ads.domain.checks import boxes_overlap, find_issues
from alpaca_ads.domain.colour import contrast, min_contrast
from alpaca_ads.domain.copywriter import LIMITS
from alpaca_ads.domain.designer import good_copy, good_design, palette
from alpaca_ads.domain.layouts import safe_margin
from alpaca_ads.domain.offers import offer_renderings
from alpaca_ads.domain.render import text_fits
from alpaca_ads.domain.spec import SIZES, Design
from alpaca_ads.domain.typeset import unwrap

CASES = list(itertools.product(SIZES, ("en", "zh")))


def _spec(rng, size, lang):
    spec = sample_spec(rng)
    text = catalog.product(spec.product).names(lang)[int(rng.integers(2))
                                                     % len(catalog.product(spec.product).names(lang))]
    event = None if spec.event is None else catalog.event_for_name(spec.event).names(lang)[0]
    return dataclasses.replace(spec, size=size, language=lang, product_text=text, event=event)


def _samples(count: int = 504):
    rng = np.random.default_rng(2026)
    for i in range(count):
        size, lang = CASES[i % len(CASES)]
        spec = _spec(rng, size, lang)
        copy = good_copy(spec, rng)
        yield spec, copy, good_design(spec, copy, rng)


def test_wcag_contrast_matches_the_notes():
    assert round(contrast("#FFFFFF", "#FF6600"), 2) == 2.94
    assert round(contrast("#FFFFFF", "#0A2540"), 1) == 15.5
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)


def test_palettes_read_on_brand_orange():
    for seed in range(20):
        for pal in palette(("#FF6600",), np.random.default_rng(seed), "bold"):
            assert min_contrast(pal.headline, pal.background) >= 4.5
            assert min_contrast(pal.subline, pal.background) >= 4.5
            assert contrast(pal.cta_label, pal.cta_fill) >= 4.5
            if pal.background[0] == "#FF6600":
                assert pal.headline != "#FFFFFF"


def test_500_targets_are_clean():
    for spec, copy, design in _samples():
        w, h = SIZES[spec.size]
        m = safe_margin(spec.size)
        assert isinstance(design, Design) and design.size == spec.size
        assert find_issues(spec, design) == [], (spec, design)
        limits = LIMITS[spec.language]
        assert len(copy.headline) <= limits["headline"] and len(copy.cta) <= limits["cta"]
        assert len(copy.subline) <= limits["subline"] and copy.language == spec.language
        assert spec.product_text.casefold() in copy.headline.casefold()
        content = [e for e in design.elements if e.role != "decoration"]
        for e in content:
            assert m <= e.box[0] < e.box[2] <= w - m and m <= e.box[1] < e.box[3] <= h - m
            assert text_fits(e)
        for a, b in itertools.combinations(content, 2):
            assert not boxes_overlap(a.box, b.box), (a.role, b.role)
        for e in design.elements:
            if e.role in ("headline", "subline"):
                assert unwrap(e.text, spec.language) == getattr(copy, e.role)
                assert min_contrast(e.colour, design.background) >= 4.5
            if e.role == "cta":
                assert e.text == copy.cta and contrast(e.colour, e.background) >= 4.5
        if spec.size == "320x50":
            assert all("\n" not in (e.text or "") for e in content)


def test_offer_is_drawn_and_copy_varies():
    headlines = set()
    for spec, copy, design in _samples(140):
        drawn = " ".join(unwrap(e.text or "", spec.language) for e in design.elements)
        if spec.offer.kind != "none":
            assert any(o in drawn for o in offer_renderings(spec.offer, spec.language))
        headlines.add(copy.headline)
    assert len(headlines) > 120


def test_brand_colour_is_visible():
    for spec, _, design in _samples(140):
        if spec.brand_colors:
            shown = {design.background[0]} | {e.colour for e in design.elements
                                              if e.role in ("decoration", "icon")} | \
                {e.background for e in design.elements if e.role == "cta"}
            assert spec.brand_colors[0] in shown


def test_same_seed_same_design():
    spec = _spec(np.random.default_rng(1), "300x250", "zh")
    a = good_design(spec, good_copy(spec, np.random.default_rng(5)), np.random.default_rng(6))
    b = good_design(spec, good_copy(spec, np.random.default_rng(5)), np.random.default_rng(6))
    assert a == b


def test_language_mismatch_is_named():
    spec = _spec(np.random.default_rng(1), "300x250", "zh")
    copy = dataclasses.replace(good_copy(spec, np.random.default_rng(0)), language="en")
    with pytest.raises(ValueError, match="'en'"):
        good_design(spec, copy, np.random.default_rng(0))
