"""The creative domain: sampling, held-out pairs, rendering, prompt grammar and parser, checks."""

from __future__ import annotations

import dataclasses
import itertools
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alpaca import domain as d
from alpaca.domain.grammar import FRAMES, phrasings
from alpaca.domain.judge import components
from alpaca.domain.shapes import placement


def _samples(n: int, seed: int = 0, split: str | None = None):
    rng = random.Random(seed)
    for i in range(n):
        yield d.sample(rng, split or ("train", "heldout")[i % 2])


def _by_cell(scene: d.Scene) -> list[tuple]:
    return sorted((o.cell, o.shape, o.colour, o.size, o.style) for o in scene.objects)


def test_palette_colours_are_far_apart_and_vocabulary_is_large_enough():
    rgb = d.PALETTE.astype(float)
    dist = np.sqrt(((rgb[:, None] - rgb[None]) ** 2).sum(-1)) + np.eye(len(rgb)) * 1e9
    assert dist.min() > 100
    assert len(d.COLOURS) >= 10 and len(d.SHAPES) >= 8
    assert all(len(FRAMES[(lang, kind)]) >= 3 for lang, kind in FRAMES)


@pytest.mark.parametrize("image_size", [48, 64, 96, 128])
def test_every_sprite_is_one_component_and_distinct(image_size):
    masks = {k: d.sprite(*k, image_size) for k in itertools.product(d.SHAPES, d.SIZES, d.STYLES)}
    for key, mask in masks.items():
        assert len(components(mask.astype(np.int16), {0})) == 1, key
    assert len({(m.shape, m.tobytes()) for m in masks.values()}) == len(masks)


@pytest.mark.parametrize("image_size", [48, 64, 96, 128])
def test_objects_stay_inside_their_cell_with_a_gap_at_extreme_jitter(image_size):
    cell_px = image_size / d.GRID
    for shape, size, style in itertools.product(d.SHAPES, d.SIZES, d.STYLES):
        h, w = d.sprite(shape, size, style, image_size).shape
        j = d.jitter_bound(size)
        for cell, sx, sy in itertools.product(d.CELLS, (-1, 1), (-1, 1)):
            cx, cy = d.cell_centre(cell)
            obj = d.Placed(shape, "red", size, style, cell, cx + sx * j, cy + sy * j)
            top, left = placement(obj, image_size)
            assert top >= cell[0] * cell_px + 0.5 and top + h <= (cell[0] + 1) * cell_px - 0.5
            assert left >= cell[1] * cell_px + 0.5 and left + w <= (cell[1] + 1) * cell_px - 0.5


def test_every_phrasing_of_every_category_parses_back_to_the_same_spec():
    rng = random.Random(1)
    for category, lang in itertools.product(d.CATEGORIES, d.LANGS):
        for _ in range(40):
            spec = d.sample_spec(rng, "train", category)
            bare = dataclasses.replace(spec, background=None, gradient=None)
            texts = phrasings(spec, lang, rng)
            assert len(set(texts)) >= 3
            assert all(d.parse(text) == bare for text in texts), texts
            for seed in range(6):
                text = d.prompt_text(spec, lang, random.Random(seed))
                assert d.parse(text) == spec, text


def test_sampled_prompts_parse_back_in_both_splits_and_languages():
    for spec, _, prompt, lang in _samples(3000, seed=2):
        assert d.parse(prompt) == spec, prompt
        assert lang == ("zh" if any("\u4e00" <= ch <= "\u9fff" for ch in prompt) else "en")


def test_caption_round_trips_through_parse_and_scene_from_caption():
    for _, scene, _, lang in _samples(1000, seed=3):
        text = d.caption(scene, lang)
        spec = d.parse(text)
        assert spec.category == d.CAPTION and d.met_share(spec, scene) == 1.0
        back = d.scene_from_caption(text)
        assert back.background == scene.background and _by_cell(back) == _by_cell(scene)
        assert all((o.cx, o.cy) == d.cell_centre(o.cell) for o in back.objects)


def test_caption_describes_every_object_in_one_fixed_phrasing():
    scene = d.Scene(("white", None), (
        d.Placed("circle", "blue", "small", "outline", (1, 1), 0.5, 0.5),
        d.Placed("star", "red", "large", "solid", (0, 0), 0.17, 0.17)))
    assert d.caption(scene, "en") == (
        "scene: white background; a large red solid star at top left; "
        "a small blue outlined circle at center")
    assert d.caption(scene, "zh") == "画面：白色背景；左上角有一个大的红色实心星星；正中间有一个小的蓝色空心圆形"


def test_chinese_and_english_prompts_parse_to_the_spec_they_state():
    want = d.Spec("two_objects", (d.ObjectSpec("star", "red", "large"),
                                  d.ObjectSpec("circle", "blue", "small")),
                  d.Relation(0, "left of", 1), background="white")
    assert d.parse("白色背景上，一个大的红色星星在一个小的蓝色圆形左边") == want
    english = "A large red star to the left of a small blue circle, on a white background"
    assert d.parse(english) == want
    three = d.parse("三个黄色爱心，不多不少")
    assert three.category == "counting" and three.objects[0].count == 3


def test_parse_ignores_case_and_spacing_a_decoder_may_produce():
    _, scene, _, _ = d.sample(random.Random(9), category="three_objects")
    zh, en = d.caption(scene, "zh"), d.caption(scene, "en")
    assert d.parse(" ".join(zh)) == d.parse(zh)
    assert d.parse(en.upper().replace(";", " ; ").replace(":", " :")) == d.parse(en)


@pytest.mark.parametrize("text", ["a red unicorn", "", "红色独角兽", "a star left of", "scene: red"])
def test_parse_rejects_text_it_cannot_read(text):
    with pytest.raises(ValueError):
        d.parse(text)


def test_heldout_pairs_never_appear_in_train_and_are_in_every_heldout_spec():
    assert {c for c, _ in d.HELDOUT_PAIRS} == set(d.COLOURS)
    assert {s for _, s in d.HELDOUT_PAIRS} == set(d.SHAPES)
    assert 0.10 <= len(d.HELDOUT_PAIRS) / (len(d.COLOURS) * len(d.SHAPES)) <= 0.15
    for spec, scene, _, _ in _samples(10_000, seed=4, split="train"):
        assert not d.is_heldout(spec)
        assert not {(o.colour, o.shape) for o in scene.objects} & d.HELDOUT_PAIRS
    for spec, _, _, _ in _samples(2000, seed=5, split="heldout"):
        assert d.is_heldout(spec) and spec.category != "single_object"


def test_realized_scenes_satisfy_their_specs_and_keep_background_apart():
    for spec, scene, _, _ in _samples(2000, seed=6):
        assert d.met_share(spec, scene) == 1.0
        assert not set(scene.background) & {o.colour for o in scene.objects}
        assert len({o.cell for o in scene.objects}) == len(scene.objects) <= d.MAX_OBJECTS


def test_render_is_deterministic_and_uses_only_palette_colours():
    spec, scene, _, _ = d.sample(random.Random(7), category="counting")
    again = d.sample(random.Random(7), category="counting")[1]
    image = d.render(scene)
    assert scene == again and image.tobytes() == d.render(again).tobytes()
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert d.render(scene, 96).shape == (96, 96, 3)
    assert set(map(tuple, image.reshape(-1, 3))) <= set(d.COLOURS.values())
    assert (d.PALETTE[d.render_indices(scene)] == image).all()


def test_check_names_expected_and_found_counts():
    spec = d.parse("exactly three red stars")
    scene = d.realize(spec, random.Random(0))
    short = dataclasses.replace(scene, objects=scene.objects[:2])
    results = dict((name, (ok, reason)) for name, ok, reason in d.check(short, spec))
    assert results["object 0"] == (False, "expected 3 red stars, found 2")
    assert d.met_share(spec, short) == 0.0 and d.met_share(spec, scene) == 1.0


def test_object_attributes_give_padded_per_object_indices():
    _, scene, _, _ = d.sample(random.Random(8), category="three_objects")
    attrs = d.object_attributes(scene)
    assert attrs["present"].tolist() == [True] * 3 + [False] * 3
    assert attrs["shape"][0] == d.shape_index(scene.objects[0].shape)
    assert attrs["cell"][1] == d.cell_index(scene.objects[1].cell) and attrs["cell"][4] == -1


def test_sample_spec_rejects_unknown_split_and_single_object_heldout():
    with pytest.raises(ValueError):
        d.sample_spec(random.Random(0), "test")
    with pytest.raises(ValueError):
        d.sample_spec(random.Random(0), "heldout", "single_object")


def test_the_domain_layer_imports_without_torch():
    """alpaca/domain/ is pure Python and numpy: importing it, its judge and its repairs (and the
    light package `alpaca` above it) loads no torch."""
    modules = [p.stem for p in (Path(d.__file__).parent).glob("*.py") if p.stem != "__init__"]
    code = ("import sys, alpaca, alpaca.domain\n"
            + "".join(f"import alpaca.domain.{m}\n" for m in modules)
            + "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(d.__file__).parents[2])
    assert len(modules) >= 8 and out.stdout.strip() == "False"
