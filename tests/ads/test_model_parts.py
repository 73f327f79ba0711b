"""Unit tests of the ads model's parts: tokenizer, codec (tags, copy placeholders, control
text), palette candidates, understanding heads -> offer."""

from __future__ import annotations

from alpaca_ads.domain.spec import BriefSpec, Copy, Design, Element, Offer
from alpaca_ads.nn import codec, palette
from alpaca_ads.nn.config import TAGS
from alpaca_ads.nn.tokenizer import OFFER, PRODUCT, SEP, CharTokenizer, PieceVocab, normalise
from alpaca_ads.nn.offer_reading import (read_brief_offer, read_offer, spelled_percent,
                                         up_to_as_written, whole_numbers)

SPEC = BriefSpec(product="running_shoes", product_text="running shoes",
                 offer=Offer("percent_off", 30), language="en", size="300x250",
                 brand_colors=("#FF6600",))
TEXT = "Summer sale on Running Shoes, 30% off, brand colour #FF6600, 300x250"


def test_tokenizer_lowercases_folds_full_width_and_keeps_length() -> None:
    tok = CharTokenizer.build(["跑鞋"])
    assert normalise("ＡＢ１２％") == "ab12%"
    ids = tok.encode("Run 跑鞋 ☃")
    assert len(ids) == len("Run 跑鞋 ☃")
    assert tok.decode(ids) == "run 跑鞋 "  # ☃ is <unk>, dropped on decode


def test_control_text_round_trip_and_agreement() -> None:
    tok = CharTokenizer.build([])
    text = "headline top overflow; cta bottom-right ok"
    assert tok.decode_control(tok.encode_control(text)) == text
    assert codec.parse_control(text) == {"headline": {"overflow"}, "cta": set()}
    assert codec.agreement("headline top ok; cta bottom ok") == 1.0
    assert 0.0 < codec.agreement(text) < 1.0
    assert codec.agreement("") == 0.0


def test_brief_tags_find_product_offer_colour_and_size_spans() -> None:
    tags = codec.brief_tags(normalise(TEXT), SPEC, ["30% off"], ["#FF6600"])
    found = codec.spans(TEXT, tags)
    assert found["product"] == ["Running Shoes"]
    assert found["offer"] == ["30% off"]
    assert found["colour"] == ["#FF6600"]
    assert found["size"] == ["300x250"]
    assert len(tags) == len(TEXT) and set(tags) <= set(range(len(TAGS)))


def test_copy_targets_use_placeholders_for_product_and_offer() -> None:
    tok = PieceVocab.build(["Fresh looks", "Shop now"], min_count=1)
    copy = Copy("Running Shoes 30% OFF", "Fresh looks", "Shop now")
    ids = codec.copy_ids(tok, copy, ["running shoes"], ["30% OFF"])
    assert ids.count(PRODUCT) == 1 and ids.count(OFFER) == 1 and ids.count(SEP) == 2


def test_control_text_names_positions_and_issues() -> None:
    design = Design("300x250", ("#FFFFFF",), "flat", (
        Element("headline", (20, 10, 280, 60), "#111111", text="Hi", font_size=30),
        Element("cta", (200, 190, 290, 240), "#FFFFFF", text="Go", font_size=16,
                background="#111111")))
    text = codec.control_text(design, {"headline": {"overflow"}})
    assert text == "headline top overflow; cta bottom-right ok"


def test_palette_candidates_are_fixed_length_and_contain_the_brand() -> None:
    cands = palette.candidates(("#FF6600",), 24)
    assert len(cands) == 24 and cands[0] == "#FF6600" and "#FFFFFF" in cands
    assert palette.nearest("#FE6601", cands) == 0
    assert len(palette.candidates((), 24, "#0A2540")) == 24


def test_amounts_are_read_from_the_offer_span_digits() -> None:
    head = {"offer_kind": 1, "percent": 0, "amount_order": 1, "has_threshold": 1, "up_to": 0}
    assert read_offer(head, ["满100减20"]) == Offer("amount_off", value=20, threshold=100)
    head["amount_order"] = 0
    assert read_offer(head, ["$20 off orders over $100"]) == Offer("amount_off", 20, 100)
    pct = {"offer_kind": 0, "percent": 30, "amount_order": 0, "has_threshold": 0, "up_to": 1}
    assert read_offer(pct, []) == Offer("percent_off", value=30, up_to=True)


def _widened(text: str, span: str, at: int | None = None) -> str:
    start = text.index(span) if at is None else at
    a, b = whole_numbers(text, start, start + len(span))
    return text[a:b]


def test_offer_spans_are_widened_to_the_whole_numbers_the_tagger_cut() -> None:
    assert _widened("沙发满3000减300，通栏728x90", "000减30") == "满3000减300"
    assert _widened("Offer: $10 off orders over $50.", "$10 off orders over $50") \
        == "$10 off orders over $50"
    text = "1200x628，口红满299减50"  # the tagged '2' is the offer's, not the size's
    assert _widened(text, "2", at=text.index("299")) == "满299减50"


def test_a_brief_offer_is_read_where_the_tagger_put_it() -> None:
    head = {"offer_kind": 1, "percent": 0, "amount_order": 1, "has_threshold": 1, "up_to": 0}
    text = "1200x628，口红满299减50"
    at = text.index("299")
    assert read_brief_offer(text, head, [(at, at + 1)]) == Offer("amount_off", 50, 299)
    pct = {"offer_kind": 0, "percent": 50, "amount_order": 0, "has_threshold": 0, "up_to": 1}
    text = "up to you and the team: 30% off, 300x250"  # "up to" far from the offer: none
    at = text.index("30%")
    assert read_brief_offer(text, pct, [(at, at + 7)]) == Offer("percent_off", 30)


def test_the_longest_offer_span_with_digits_holds_the_amounts() -> None:
    head = {"offer_kind": 1, "percent": 0, "amount_order": 0, "has_threshold": 1, "up_to": 0}
    assert read_offer(head, ["6", "$10 off orders over $50"]) == Offer("amount_off", 10, 50)


def test_a_percent_the_span_spells_out_is_read_as_written() -> None:
    assert [spelled_percent(s) for s in ("30% off", "六五折", "6.5折", "七折", "40 percent", "BOGO")] \
        == [30, 35, 35, 30, 40, None]
    head = {"offer_kind": 0, "percent": 50, "amount_order": 0, "has_threshold": 0, "up_to": 0}
    assert read_offer(head, ["六五折"]) == Offer("percent_off", value=35)
    assert read_offer(head, ["half price"]) == Offer("percent_off", value=50)


def test_up_to_is_read_where_the_brief_says_it() -> None:
    def up_to(text: str, span: str) -> bool:
        at = text.index(span)
        return up_to_as_written(text, at, at + len(span))

    assert not up_to("the deal is 30% off, 300x600", "30% off")
    assert up_to("sunglasses up to 60% off, 300x250", "60% off")
    assert up_to("太阳镜低至四折 300x250", "四折")
    assert up_to("跑鞋5折起，728x90", "5折")
    assert not up_to("耳机限时五折，1080x1080", "五折")


def test_soft_span_recovers_a_weakly_tagged_product() -> None:
    import numpy as np

    from alpaca_ads.nn.understand import soft_span

    text = "ad for tea, 300x250"
    logits = np.zeros((len(text), len(TAGS)))
    logits[:, 0] = 3.0  # every character's best tag is O
    logits[7, TAGS.index("B-product")] = 2.5
    logits[8:10, TAGS.index("I-product")] = 3.5
    assert soft_span(text, logits, "product") == "tea"
    logits[7, TAGS.index("B-product")] = -5.0
    assert soft_span(text, logits, "product") == ""


def test_best_span_bridges_weak_gaps_and_widens_to_whole_words() -> None:
    import numpy as np

    from alpaca_ads.nn.understand import best_span

    text = "promo: building blocks, 50% off"
    logits = np.zeros((len(text), len(TAGS)))
    logits[:, 0] = 2.0
    inside = TAGS.index("I-product")
    for i in range(9, 21):  # "ilding block": the word ends are missed
        logits[i, inside] = 4.0
    logits[15, 0] = 2.5  # one weak gap ("g" / " ") inside
    assert best_span(text, logits, "product") == "building blocks"
    logits[:, inside] = 0.0
    assert best_span(text, logits, "product") == ""
