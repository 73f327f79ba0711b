"""The tokenizer: English words, Chinese characters, and a fallback for everything unseen."""

from __future__ import annotations

import random

import pytest

from alpaca.nn.tokenizer import SPECIALS, Tokenizer, normalize

CORPUS = [
    "a small red star left of a large blue square, on a white background",
    "scene: white background; a large red solid star at top left",
    "画面：白色背景；左上角有一个大的红色实心星星",
    "三个黄色的圆形",
]


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.build(CORPUS)


@pytest.mark.parametrize("text", CORPUS)
def test_known_text_round_trips_one_token_per_word(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == normalize(text)
    assert len(ids) <= len(text.split()) * 2 + len(text)  # words, not bytes


def test_unseen_english_word_is_spelled_and_round_trips(tok):
    text = "a crimson star, left of 12 teal squares."
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert "crimson" not in tok.index and len(ids) > len(text.split())


def test_unseen_chinese_character_falls_back_to_bytes(tok):
    text = "一个龘色的星星在左边。"
    assert "龘" not in tok.index
    assert tok.decode(tok.encode(text)) == text


def test_accents_and_emoji_round_trip(tok):
    for text in ("café crème", "a star 😀"):
        assert normalize(text).replace(" ", "") == tok.decode(tok.encode(text)).replace(" ", "")


def test_upper_case_and_spacing_are_normalised(tok):
    assert tok.decode(tok.encode("  A   RED   Star ")) == "a red star"


def test_vocabulary_survives_a_json_round_trip(tok):
    import json

    again = Tokenizer(json.loads(json.dumps(tok.vocab, ensure_ascii=False)))
    assert again.encode(CORPUS[2]) == tok.encode(CORPUS[2])
    assert again.vocab[: len(SPECIALS)] == list(SPECIALS)


def test_bad_vocabulary_is_rejected():
    with pytest.raises(ValueError):
        Tokenizer(["a", "b"])


def test_every_domain_prompt_and_caption_round_trips():
    from alpaca import domain
    from alpaca.build import domain_tokenizer

    tk = domain_tokenizer(n=300)
    rng = random.Random(7)
    for _ in range(300):
        spec, scene, prompt, lang = domain.sample(rng, rng.choice(["train", "heldout"]))
        cap = domain.caption(scene, lang)
        assert domain.parse(tk.decode(tk.encode(prompt))) == domain.parse(prompt)
        assert tk.decode(tk.encode(cap)) == normalize(cap)
