"""alpaca.concepts: glossary rewriting, demo pairs the judge agrees with, the reading check."""

from __future__ import annotations

import numpy as np

from alpaca import domain
from alpaca.domain import judge
from alpaca.concepts import (
    DEMO_GLOSSARY, concept_checks, concept_colours, concept_items, consistent_pairs, demo_pairs,
    to_known, to_new,
)


def test_glossary_rewrites_whole_words_both_ways() -> None:
    assert to_new("an orange star on an orange background", DEMO_GLOSSARY) == (
        "an ember star on an ember background")
    assert to_known("AN Ember star", DEMO_GLOSSARY) == "AN orange star"
    assert to_new("一个橙色星星", DEMO_GLOSSARY) == "一个余烬色星星"
    assert to_new("a red star", DEMO_GLOSSARY) is None  # nothing to rewrite
    assert to_known("an embers star", DEMO_GLOSSARY) == "an embers star"  # not the word


def test_demo_pairs_state_the_new_word_and_the_judge_passes_their_renders() -> None:
    pairs = demo_pairs(DEMO_GLOSSARY, 40, seed=5)
    assert len(pairs) == 40
    for prompt, image in pairs:
        assert "ember" in prompt or "余烬色" in prompt
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        assert judge.score(image, to_known(prompt, DEMO_GLOSSARY))["pass"], prompt


def test_concept_items_stay_in_the_train_split_and_cycle_categories() -> None:
    cats = ("colours", "counting", "style", "position")
    items = concept_items(DEMO_GLOSSARY, 12, seed=1, categories=cats)
    assert [c for _, _, c, _ in items] == list(cats) * 3
    for _new, known, _cat, _scene in items:
        assert not domain.is_heldout(domain.parse(known))


class Reader:
    """Reads images by a lookup table: the true caption, or a wrong one for chosen images."""

    class cfg:  # noqa: N801 - mimics model.cfg
        image_size = 64

    def __init__(self, captions: dict[bytes, str]) -> None:
        self.captions = captions

    def read(self, images: np.ndarray, langs: list[str]) -> list[str]:
        return [self.captions[image.tobytes()] for image in images]


def test_consistent_pairs_drop_images_the_model_misreads() -> None:
    items = concept_items(DEMO_GLOSSARY, 6, seed=2)
    pairs, captions = [], {}
    for i, (new, _known, _cat, scene) in enumerate(items):
        image = domain.render(scene, 64)
        lang = "zh" if "余烬色" in new else "en"
        captions[image.tobytes()] = domain.caption(scene, lang) if i % 2 == 0 else "a blur"
        pairs.append((new, image))
    pairs.append(("a red star", pairs[1][1]))  # no new word: kept without a check
    kept = consistent_pairs(Reader(captions), pairs, DEMO_GLOSSARY)
    assert [text for text, _ in kept] == [pairs[i][0] for i in (0, 2, 4, 6)]


def test_concept_checks_are_the_constraints_on_what_the_new_word_states() -> None:
    assert concept_colours(DEMO_GLOSSARY) == {"orange"}
    text = "an orange star left of a blue circle on an orange background"
    verdict = {"constraints": [{"name": "object 0", "ok": True}, {"name": "object 1", "ok": False},
                               {"name": "total", "ok": True}, {"name": "relation", "ok": False},
                               {"name": "background", "ok": False}]}
    assert concept_checks(verdict, text, {"orange"}) == [True, False]
