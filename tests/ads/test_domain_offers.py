"""Offers read and written exactly: N折 is paying N tenths (七折 = 30 % off, never 70 % off)."""

from __future__ import annotations

import pytest

from alpaca_ads.domain.offers import (offer_phrasings, offer_renderings, render_offer,
                                      sample_offer_values, zhe)
from alpaca_ads.domain.spec import OFFER_KINDS, Offer


def pct(value: int, up_to: bool = False) -> Offer:
    return Offer("percent_off", value=value, up_to=up_to)


@pytest.mark.parametrize("value, chinese, digits", [
    (30, "七", "7"), (25, "七五", "7.5"), (15, "八五", "8.5"), (50, "五", "5"), (10, "九", "9"),
    (5, "九五", "9.5"), (95, "0.5", "0.5"),
])
def test_zhe_is_the_price_paid(value, chinese, digits):
    assert zhe(value, True) == chinese and zhe(value, False) == digits


def test_notes_equivalences_in_copy_and_briefs():
    assert {"7折", "七折"} <= set(offer_renderings(pct(30), "zh"))
    assert "七五折" in offer_renderings(pct(25), "zh")
    assert "八五折" in offer_renderings(pct(15), "zh")
    assert {"五折", "半价"} <= set(offer_renderings(pct(50), "zh"))
    assert "九折" in offer_renderings(pct(10), "zh")
    assert "低至四折" in offer_renderings(pct(60, True), "zh")
    assert {"七折", "立减三成", "打七折"} <= set(offer_phrasings(pct(30), "zh"))
    assert {"半价", "五折"} <= set(offer_phrasings(pct(50), "zh"))
    assert {"低至四折"} <= set(offer_phrasings(pct(60, True), "zh"))
    assert {"30% off", "30 percent off", "save 30%"} <= set(offer_phrasings(pct(30), "en"))
    assert "half price" in offer_phrasings(pct(50), "en")
    assert "up to 60% off" in offer_phrasings(pct(60, True), "en")
    assert render_offer(pct(30), "en") == "30% OFF" and render_offer(pct(30), "en", 1) == "Save 30%"
    amount = Offer("amount_off", value=20, threshold=100)
    assert render_offer(amount, "zh") == "满100减20" and "满100减20" in offer_phrasings(amount, "zh")
    assert {"买一送一"} <= set(offer_phrasings(Offer("bogo"), "zh"))
    assert {"BOGO", "buy one get one free"} <= set(offer_phrasings(Offer("bogo"), "en"))
    assert "免运费" in offer_phrasings(Offer("free_shipping"), "zh")
    assert "第二件半价" in offer_renderings(Offer("second_half_price"), "zh")
    assert render_offer(Offer(), "en") == "" and offer_phrasings(Offer(), "zh") == []


def test_thirty_off_is_never_seventy_off():
    for lang in ("en", "zh"):
        texts = offer_phrasings(pct(30), lang) + list(offer_renderings(pct(30), lang))
        assert not any("70" in t or "三折" in t or "3折" in t for t in texts)


def test_every_sampled_offer_has_words_in_both_languages():
    for kind in OFFER_KINDS:
        for i in range(15):
            offer = sample_offer_values(i, kind)
            for lang in ("en", "zh"):
                assert bool(offer_phrasings(offer, lang)) == (kind != "none")
                assert bool(offer_renderings(offer, lang)) == (kind != "none")
                assert all(len(r) <= 26 for r in offer_renderings(offer, lang))


def test_judge_reads_back_every_copy_rendering():
    offers_reader = pytest.importorskip("alpaca_ads.judge.offers")
    for kind in OFFER_KINDS:
        for i in range(15):
            offer = sample_offer_values(i, kind)
            for lang in ("en", "zh"):
                for text in offer_renderings(offer, lang):
                    assert offers_reader.read_offers(text) == [offer], text


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="'fr'"):
        offer_phrasings(pct(30), "fr")
    with pytest.raises(ValueError, match="120"):
        zhe(120, True)


def test_training_only_phrasings_extend_the_base_ones_and_mean_the_same_offer() -> None:
    from alpaca_ads.domain.offer_words import NO_OFFER, more_phrasings, spelled

    assert spelled(40) == "forty" and spelled(25) == "twenty-five" and spelled(7) == "seven"
    assert "forty percent off" in offer_phrasings(pct(40), "en", more=True)
    assert "a quarter off" in offer_phrasings(pct(25), "en", more=True)
    assert "forty percent off" not in offer_phrasings(pct(40), "en")
    assert "第二杯半价" in more_phrasings(Offer("second_half_price"), "zh")
    assert "免费配送" in more_phrasings(Offer("free_shipping"), "zh")
    assert offer_phrasings(Offer(), "en", more=True) == []  # 'none' is said by NO_OFFER words
    assert "不打折" in NO_OFFER["zh"] and "no discount" in NO_OFFER["en"]


def test_held_out_briefs_never_use_the_training_only_wordings() -> None:
    import numpy as np

    from alpaca_ads.domain import briefs
    from alpaca_ads.domain.offer_words import NO_OFFER

    rng = np.random.default_rng(3)
    for _ in range(300):
        spec, text = briefs.sample_brief(rng, "heldout")
        extra = set(offer_phrasings(spec.offer, spec.language, more=True)) - set(
            offer_phrasings(spec.offer, spec.language))
        assert not any(p in text for p in extra if len(p) > 6)
        assert not any(p in text for p in NO_OFFER[spec.language])
