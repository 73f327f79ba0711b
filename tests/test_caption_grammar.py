"""Grammar-constrained control texts (alpaca/caption_grammar.py): the automaton accepts every
caption the grammar writes, and an untrained decoder held to it writes only readable captions,
the same way on every decoding path."""

from __future__ import annotations

import random

import pytest
import torch

import alpaca
from alpaca import domain
from alpaca.nn.caption_grammar import CaptionAutomaton
from alpaca.nn.decoding import greedy_cached, greedy_uncached
from alpaca.domain.grammar import object_clause
from alpaca.domain.scene import CELLS, Placed


@pytest.fixture(scope="module")
def model():
    return alpaca.tiny_model(seed=0)


@pytest.fixture(scope="module")
def automaton(model):
    return CaptionAutomaton(model.tokenizer)


def prefix_of(model, langs: list[str]) -> torch.Tensor:
    tk = model.tokenizer
    return torch.tensor([[tk.bos_id, tk.lang_id(lang)] for lang in langs])


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_every_canonical_caption_is_allowed_token_by_token(model, automaton, split):
    rng, tk = random.Random(7), model.tokenizer
    for i in range(300):
        lang = domain.LANGS[i % 2]
        scene = domain.sample(rng, split, lang=lang)[1]
        ids = tk.encode(domain.caption(scene, lang)) + [tk.eos_id]
        cursor = automaton.begin(prefix_of(model, [lang]))
        for token in ids:
            assert automaton.allowed(cursor.rows[0])[token], (domain.caption(scene, lang),
                                                              tk.vocab[token])
            cursor.advance(torch.tensor([token]))


def test_the_grammar_forbids_a_colour_for_a_shape_and_a_seventh_or_earlier_cell(model, automaton):
    tk = model.tokenizer
    cursor = automaton.begin(prefix_of(model, ["en"]))
    for token in tk.encode("scene: red background; a small blue solid"):
        cursor.advance(torch.tensor([token]))
    allowed = automaton.allowed(cursor.rows[0])
    assert allowed[tk.index["star"]] and not allowed[tk.index["green"]]
    for token in tk.encode(" star at middle right; a small blue solid star at"):
        cursor.advance(torch.tensor([token]))
    allowed = automaton.allowed(cursor.rows[0])
    assert allowed[tk.index["bottom"]] and not allowed[tk.index["top"]]  # cells only go forward


@pytest.mark.parametrize("decode", ["generate", "cached", "uncached"])
def test_an_untrained_decoder_held_to_the_grammar_writes_readable_captions(model, automaton,
                                                                          decode):
    torch.manual_seed(0)
    langs = ["en", "zh"] * 6
    mem = torch.randn(len(langs), 1 + model.cfg.n_cells, model.cfg.d_model)
    prefix = prefix_of(model, langs)
    with torch.inference_mode():
        ids = {"generate": model.text_decoder.generate, "cached": lambda *a: greedy_cached(
            model.text_decoder, *a), "uncached": lambda *a: greedy_uncached(
            model.text_decoder, *a)}[decode](mem, prefix, automaton)
    for row in ids:
        text = model.tokenizer.decode(row)
        scene = domain.scene_from_caption(text)  # raises on anything the grammar cannot write
        cells = [CELLS.index(o.cell) for o in scene.objects]
        assert cells == sorted(set(cells)) and len(cells) <= 6, text


def test_every_decoding_path_writes_the_same_constrained_captions(model, automaton):
    torch.manual_seed(1)
    langs = ["zh", "en", "en", "zh", "en"]
    mem = torch.randn(len(langs), 1 + model.cfg.n_cells, model.cfg.d_model)
    prefix = prefix_of(model, langs)
    with torch.inference_mode():
        reference = model.text_decoder.generate(mem, prefix, automaton)
        assert greedy_cached(model.text_decoder, mem, prefix, automaton) == reference
        assert greedy_uncached(model.text_decoder, mem, prefix, automaton) == reference
        assert reference != model.text_decoder.generate(mem, prefix)  # the grammar did steer it


def test_the_model_reads_with_the_grammar_unless_told_not_to(model):
    images = domain.render(domain.sample(random.Random(3), "train", lang="en")[1],
                           model.cfg.image_size)[None]
    with torch.inference_mode():
        domain.scene_from_caption(model.read(images, ["en"])[0])
        model.constrain_captions = False
        try:
            assert model.caption_grammar() is None
        finally:
            model.constrain_captions = True


def _after_background(model, automaton, lang: str):
    cursor = automaton.begin(prefix_of(model, [lang]))
    for token in model.tokenizer.encode("scene: red background;" if lang == "en" else "画面：红色背景；"):
        cursor.advance(torch.tensor([token]))
    cursor.pin(torch.tensor([1 + CELLS.index((2, 2))]))  # the pointer chose bottom right
    return cursor


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_pinned_clause_may_only_describe_the_pointed_cell(model, automaton, lang):
    def writable(cell: tuple[int, int]) -> bool:
        cursor = _after_background(model, automaton, lang)
        clause = object_clause(Placed("star", "blue", "small", "solid", cell, 0.5, 0.5), lang)
        for token in model.tokenizer.encode(clause):
            if not automaton.allowed(cursor.rows[0])[token]:
                return False
            cursor.advance(torch.tensor([token]))
        return True

    assert writable((2, 2))
    assert not any(writable(cell) for cell in CELLS if cell != (2, 2))
