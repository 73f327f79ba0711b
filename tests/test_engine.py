"""The inference engine (alpaca/engine.py, alpaca/decoding.py): the fast path gives the naive
path's outputs round by round, the KV caches change nothing, options are checked."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import alpaca
from alpaca import engine
from alpaca.nn.decoding import greedy_cached, greedy_uncached

PROMPTS = ["a small red star left of a large blue square", "三个黄色的圆形", "zorblax quux flibber",
           "two green circles above a purple heart", "", "一个蓝色的星星在一个红色的正方形上面"]
SEEDS = [3, 1, 4, 1, 5, 9]


@pytest.fixture(scope="module")
def model():
    """The real model class, tiny and untrained; one torch thread, as the CI machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield alpaca.tiny_model(seed=0)
    torch.set_num_threads(threads)


def rounds_of(model, path: str, prompts=PROMPTS, seeds=SEEDS, **kw) -> list:  # noqa: ANN001
    model.engine = engine.Engine(engine.EngineOptions(path=path))
    try:
        return list(model.generate(prompts, seeds, **kw))
    finally:
        model.engine = engine.Engine()


def same_steps(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x.round == y.round and np.array_equal(x.images, y.images)
        and x.control_texts == y.control_texts and x.agreement == y.agreement and x.done == y.done
        for x, y in zip(a, b, strict=True))


def test_the_fast_path_gives_the_naive_paths_outputs_round_by_round(model):
    n = 3  # the naive path is slow on purpose
    reference = rounds_of(model, "naive", PROMPTS[:n], SEEDS[:n], rounds=2, early_exit=False)
    assert [s.round for s in reference] == [0, 1, 2]
    assert same_steps(rounds_of(model, "fast", PROMPTS[:n], SEEDS[:n], rounds=2, early_exit=False),
                      reference)


def test_early_exit_shrinks_the_batch_and_exited_items_stay_fixed(model, monkeypatch):
    fake = lambda prompt, text: 1.0 if "star" in prompt or "星" in prompt else 0.0  # noqa: E731
    monkeypatch.setattr(engine, "agreement", fake)
    steps = rounds_of(model, "fast", rounds=2)
    assert same_steps(steps, rounds_of(model, "naive", rounds=2))
    first = steps[0]
    assert first.done == [True, False, False, False, False, True]
    for s in steps:
        assert np.array_equal(s.images[0], first.images[0])
        assert s.control_texts[5] == first.control_texts[5]


def test_batch_composition_does_not_change_an_item_on_the_fast_path(model):
    together = rounds_of(model, "fast", rounds=1)[-1]
    alone = rounds_of(model, "fast", PROMPTS[3:4], SEEDS[3:4], rounds=1)[-1]
    assert np.array_equal(together.images[3], alone.images[0])
    assert together.control_texts[3] == alone.control_texts[0]


def test_cached_decoding_writes_what_the_decoder_writes_uncached(model):
    torch.manual_seed(0)
    mem = torch.randn(5, 1 + model.cfg.n_cells, model.cfg.d_model)
    tk = model.tokenizer
    prefix = torch.tensor([[tk.bos_id, tk.lang_id(lang)] for lang in "en zh en en zh".split()])
    with torch.inference_mode():
        reference = model.text_decoder.generate(mem, prefix)
        assert greedy_cached(model.text_decoder, mem, prefix) == reference
        assert greedy_uncached(model.text_decoder, mem, prefix) == reference


@pytest.mark.parametrize("shrink_below", [0.75, 1.01])
def test_cached_decoding_keeps_pointer_and_batch_shrinking_exact(model, monkeypatch, shrink_below):
    """A decoder biased to write many clause separators and to end some captions at once, so the
    pointer moves often and finished rows leave the batch (1.01: whenever any row finishes)."""
    import copy

    from alpaca.nn import decoding

    monkeypatch.setattr(decoding, "SHRINK_BELOW", shrink_below)
    torch.manual_seed(0)
    mem = torch.randn(8, 1 + model.cfg.n_cells, model.cfg.d_model)
    tk = model.tokenizer
    prefix = torch.tensor([[tk.bos_id, tk.lang_id("en" if i % 2 else "zh")] for i in range(8)])
    for eos_bias in (1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0):  # the first that ends some early
        dec = copy.deepcopy(model.text_decoder)
        with torch.no_grad():
            for sep in getattr(dec, "sep_ids", torch.tensor([])).tolist():
                if sep >= 0:
                    dec.tok_emb.weight[sep] *= 2
            dec.tok_emb.weight[dec.eos_id] *= eos_bias
        with torch.inference_mode():
            reference = dec.generate(mem, prefix)
        if len({len(r) for r in reference}) > 1:
            break
    assert len({len(r) for r in reference}) > 1
    with torch.inference_mode():
        assert greedy_cached(dec, mem, prefix) == reference
        assert greedy_uncached(dec, mem, prefix) == reference


def test_the_layout_decoder_cache_changes_no_decision(model):
    with torch.inference_mode():
        prompt = model.encode_text(PROMPTS)
        gens = lambda: [torch.Generator().manual_seed(s) for s in SEEDS]  # noqa: E731
        plain, cached = model.first_draft(prompt, gens()), model.first_draft(prompt, gens(),
                                                                             cache=True)
    for f in dataclasses.fields(plain):  # the same choices; offsets equal up to float rounding
        a, b = getattr(plain, f.name), getattr(cached, f.name)
        assert torch.equal(a, b) if f.name != "offset" else torch.allclose(a, b, atol=1e-5), f.name


def test_prepare_attaches_the_engine_and_quantized_models_still_generate():
    model = engine.prepare(alpaca.tiny_model(seed=0), engine.EngineOptions(quantize=True,
                                                                            channels_last=True))
    steps = list(model.generate(PROMPTS[:2], SEEDS[:2], rounds=1))
    assert isinstance(model.engine, engine.Engine) and model.engine.options.quantize
    assert steps[-1].images.shape == (2, 64, 64, 3) and steps[-1].images.dtype == np.uint8


@pytest.mark.parametrize("bad", [{"path": "turbo"}, {"dtype": "int4"}, {"threads": -1}])
def test_bad_engine_options_are_refused_with_the_value(bad):
    with pytest.raises(ValueError, match=str(next(iter(bad.values())))):
        engine.EngineOptions(**bad)



def test_a_model_without_an_engine_says_how_to_attach_one():
    model = alpaca.tiny_model(seed=0)
    model.engine = None
    with pytest.raises(ValueError, match="alpaca.engine.prepare"):
        model.generate(PROMPTS[:1], SEEDS[:1])


def test_the_package_exports_the_engine_options_and_prepare():
    model = alpaca.prepare(alpaca.tiny_model(seed=0), alpaca.EngineOptions(path="naive"))
    assert alpaca.EngineOptions is engine.EngineOptions and model.engine.options.path == "naive"
    with pytest.raises(AttributeError, match="no attribute 'Runtime'"):
        alpaca.Runtime  # noqa: B018
