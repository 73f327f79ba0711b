"""A product word the brief misspelled is written as the icon set spells it; a word that is
spelled right, another word, a short word or Chinese is left as written."""

from __future__ import annotations

from alpaca_ads.nn.spelling import edits, respell, slug_vocabulary

SLUGS = ["headphones", "noodles", "tshirt-crew", "watch", "basketball", "candle", "tie",
         "toothbrush-electric", "microwave"]
KNOWN = slug_vocabulary(SLUGS)


def test_edits_count_a_swap_of_neighbours_as_one() -> None:
    assert edits("candels", "candles") == 1
    assert edits("headphons", "headphones") == 1
    assert edits("teis", "ties") == 1
    assert edits("shirt", "tshirt") == 1
    assert edits("watch", "watch") == 0


def test_a_misspelled_product_takes_the_slug_spelling_and_keeps_its_plural() -> None:
    assert respell("headphons", "headphones", KNOWN) == "headphones"
    assert respell("Noodels", "noodles", KNOWN) == "Noodles"
    assert respell("bsketballs", "basketball", KNOWN) == "basketballs"
    assert respell("miicrowave ovens", "microwave", KNOWN) == "microwave ovens"
    assert respell("candels", "candle", KNOWN) == "candles"


def test_a_word_spelled_right_or_another_word_is_left_alone() -> None:
    assert respell("watches", "watch", KNOWN) == "watches"  # a plural of a slug word
    assert respell("electric toothbrushes", "toothbrush-electric", KNOWN) == \
        "electric toothbrushes"
    assert respell("shirts", "tshirt-crew", KNOWN) == "shirts"  # not a typo of tshirt
    assert respell("tees", "tie", KNOWN) == "tees"  # slug words under 4 letters are not used
    assert respell("耳机", "headphones", KNOWN) == "耳机"
