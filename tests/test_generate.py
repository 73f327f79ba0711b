"""The generate loop's contract (alpaca/engine.py): types and shapes per round, early exit, determinism, seeds."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import alpaca
from kinds import Step

PROMPTS = ["a small red star left of a large blue square", "三个黄色的圆形",
           "zorblax quux flibber", ""]


@pytest.fixture(scope="module")
def model():
    return alpaca.tiny_model(seed=0)


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def test_each_round_yields_images_texts_agreement_and_done(model):
    steps = list(model.generate(PROMPTS, [1, 2, 3, 4], rounds=2))
    assert [s.round for s in steps] == [0, 1, 2]
    for s in steps:
        assert isinstance(s, Step)
        assert s.images.shape == (4, 64, 64, 3) and s.images.dtype == np.uint8
        assert len(s.control_texts) == 4 and all(isinstance(t, str) for t in s.control_texts)
        assert len(s.agreement) == 4 and all(0.0 <= a <= 1.0 for a in s.agreement)
        assert len(s.done) == 4 and all(isinstance(d, bool) for d in s.done)


def test_zero_rounds_yields_only_the_first_image(model):
    assert [s.round for s in model.generate(["a blue star"], [0], rounds=0)] == [0]


def test_same_prompt_seed_and_checkpoint_give_byte_identical_pngs(model):
    a = [png(im) for s in model.generate(PROMPTS, [5, 6, 7, 8], rounds=1) for im in s.images]
    b = [png(im) for s in model.generate(PROMPTS, [5, 6, 7, 8], rounds=1) for im in s.images]
    assert a == b


def test_batch_composition_does_not_change_an_item(model):
    together = list(model.generate(PROMPTS[:3], [11, 12, 13], rounds=1))[-1].images
    alone = list(model.generate(PROMPTS[1:2], [12], rounds=1))[-1].images
    assert png(together[1]) == png(alone[0])


def test_different_seeds_give_different_images(model):
    first = [s.images for s in model.generate(["a red star"] * 4, [1, 2, 3, 4], rounds=0)][0]
    assert len({png(im) for im in first}) > 1


def test_unparseable_prompts_still_generate_with_zero_agreement(model):
    step = next(iter(model.generate(["zorblax quux flibber"], [0], rounds=0)))
    assert step.images.shape == (1, 64, 64, 3) and step.agreement == [0.0]


def test_agreeing_items_exit_early_and_stay_fixed(model, monkeypatch):
    import alpaca.engine as gen

    monkeypatch.setattr(gen, "agreement", lambda prompt, text: 1.0 if "star" in prompt else 0.0)
    steps = list(model.generate(["a red star", "a blue square"], [1, 2], rounds=3))
    assert len(steps) == 4 and [s.done for s in steps] == [[True, False]] * 4
    assert all(np.array_equal(s.images[0], steps[0].images[0]) for s in steps)
    assert all(s.control_texts[0] == steps[0].control_texts[0] for s in steps)


def test_loop_stops_once_every_item_is_done(model, monkeypatch):
    import alpaca.engine as gen

    monkeypatch.setattr(gen, "agreement", lambda prompt, text: 1.0)
    assert [s.round for s in model.generate(["a red star"], [1], rounds=3)] == [0]


def test_without_early_exit_every_round_runs(model, monkeypatch):
    import alpaca.engine as gen

    monkeypatch.setattr(gen, "agreement", lambda prompt, text: 1.0)
    steps = list(model.generate(["a red star"], [1], rounds=2, early_exit=False))
    assert [s.round for s in steps] == [0, 1, 2] and not any(s.done[0] for s in steps)


def test_mismatched_prompts_and_seeds_are_rejected(model):
    with pytest.raises(ValueError):
        list(model.generate(["a", "b"], [1], rounds=1))


def test_agreement_of_a_true_caption_is_one():
    import random

    from alpaca import domain
    from alpaca.domain.checks import agreement

    spec, scene, prompt, lang = domain.sample(random.Random(3), "train")
    assert agreement(prompt, domain.caption(scene, lang)) == 1.0
    assert agreement("zorblax", "scene: nonsense") == 0.0


def test_an_edit_is_kept_only_if_the_control_text_agrees_better():
    from alpaca.engine import keep_edit

    assert keep_edit(0.5, 0.75) and not keep_edit(0.5, 0.5) and not keep_edit(0.75, 0.5)


def test_rejected_edits_leave_the_round_zero_image(model, monkeypatch):
    import alpaca.engine as gen

    monkeypatch.setattr(gen, "keep_edit", lambda old, new: False)
    steps = list(model.generate(["a red star", "two blue squares"], [1, 2], rounds=2))
    assert all(np.array_equal(s.images, steps[0].images) for s in steps)
    assert all(s.control_texts == steps[0].control_texts for s in steps)
