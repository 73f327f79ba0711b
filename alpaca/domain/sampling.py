"""The creative domain: what prompts ask for, the tiles that satisfy them, and the check between.

Ad-like tiles: a background (one palette colour, or a vertical gradient between two) and 1-6
objects, each with a shape (8), colour (12), size (3) and style (solid, outline, striped), each in
its own cell of a 3x3 grid with its centre jittered a little inside the cell. Prompt categories
mirror GenEval and go beyond it: single_object, colours, position, two_objects and three_objects
(with a relation left of / right of / above / below), colour_attribution, counting (1-6), style.
What a prompt leaves open (size, style, cell, background, even colour) the seed decides, and
`check` tests only what the prompt states. Object colours always differ from the background's;
a gradient is drawn with ordered row dithering of its two palette colours, so every pixel of a
render is a palette colour and `render_indices` gives exact per-pixel class labels.

Held-out set (compositional generalisation). These 12 (colour, shape) pairs, 12.5 % of the 96,
covering every colour once and every shape at least once, never occur in a "train" spec nor in
a scene realized from one (open colours avoid them); every "heldout" spec states at least one:
    red heart, orange star, yellow hexagon, green triangle, blue cross, purple circle,
    pink diamond, brown square, black star, white triangle, gray heart, cyan square.
The heldout split has no single_object category (it states no colour, so no pair).

Does not know: pixels beyond rendering (the judge reads them), models, tokenizers.
"""

from __future__ import annotations

import random

import numpy as np

from .grammar import prompt_text
from .parser import infer_category
from .scene import (
    CATEGORIES, CELLS, COLOUR_NAMES, GRID, LANGS, MAX_OBJECTS, RELATIONS, SHAPES, SIZES, STYLES,
    ObjectSpec, Placed, Relation, Scene, Spec, cell_centre, cell_index, colour_index,
    relation_holds, shape_index, size_index, style_index,
)
from .shapes import SIZE_FRACTION, render

HELDOUT_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("red", "heart"), ("orange", "star"), ("yellow", "hexagon"), ("green", "triangle"),
    ("blue", "cross"), ("purple", "circle"), ("pink", "diamond"), ("brown", "square"),
    ("black", "star"), ("white", "triangle"), ("gray", "heart"), ("cyan", "square"),
})
ALL_PAIRS = tuple((c, s) for c in COLOUR_NAMES for s in SHAPES)
TRAIN_PAIRS = tuple(p for p in ALL_PAIRS if p not in HELDOUT_PAIRS)
SPLIT_CATEGORIES = {  # categories each split draws from; single_object states no colour
    "train": CATEGORIES, "heldout": tuple(c for c in CATEGORIES if c != "single_object")}
JITTER_MARGIN = 0.025  # min gap, in tile fractions, between an object and its cell's edge
P_SIZE, P_STYLE = 0.3, 0.15  # how often a prompt states an object's size / style
P_BACKGROUND, P_GRADIENT = 0.4, 0.3  # how often it states the background; share of gradients
STYLE_WEIGHTS = (0.5, 0.25, 0.25)  # open styles: solid, outline, striped


def is_heldout(spec: Spec) -> bool:
    """Whether the spec states a held-out (colour, shape) pair."""
    return any((o.colour, o.shape) in HELDOUT_PAIRS for o in spec.objects)


def _pairs(rng: random.Random, split: str, n: int, distinct: str) -> list[tuple[str, str]]:
    """n (colour, shape) pairs for a split; `distinct`: "pair" or "both" (colours and shapes)."""
    if split not in SPLIT_CATEGORIES:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'heldout'")
    key = rng.randrange(n) if split == "heldout" else -1
    pairs: list[tuple[str, str]] = []
    while len(pairs) < n:
        pool = sorted(HELDOUT_PAIRS) if len(pairs) == key else (
            TRAIN_PAIRS if split == "train" else ALL_PAIRS)
        colour, shape = rng.choice(pool)
        if (colour, shape) in pairs or (distinct == "both" and any(
                colour == c or shape == s for c, s in pairs)):
            continue
        pairs.append((colour, shape))
    return pairs


def _size(rng: random.Random) -> str | None:
    return rng.choice(SIZES) if rng.random() < P_SIZE else None


def _object(rng: random.Random, pair: tuple[str, str], style: bool | None = None,
            **fixed) -> ObjectSpec:
    """An object with the pair and a size stated with P_SIZE; a style always (style=True),
    never (False) or with P_STYLE (None)."""
    size = _size(rng)
    stated = rng.random() < P_STYLE if style is None else style
    return ObjectSpec(pair[1], pair[0], size, rng.choice(STYLES) if stated else None, **fixed)


def _single(rng: random.Random, split: str, category: str) -> tuple[ObjectSpec]:
    """The one object of a single-object category (see parser.infer_category)."""
    if category == "single_object":
        return (ObjectSpec(rng.choice(SHAPES), None, _size(rng)),)
    pair = _pairs(rng, split, 1, "pair")[0]
    if category == "colours":
        return (_object(rng, pair, style=False),)
    if category == "style":
        return (_object(rng, pair, style=True),)
    if category == "position":
        return (_object(rng, pair, cell=rng.choice(CELLS)),)
    return (_object(rng, pair, count=rng.randint(1, MAX_OBJECTS)),)


def _sample_objects(rng: random.Random, split: str, category: str):
    """(objects, relation) of a category; objects in canonical order (subject, object, rest)."""
    if category in ("single_object", "colours", "position", "counting", "style"):
        return _single(rng, split, category), None
    n = 3 if category == "three_objects" else 2
    pairs = _pairs(rng, split, n, "both" if category == "colour_attribution" else "pair")
    objects = tuple(_object(rng, p) for p in pairs)
    if category == "colour_attribution":
        return objects, None
    return objects, Relation(0, rng.choice(RELATIONS), 1)


def _sample_background(rng: random.Random, objects) -> tuple[str | None, str | None]:
    if rng.random() >= P_BACKGROUND:
        return None, None
    free = [c for c in COLOUR_NAMES if c not in {o.colour for o in objects}]
    if rng.random() < P_GRADIENT:
        top, bottom = rng.sample(free, 2)
        return top, bottom
    return rng.choice(free), None


def sample_spec(rng: random.Random, split: str = "train", category: str | None = None) -> Spec:
    """A random spec of a split ("train" or "heldout"); a random category unless given."""
    if split not in SPLIT_CATEGORIES:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'heldout'")
    categories = SPLIT_CATEGORIES[split]
    category = rng.choice(categories) if category is None else category
    if category not in categories:
        raise ValueError(f"category {category!r} is not in the {split} split: {categories}")
    objects, relation = _sample_objects(rng, split, category)
    background, gradient = _sample_background(rng, objects)
    return Spec(category, objects, relation, background, gradient)


def _choose_colours(spec: Spec, rng: random.Random) -> list[str]:
    """A colour per spec object: the stated one, else one that is neither a background colour
    nor makes a held-out pair."""
    banned = {spec.background, spec.gradient}
    out = []
    for obj in spec.objects:
        if obj.colour is not None:
            out.append(obj.colour)
            continue
        pool = [c for c in COLOUR_NAMES if c not in banned and (c, obj.shape) not in HELDOUT_PAIRS]
        out.append(rng.choice(pool))
    return out


def _choose_background(spec: Spec, colours: list[str],
                       rng: random.Random) -> tuple[str, str | None]:
    if spec.background is not None:
        if {spec.background, spec.gradient} & set(colours):
            raise ValueError(f"unsatisfiable spec: an object has the background's colour: {spec}")
        return spec.background, spec.gradient
    free = [c for c in COLOUR_NAMES if c not in colours]
    if rng.random() < P_GRADIENT:
        top, bottom = rng.sample(free, 2)
        return top, bottom
    return rng.choice(free), None


def _choose_cells(spec: Spec, rng: random.Random) -> list[list[tuple[int, int]]]:
    """Cells for every instance of every spec object: stated ones, the relation, then the rest."""
    total = sum(o.count for o in spec.objects)
    if total > MAX_OBJECTS:
        raise ValueError(f"unsatisfiable spec: {total} objects, at most {MAX_OBJECTS}")
    cells: list[list[tuple[int, int]]] = [[o.cell] if o.cell else [] for o in spec.objects]
    taken = [c for cs in cells for c in cs]
    if len(set(taken)) != len(taken):
        raise ValueError("unsatisfiable spec: two objects in one cell")
    if spec.relation is not None:
        _place_relation(spec, cells, rng)
    free = [c for c in CELLS if c not in {c for cs in cells for c in cs}]
    rng.shuffle(free)
    for obj, cs in zip(spec.objects, cells):
        while len(cs) < obj.count:
            cs.append(free.pop())
    return cells


def _place_relation(spec: Spec, cells: list[list[tuple[int, int]]], rng: random.Random) -> None:
    rel = spec.relation
    taken = {c for i, cs in enumerate(cells) if i not in (rel.subject, rel.object) for c in cs}
    options = [(a, b) for a in (cells[rel.subject] or CELLS) for b in (cells[rel.object] or CELLS)
               if a != b and a not in taken and b not in taken
               and relation_holds(rel.relation, a, b)]
    if not options:
        raise ValueError(f"unsatisfiable spec: no cells make {rel} true")
    a, b = rng.choice(options)
    cells[rel.subject], cells[rel.object] = [a], [b]


def jitter_bound(size: str) -> float:
    """Largest offset of an object's centre from its cell's centre (tile fractions)."""
    return (1 / GRID - SIZE_FRACTION[size]) / 2 - JITTER_MARGIN


def realize(spec: Spec, rng: random.Random) -> Scene:
    """A scene satisfying the spec; every open choice (colour, size, style, cell, background,
    jitter) is drawn from `rng`. Objects come in spec order, `count` instances each."""
    colours = _choose_colours(spec, rng)
    background = _choose_background(spec, colours, rng)
    cells = _choose_cells(spec, rng)
    placed = []
    for obj, colour, obj_cells in zip(spec.objects, colours, cells):
        for cell in obj_cells:
            size = obj.size or rng.choice(SIZES)
            style = obj.style or rng.choices(STYLES, STYLE_WEIGHTS)[0]
            cx, cy = cell_centre(cell)
            j = jitter_bound(size)
            placed.append(Placed(obj.shape, colour, size, style, cell,
                                 cx + rng.uniform(-j, j), cy + rng.uniform(-j, j)))
    return Scene(background, tuple(placed))


def sample(rng: random.Random, split: str = "train", category: str | None = None,
           lang: str | None = None) -> tuple[Spec, Scene, str, str]:
    """(spec, scene, prompt, lang): one training or evaluation example, without the render."""
    spec = sample_spec(rng, split, category)
    scene = realize(spec, rng)
    lang = rng.choice(LANGS) if lang is None else lang
    return spec, scene, prompt_text(spec, lang, rng), lang


def object_attributes(scene: Scene, max_objects: int = MAX_OBJECTS) -> dict[str, np.ndarray]:
    """Per-object supervision, padded to `max_objects` (objects in scene order).

    Keys: present (bool), colour, shape, size, style, row, col, cell (int64 indices; -1 where
    absent), cx, cy (float32 centres in [0, 1]), and background, gradient (palette indices;
    gradient -1 for a solid background) as 0-d arrays.
    """
    if len(scene.objects) > max_objects:
        raise ValueError(f"{len(scene.objects)} objects, more than {max_objects}")
    ints = {k: np.full(max_objects, -1, dtype=np.int64)
            for k in ("colour", "shape", "size", "style", "row", "col", "cell")}
    floats = {k: np.zeros(max_objects, dtype=np.float32) for k in ("cx", "cy")}
    for i, o in enumerate(scene.objects):
        for key, value in (("colour", colour_index(o.colour)), ("shape", shape_index(o.shape)),
                           ("size", size_index(o.size)), ("style", style_index(o.style)),
                           ("row", o.cell[0]), ("col", o.cell[1]), ("cell", cell_index(o.cell))):
            ints[key][i] = value
        floats["cx"][i], floats["cy"][i] = o.cx, o.cy
    top, bottom = scene.background
    return {"present": ints["shape"] >= 0, **ints, **floats,
            "background": np.array(colour_index(top)),
            "gradient": np.array(-1 if bottom is None else colour_index(bottom))}

