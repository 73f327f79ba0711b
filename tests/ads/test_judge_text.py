"""The judge's copy checks without OCR: its own offer reader, product words, normalisation, chains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alpaca_ads.domain.spec import SIZES, Copy, Offer
from alpaca_ads.judge import BriefTruth, read_offers
from alpaca_ads.judge.core import check_offer, check_product
from alpaca_ads.judge.ocr import OcrLine, merge_fragments
from alpaca_ads.judge.pixels import contrast_ratio, hex_rgb
from alpaca_ads.judge.readback import appears, copy_lines, normalise

DATA = Path(__file__).resolve().parents[2] / "alpaca_ads" / "data"

OFFERS = [
    ("30% off", Offer("percent_off", 30)), ("save 30%", Offer("percent_off", 30)),
    ("30 percent off", Offer("percent_off", 30)), ("half price", Offer("percent_off", 50)),
    ("BOGO", Offer("bogo")), ("buy one get one free", Offer("bogo")),
    ("free shipping", Offer("free_shipping")), ("$20 off orders over $100", Offer("amount_off", 20, 100)),
    ("up to 60% off", Offer("percent_off", 60, up_to=True)), ("七折", Offer("percent_off", 30)),
    ("七五折", Offer("percent_off", 25)), ("低至四折", Offer("percent_off", 60, up_to=True)),
    ("五折", Offer("percent_off", 50)), ("半价", Offer("percent_off", 50)), ("买一送一", Offer("bogo")),
    ("第二件半价", Offer("second_half_price")), ("满100减20", Offer("amount_off", 20, 100)),
    ("免运费", Offer("free_shipping")), ("立减三成", Offer("percent_off", 30)),
    ("8.5折", Offer("percent_off", 15)), ("Second pair half price", Offer("second_half_price")),
]


@pytest.mark.parametrize("text,offer", OFFERS)
def test_offer_reader_reads_each_wording_as_its_canonical_offer(text, offer):
    assert read_offers(f"Summer {text} today") == [offer]


def _truth(offer: Offer, words=("running shoes",)) -> BriefTruth:
    return BriefTruth("300x250", "en", offer=offer, product_words=words)


def test_seventy_percent_off_for_qi_zhe_fails_the_offer_check():
    check = check_offer(_truth(Offer("percent_off", 30)), Copy("跑鞋 70% off", "", "立即抢购", "zh"))
    assert not check.passed and "70% off" in check.reason and "30% off" in check.reason
    assert check_offer(_truth(Offer("percent_off", 30)), Copy("跑鞋全场七折", "", "立即抢购")).passed


def test_offer_check_fails_a_wrong_or_invented_offer_and_passes_no_offer_asked_none_given():
    assert not check_offer(_truth(Offer("percent_off", 60, up_to=True)), Copy("60% off", "", "Go")).passed
    assert not check_offer(_truth(Offer()), Copy("Shoes half price", "", "Go")).passed
    assert check_offer(_truth(Offer()), Copy("New running shoes", "", "Shop now")).passed


def test_product_check_accepts_any_product_word_and_plurals_but_not_inside_other_words():
    assert check_product(_truth(Offer(), ("running shoe",)), Copy("Running  Shoes sale", "", "Go")).passed
    assert check_product(_truth(Offer(), ("跑鞋",)), Copy("夏季跑鞋七折", "", "抢购", "zh")).passed
    assert not check_product(_truth(Offer(), ("pen",)), Copy("Open house", "", "Go")).passed


def test_normalise_drops_spaces_punctuation_case_and_width():
    assert normalise("Ｓｈｏｐ  Now!") == normalise("shopnow") == "shopnow"
    assert normalise("立即 抢购！") == "立即抢购"


def test_headline_wrapped_over_two_lines_reads_back_across_them_in_reading_order():
    lines = [OcrLine("Running Shoes", (20, 10, 200, 40), 1.0), OcrLine("30%Off", (60, 44, 160, 74), 1.0),
             OcrLine("Shopnow", (60, 200, 140, 220), 1.0)]
    assert appears("Running Shoes 30% Off", lines) and appears("Shop now", lines)
    assert not appears("30% Off Running Shoes", lines)


def test_short_reads_found_nowhere_in_the_copy_are_icons_not_text():
    copy = ["牙刷嗨购买1送1", "快乐加倍", "马上抢"]
    lines = [OcrLine(t, (0, 0, 10, 10), 0.9) for t in ("C", "。", "A/C", "马上抢", "抢", "快乐加倍啊")]
    assert [line.text for line in copy_lines(lines, copy)] == ["马上抢", "抢", "快乐加倍啊"]
    english = [OcrLine(t, (0, 0, 10, 10), 0.9) for t in ("Go!", "C", "xyzw")]
    assert [line.text for line in copy_lines(english, ["Go!", "Cakes", ""])] == ["Go!", "C", "xyzw"]


def test_fragments_of_one_line_merge_without_reading_a_letter_twice():
    merged = merge_fragments([OcrLine("Running s", (7, 29, 63, 45), 1.0), OcrLine("shoes", (56, 29, 91, 43), 1.0)])
    assert [m.text for m in merged] == ["Running shoes"]


def test_wcag_contrast_matches_the_notes():
    assert contrast_ratio(hex_rgb("#FFFFFF"), hex_rgb("#FF6600")) == pytest.approx(2.94, abs=0.01)
    assert contrast_ratio(hex_rgb("#FFFFFF"), hex_rgb("#0A2540")) == pytest.approx(15.5, abs=0.1)


def test_unseen_briefs_cover_both_languages_every_size_and_valid_truths():
    rows = [json.loads(line) for line in (DATA / "unseen_briefs.jsonl").read_text().splitlines()]
    assert len(rows) >= 300 and len({r["brief"] for r in rows}) >= 280
    assert sum(r["language"] == "zh" for r in rows) == sum(r["language"] == "en" for r in rows)
    assert {r["size"] for r in rows} == set(SIZES)
    for row in rows:
        BriefTruth.from_json(row)
        assert row["product_words"]


def test_refuse_briefs_have_a_known_reason_each():
    rows = [json.loads(line) for line in (DATA / "refuse_briefs.jsonl").read_text().splitlines()]
    assert len(rows) >= 60
    assert {r["reason"] for r in rows} == {"gibberish", "no_product", "unknown_size"}
