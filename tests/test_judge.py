"""The pixel judge: exact on true renders, fails any one changed attribute, tolerates noise."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from alpaca import domain as d
from alpaca.domain import judge


def _examples(n: int, seed: int):
    rng = random.Random(seed)
    return [d.sample(rng, ("train", "heldout")[i % 2]) for i in range(n)]


def _key(scene: d.Scene) -> list[tuple]:
    return sorted((o.cell, o.shape, o.colour, o.size, o.style) for o in scene.objects)


def test_judge_passes_every_ground_truth_render_of_every_category_and_language():
    examples = _examples(2000, seed=10)
    prompts = [p for _, _, p, _ in examples]
    report = judge.evaluate([d.render(s) for _, s, _, _ in examples], prompts)
    failures = [(r["reason"], p) for r, p in zip(report["results"], prompts) if not r["pass"]]
    assert failures == []
    assert set(report["categories"]) == set(d.CATEGORIES) and report["overall"] == 1.0
    assert {lang for *_, lang in examples} == set(d.LANGS)


@pytest.mark.parametrize("image_size", [48, 64, 96, 128])
def test_detect_reads_back_every_attribute_of_the_scene(image_size):
    for _, scene, _, _ in _examples(150, seed=image_size):
        found = judge.detect(d.render(scene, image_size))
        assert found.background == scene.background and _key(found) == _key(scene)


def _recentre(obj: d.Placed, **changes) -> d.Placed:
    cell = changes.get("cell", obj.cell)
    cx, cy = d.cell_centre(cell)
    return dataclasses.replace(obj, cx=cx, cy=cy, **changes)


def _other(value, options, avoid=()):
    return next(o for o in options if o != value and o not in avoid)


def _mutations(spec: d.Spec, scene: d.Scene):
    """(attribute, scene) pairs, each changing one attribute the spec states."""
    first, want = scene.objects[0], spec.objects[0]
    used = set(scene.background) | {o.colour for o in scene.objects}
    swap = lambda obj: (obj,) + scene.objects[1:]  # noqa: E731
    if want.colour:
        yield "colour", dataclasses.replace(scene, objects=swap(
            dataclasses.replace(first, colour=_other(first.colour, d.COLOURS, used))))
    yield "shape", dataclasses.replace(scene, objects=swap(
        dataclasses.replace(first, shape=_other(first.shape, d.SHAPES))))
    if want.size:
        yield "size", dataclasses.replace(scene, objects=swap(
            _recentre(first, size=_other(first.size, d.SIZES))))
    if want.style:
        yield "style", dataclasses.replace(scene, objects=swap(
            dataclasses.replace(first, style=_other(first.style, d.STYLES))))
    free = [c for c in d.CELLS if c not in {o.cell for o in scene.objects}]
    extra = _recentre(first, cell=free[0])
    yield "count", dataclasses.replace(scene, objects=scene.objects + (extra,))
    if want.cell:
        yield "position", dataclasses.replace(scene, objects=swap(_recentre(first, cell=free[0])))
    if spec.relation:
        a, b = scene.objects[0], scene.objects[1]
        yield "relation", dataclasses.replace(scene, objects=(
            _recentre(a, cell=b.cell), _recentre(b, cell=a.cell)) + scene.objects[2:])
    if spec.background:
        yield "background", dataclasses.replace(
            scene, background=(_other(spec.background, d.COLOURS, used), spec.gradient))


def test_judge_fails_a_render_with_any_one_stated_attribute_changed():
    tried = set()
    for spec, scene, prompt, _ in _examples(400, seed=11):
        for attribute, changed in _mutations(spec, scene):
            result = judge.score(d.render(changed), prompt)
            assert not result["pass"], (attribute, prompt, changed)
            tried.add(attribute)
    assert tried == {"colour", "shape", "size", "style", "count", "position", "relation",
                     "background"}


def test_judge_tolerates_stray_pixels_and_colour_noise():
    rng = np.random.default_rng(0)
    passed = []
    for _, scene, prompt, _ in _examples(300, seed=12):
        image = d.render(scene).astype(np.int16) + rng.integers(-12, 13, (64, 64, 3))
        for _ in range(4):
            y, x = rng.integers(0, 64, 2)
            image[y, x] = d.PALETTE[rng.integers(len(d.PALETTE))]
        passed.append(judge.score(np.clip(image, 0, 255).astype(np.uint8), prompt)["pass"])
    assert np.mean(passed) >= 0.97


def test_reason_says_what_was_expected_and_what_was_found():
    prompt = "exactly three red stars on a white background"
    scene = d.realize(d.parse(prompt), random.Random(1))
    result = judge.score(d.render(dataclasses.replace(scene, objects=scene.objects[:2])), prompt)
    assert result["category"] == "counting" and not result["pass"]
    assert "expected 3 red stars, found 2" in result["reason"]
    assert {c["name"]: c["ok"] for c in result["constraints"]}["background"] is True


def test_unparseable_prompt_fails_with_the_parser_message():
    result = judge.score(np.zeros((64, 64, 3), np.uint8), "a purple unicorn")
    assert result["pass"] is False and "unicorn" in result["reason"]


def test_overall_is_the_mean_of_category_scores():
    examples = [d.sample(random.Random(i), category=c) for i, c in
                enumerate(["counting", "counting", "counting", "style"])]
    images = [d.render(s) for _, s, _, _ in examples]
    images[0] = d.render(dataclasses.replace(examples[0][1], objects=()))
    report = judge.evaluate(images, [p for _, _, p, _ in examples])
    assert report["categories"] == {"counting": 2 / 3, "style": 1.0}
    assert report["overall"] == pytest.approx((2 / 3 + 1.0) / 2)


def test_an_empty_or_blob_image_is_judged_without_error():
    blank = np.full((64, 64, 3), 250, np.uint8)
    assert judge.detect(blank).objects == ()
    blob = blank.copy()
    blob[10:50, 10:50] = d.COLOURS["red"]
    assert judge.detect(blob).objects[0].shape == judge.UNKNOWN
    assert not judge.score(blob, "a red square")["pass"]
