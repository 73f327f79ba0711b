"""Rendering draws exactly the design at its size; corruptions name the faults they make."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alpaca_ads.domain.briefs import sample_spec
from alpaca_ads.domain.checks import ISSUES, find_issues
from alpaca_ads.domain.corrupt import corrupt
from alpaca_ads.domain.designer import good_target
from alpaca_ads.domain.render import render, text_fits
from alpaca_ads.domain.spec import ELEMENT_ROLES, SIZES, Design, Element


def _target(size: str, lang: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    spec = dataclasses.replace(sample_spec(rng), size=size)
    spec = dataclasses.replace(spec, language=lang, event=None, product_text={
        "en": "running shoes", "zh": "跑鞋"}[lang], product="running_shoes")
    copy, design = good_target(spec, rng)
    return spec, copy, design


@pytest.mark.parametrize("size", list(SIZES))
def test_render_has_exactly_the_size(size):
    for lang in ("en", "zh"):
        _, _, design = _target(size, lang)
        image = render(design)
        assert image.mode == "RGB" and image.size == SIZES[size]


def test_render_draws_the_cta_fill_and_is_deterministic():
    _, _, design = _target("300x250", "en")
    cta = design.element("cta")
    image = render(design)
    x, y = cta.box[0] + 3, (cta.box[1] + cta.box[3]) // 2
    fill = tuple(int(cta.background[i:i + 2], 16) for i in (1, 3, 5))
    assert image.getpixel((x, y)) == fill
    assert render(design).tobytes() == image.tobytes()


def test_background_array_and_styles():
    design = Design("320x50", ("#000000", "#FFFFFF"), "vertical_gradient")
    image = render(design)
    assert image.getpixel((5, 0))[0] < 10 and image.getpixel((5, 49))[0] > 245
    low = np.zeros((5, 8, 3), np.uint8)
    low[:, 4:] = 255
    image = render(Design("728x90", ("#000000",)), background=low)
    assert image.size == (728, 90) and image.getpixel((5, 45)) == (0, 0, 0)
    with pytest.raises(ValueError, match="uint8"):
        render(Design("728x90", ("#000000",)), background=low.astype(float))
    with pytest.raises(ValueError, match="'wavy'"):
        render(Design("728x90", ("#000000", "#111111"), "wavy"))


def test_text_fits_sees_overflow():
    e = Element("headline", (10, 10, 110, 40), "#000000", text="Running shoes 30% OFF",
                font_size=24, weight="bold")
    assert not text_fits(e)
    assert text_fits(dataclasses.replace(e, box=(10, 10, 400, 60)))


def test_corrupt_names_its_faults():
    rng = np.random.default_rng(11)
    seen = set()
    for i in range(160):
        spec = sample_spec(rng)
        copy, design = good_target(spec, rng)
        bad_copy, bad_design, issues = corrupt(spec, copy, design, rng)
        assert issues and issues == find_issues(spec, bad_design)
        assert all(issue in ISSUES and role in ELEMENT_ROLES + ("background",)
                   for role, issue in issues)
        assert bad_copy.language == copy.language
        seen |= {issue for _, issue in issues}
        if i < 20:
            assert render(bad_design).size == SIZES[spec.size]
    assert seen == set(ISSUES)


def test_corrupt_is_deterministic():
    spec, copy, design = _target("1200x628", "zh", 3)
    a = corrupt(spec, copy, design, np.random.default_rng(4))
    b = corrupt(spec, copy, design, np.random.default_rng(4))
    assert a == b
