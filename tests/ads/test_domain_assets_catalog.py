"""The installed assets load, and every word list of the catalog is usable."""

from __future__ import annotations

import numpy as np
import pytest

from alpaca_ads.domain import assets, catalog
from alpaca_ads.domain.spec import check_colour


def test_icon_pack_lists_all_slugs():
    slugs = assets.icon_slugs()
    assert len(slugs) == 7447
    assert "shoe-sneaker" in slugs and len(set(slugs)) == len(slugs)


def test_every_catalog_icon_exists():
    missing = [(p.key, s) for p in catalog.PRODUCTS for s in p.icons if not assets.icon_exists(s)]
    assert missing == []


def test_icon_image_is_coloured_rgba_at_size():
    image = assets.icon_image("coffee", 48, "#FF6600")
    assert image.mode == "RGBA" and image.size == (48, 48)
    pixels = np.asarray(image)
    solid = pixels[pixels[..., 3] == 255]
    assert len(solid) > 100 and (solid[:, :3] == (255, 102, 0)).all()
    with pytest.raises(ValueError, match="not-an-icon"):
        assets.icon_image("not-an-icon", 48, "#000000")


def test_font_sets_latin_and_chinese():
    face = assets.font(24)
    assert face.getlength("Shop now") > 40 and face.getlength("立即购买") >= 4 * 22
    with pytest.raises(ValueError):
        assets.font(0)


def test_catalog_is_consistent():
    keys = [p.key for p in catalog.PRODUCTS]
    assert len(keys) >= 80 and len(set(keys)) == len(keys)
    names = [n.casefold() for p in catalog.PRODUCTS for n in p.en + p.zh]
    assert len(names) == len(set(names)), "a name must stand for one product"
    for p in catalog.PRODUCTS:
        assert p.en and p.zh and p.icons
        assert max(map(len, p.en)) <= 21 and max(map(len, p.zh)) <= 5
        assert catalog.product_for_name(p.en[-1]) is p and catalog.product_for_name(p.zh[-1]) is p
    assert catalog.product_for_name("trainers").key == "running_shoes"
    assert catalog.product_for_name("运动鞋").key == "running_shoes"


def test_tones_colours_events():
    assert set(catalog.TONE_KEYS) >= {"bold", "minimal", "playful", "elegant", "urgent",
                                      "friendly", "premium", "neutral"}
    assert "极简" in catalog.tone("minimal").zh and "简约" in catalog.tone("minimal").zh
    for c in catalog.COLOURS:
        assert check_colour(c.hex) == c.hex and c.en and c.zh
    assert catalog.colour_name("#0A2540", "zh") == "深蓝"
    assert catalog.event_for_name("双11").key == "singles_day"
    assert catalog.event_for_name("Black Friday").key == "black_friday"
    with pytest.raises(ValueError, match="nope"):
        catalog.product("nope")
