"""Building fresh models: the default configuration, the tiny test configuration and the
tokenizer vocabulary, all read off the creative domain (its attribute names, palette and texts).

This is the only place where a new model meets the domain's vocabularies; a loaded model takes
everything from its checkpoint JSON instead.
"""

from __future__ import annotations

import random

import torch

from alpaca import domain
from alpaca.domain.lexicon import chinese_words
from alpaca.engine import Engine
from alpaca.nn.config import AlpacaConfig
from alpaca.nn.model import Alpaca
from alpaca.nn.tokenizer import Tokenizer

TINY = dict(d_model=32, n_heads=2, enc_layers=1, dec_layers=1, layout_layers=1, inter_layers=1,
            cnn_channels=8, painter_channels=8, max_caption_len=96)
FRAME_WORDS_ZH = ("画面", "背景", "渐变", "一个", "位于")  # the sentence frames' own Chinese words


def domain_texts(n: int, seed: int = 0) -> list[str]:
    """Prompts and captions of `n` training samples in each language (the vocabulary corpus)."""

    rng = random.Random(seed)
    texts = []
    for i in range(n):
        lang = domain.LANGS[i % len(domain.LANGS)]
        spec, scene, prompt, lang = domain.sample(rng, "train", lang=lang)
        texts += [prompt, domain.caption(scene, lang)]
    return texts


def domain_tokenizer(n: int = 4000, seed: int = 0) -> Tokenizer:
    """A vocabulary covering the domain's words in both languages, plus the fallback pieces;
    Chinese is segmented with the domain lexicon as its dictionary (one token per word)."""

    return Tokenizer.build(domain_texts(n, seed), words=[*chinese_words(), *FRAME_WORDS_ZH])


def domain_config(tokenizer: Tokenizer, **overrides) -> AlpacaConfig:
    """The default configuration for the creative domain, with `overrides` applied."""

    return AlpacaConfig(
        shapes=tuple(domain.SHAPES), colours=tuple(domain.COLOURS),
        palette=tuple(tuple(int(c) for c in rgb) for rgb in domain.COLOURS.values()),
        sizes=tuple(domain.SIZES), styles=tuple(domain.STYLES), grid=domain.GRID,
        max_objects=domain.MAX_OBJECTS, vocab_size=len(tokenizer), **overrides,
    )


def new_model(seed: int = 0, tokenizer: Tokenizer | None = None, **overrides) -> Alpaca:
    """An untrained model of the default (or overridden) configuration."""
    tokenizer = tokenizer or domain_tokenizer()
    torch.manual_seed(seed)
    model = Alpaca(domain_config(tokenizer, **overrides), tokenizer)
    model.meta = {"data": {}, "metrics": {}, "step": 0}
    model.engine = Engine()
    return model


_TINY_TOKENIZER: list[Tokenizer] = []


def tiny_model(seed: int = 0) -> Alpaca:
    """An untrained tiny configuration of the real model, built in well under a second."""
    if not _TINY_TOKENIZER:
        _TINY_TOKENIZER.append(domain_tokenizer(n=100))
    model = new_model(seed, _TINY_TOKENIZER[0], name="alpaca-tiny", **TINY)
    return model.eval()
