"""repair.py: the interactor's targets for G's drafts are small, rule-bound edits that always
meet the prompt."""

from __future__ import annotations

import random

from alpaca import domain
from alpaca.build import tiny_model
from alpaca.training.data import corrupt
from alpaca.domain.repair import repair


def _scene(background, *objects) -> domain.Scene:
    placed = [domain.Placed(shape, colour, size, "solid", cell, (cell[1] + 0.5) / 3,
                            (cell[0] + 0.5) / 3) for shape, colour, size, cell in objects]
    return domain.Scene((background, None), tuple(placed))


def _meets(scene, spec) -> bool:
    return all(ok for _, ok, _ in domain.check(scene, spec))


def _repaired(prompt: str, draft: domain.Scene, reference: domain.Scene) -> domain.Scene:
    """The repair of a draft for the prompt, checked to meet it."""
    spec = domain.parse(prompt)
    fixed = repair(draft, spec, reference)
    assert _meets(fixed, spec)
    return fixed


def test_an_extra_object_is_removed_and_the_rest_kept():
    draft = _scene("white", *[("triangle", "green", "medium", cell)
                              for cell in [(0, 0), (0, 2), (1, 1), (2, 0), (2, 2)]])
    reference = _scene("white", ("triangle", "green", "small", (0, 1)))
    fixed = _repaired("exactly four green triangles", draft, reference)
    assert fixed is not reference
    assert [o.cell for o in fixed.objects] == [(0, 0), (0, 2), (1, 1), (2, 0)]


def test_a_wrong_colour_is_restated_in_place():
    draft = _scene("white", ("cross", "orange", "large", (1, 0)), ("star", "red", "small", (2, 2)))
    fixed = _repaired("a blue cross and a red star", draft, _scene(
        "white", ("cross", "blue", "small", (0, 0)), ("star", "red", "small", (0, 1))))
    assert [(o.shape, o.colour, o.size, o.cell) for o in fixed.objects] == [
        ("cross", "blue", "large", (1, 0)), ("star", "red", "small", (2, 2))]


def test_a_failed_relation_moves_one_object_to_the_nearest_cell_that_satisfies_it():
    draft = _scene("white", ("diamond", "blue", "large", (0, 0)), ("star", "yellow", "medium", (1, 0)))
    fixed = _repaired("a blue diamond to the left of a yellow star", draft, _scene(
        "white", ("diamond", "blue", "large", (0, 0)), ("star", "yellow", "medium", (0, 1))))
    cells = {o.shape: o.cell for o in fixed.objects}
    assert cells["diamond"] == (0, 0) and cells["star"] == (1, 1)  # no cell left of column 0


def test_a_stated_background_is_set_and_a_clashing_open_colour_changed():
    draft = _scene("cyan", ("diamond", "blue", "small", (1, 2)))
    fixed = _repaired("a diamond on a blue background", draft,
                      _scene("blue", ("diamond", "purple", "large", (0, 2))))
    assert fixed.background == ("blue", None)
    assert [(o.colour, o.size, o.cell) for o in fixed.objects] == [("purple", "small", (1, 2))]


def test_repairs_of_corrupted_scenes_always_meet_the_spec_and_keep_one_object_a_cell():
    cfg, rng = tiny_model().cfg, random.Random(11)
    repaired = 0
    for _ in range(400):
        spec, scene, _, _ = domain.sample(rng, "train")
        bad, _ = corrupt(scene, spec, cfg, rng)
        fixed = repair(bad, spec, scene)
        assert _meets(fixed, spec)
        assert len({o.cell for o in fixed.objects}) == len(fixed.objects)
        repaired += fixed is not scene and not _meets(bad, spec)
    assert repaired > 100  # most failures are repaired by the rules, not replaced
