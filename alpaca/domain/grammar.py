"""Writing prompts and captions of the creative domain, in English and Chinese.

Knows: the sentence frames of each prompt category (three or more per language), how an object
is written as a noun phrase ("a large red striped star", "一个大的红色条纹星星"), how a background
is mentioned, and the one fixed caption format per language that describes a whole scene
("scene: white background; a large red solid star at top left; ..."). Everything written here
is read back by `parser`.
Does not know: parsing, sampling, rendering or judging.
"""

from __future__ import annotations

import random

from .lexicon import (
    CELL_WORDS, COLOUR_WORDS, NUMBER_WORDS, RELATION_WORDS, SHAPE_WORDS, SIZE_WORDS, STYLE_WORDS,
    word,
)
from .scene import ObjectSpec, Placed, Scene, Spec

# Frames per (language, kind). {a} {b} {c}: noun phrases; {rel}: a relation phrase; {cell}: a cell.
# A relation frame always has objects[relation.subject] as {a} and objects[relation.object] as {b}.
FRAMES = {
    ("en", "single"): ("{a}", "a tile showing {a}", "an ad with {a}"),
    ("zh", "single"): ("{a}", "画面里有{a}", "一张广告图，{a}"),
    ("en", "position"): ("{a} in the {cell}", "in the {cell}, {a}",
                         "a tile with {a} placed at the {cell}"),
    ("zh", "position"): ("{a}在{cell}", "在{cell}有{a}", "画面{cell}放着{a}"),
    ("en", "counting"): ("exactly {a}", "{a}, no more and no fewer", "a tile with exactly {a}"),
    ("zh", "counting"): ("恰好{a}", "画面里正好有{a}", "{a}，不多不少"),
    ("en", "pair"): ("{a} and {b}", "a tile with {a} and {b}", "{a} together with {b}"),
    ("zh", "pair"): ("{a}和{b}", "画面里有{a}和{b}", "{a}，还有{b}"),
    ("en", "relation"): ("{a} {rel} {b}", "a tile with {a} {rel} {b}", "{a} placed {rel} {b}"),
    ("zh", "relation"): ("{a}在{b}的{rel}", "{a}位于{b}{rel}", "在{b}的{rel}有{a}"),
    ("en", "triple"): ("{a} {rel} {b}, and {c}", "{c}, plus {a} {rel} {b}",
                       "a tile with {a} {rel} {b}, together with {c}"),
    ("zh", "triple"): ("{a}在{b}的{rel}，还有{c}", "画面里有{c}，另外{a}位于{b}{rel}",
                       "在{b}的{rel}有{a}，另外还有{c}"),
}
KIND = {"single_object": "single", "colours": "single", "style": "single", "position": "position",
        "counting": "counting", "colour_attribution": "pair", "two_objects": "relation",
        "three_objects": "triple"}
# Background mentions: (prefix frames, suffix frames) for solid and gradient backgrounds.
BACKGROUNDS = {
    ("en", "solid"): (("on {a} {x} background, ",),
                      (" on {a} {x} background", ", against {a} {x} background")),
    ("en", "gradient"): (("on a gradient background from {x} to {y}, ",),
                         (" on {a} {x} to {y} gradient", ", against a gradient from {x} to {y}")),
    ("zh", "solid"): (("{x}背景上，", "在{x}背景上，"), ("，背景是{x}",)),
    ("zh", "gradient"): (("从{x}到{y}的渐变背景上，",), ("，背景是从{x}到{y}的渐变",)),
}
CAPTION_PREFIX = {"en": "scene: ", "zh": "画面："}
CAPTION_SEP = {"en": "; ", "zh": "；"}


def noun_phrase(obj: ObjectSpec, lang: str, numeral: bool = False) -> str:
    """An object as a noun phrase; `numeral` writes "one" instead of "a" for a single object."""
    if lang == "zh":
        return _noun_phrase_zh(obj)
    adjectives = [word(table, key, "en") for table, key in (
        (SIZE_WORDS, obj.size), (COLOUR_WORDS, obj.colour), (STYLE_WORDS, obj.style)) if key]
    singular, plural = SHAPE_WORDS[obj.shape][0]
    body = " ".join([*adjectives, singular if obj.count == 1 else plural])
    if obj.count > 1 or numeral:
        return f"{NUMBER_WORDS[obj.count][0]} {body}"
    return ("an " if body[0] in "aeiou" else "a ") + body


def _noun_phrase_zh(obj: ObjectSpec) -> str:
    size = f"{word(SIZE_WORDS, obj.size, 'zh')}的" if obj.size else ""
    colour = word(COLOUR_WORDS, obj.colour, "zh") if obj.colour else ""
    style = word(STYLE_WORDS, obj.style, "zh") if obj.style else ""
    return f"{NUMBER_WORDS[obj.count][1]}个{size}{colour}{style}{word(SHAPE_WORDS, obj.shape, 'zh')}"


def _slots(spec: Spec, lang: str, rng: random.Random) -> dict[str, str]:
    """Noun phrases {a} {b} {c}, the relation phrase and the cell for a spec's frame."""
    order = list(range(len(spec.objects)))
    slots: dict[str, str] = {}
    if spec.relation is not None:
        rel = spec.relation
        order = [rel.subject, rel.object] + [i for i in order if i not in (rel.subject, rel.object)]
        slots["rel"] = rng.choice(RELATION_WORDS[rel.relation][0 if lang == "en" else 1])
    numeral = spec.category == "counting"
    for name, i in zip("abc", order):
        slots[name] = noun_phrase(spec.objects[i], lang, numeral)
    if spec.objects[0].cell is not None:
        slots["cell"] = word(CELL_WORDS, spec.objects[0].cell, lang)
    return slots


def _check_writable(spec: Spec) -> None:
    kind = KIND.get(spec.category)
    if kind is None:
        raise ValueError(f"no prompt frames for category {spec.category!r}; use caption()")
    wanted = {"single": 1, "position": 1, "counting": 1, "pair": 2, "relation": 2, "triple": 3}
    if len(spec.objects) != wanted[kind]:
        raise ValueError(f"category {spec.category} needs {wanted[kind]} objects")
    if any(o.cell for o in spec.objects) != (kind == "position"):
        raise ValueError("only position prompts name a cell")
    if (spec.relation is not None) != (kind in ("relation", "triple")):
        raise ValueError(f"category {spec.category} does not fit relation {spec.relation}")


def phrasings(spec: Spec, lang: str, rng: random.Random) -> list[str]:
    """Every frame of the spec's category filled in, without the background."""
    _check_writable(spec)
    slots = _slots(spec, lang, rng)
    return [frame.format(**slots) for frame in FRAMES[(lang, KIND[spec.category])]]


def prompt_text(spec: Spec, lang: str, rng: random.Random) -> str:
    """One of the category's phrasings of `spec` in `lang`, with its background if stated."""
    text = rng.choice(phrasings(spec, lang, rng))
    if spec.background is None:
        return text
    kind = "solid" if spec.gradient is None else "gradient"
    x = word(COLOUR_WORDS, spec.background, lang)
    y = word(COLOUR_WORDS, spec.gradient, lang) if spec.gradient else ""
    a = "an" if x[0] in "aeiou" else "a"
    prefixes, suffixes = BACKGROUNDS[(lang, kind)]
    if rng.random() < 0.5:
        return rng.choice(prefixes).format(a=a, x=x, y=y) + text
    return text + rng.choice(suffixes).format(a=a, x=x, y=y)


def background_phrase(background: tuple[str, str | None], lang: str) -> str:
    """The caption's background clause: "white background", "从蓝色到白色的渐变背景"."""
    top, bottom = background
    x = word(COLOUR_WORDS, top, lang)
    if bottom is None:
        return f"{x} background" if lang == "en" else f"{x}背景"
    y = word(COLOUR_WORDS, bottom, lang)
    return f"gradient background from {x} to {y}" if lang == "en" else f"从{x}到{y}的渐变背景"


def object_clause(obj: Placed, lang: str) -> str:
    """The caption's clause for one object: "a large red solid star at top left"."""
    spec = ObjectSpec(obj.shape, obj.colour, obj.size, obj.style)
    cell = word(CELL_WORDS, obj.cell, lang)
    if lang == "en":
        return f"{noun_phrase(spec, 'en')} at {cell}"
    return f"{cell}有{noun_phrase(spec, 'zh')}"


def caption(scene: Scene, lang: str) -> str:
    """The canonical control text of a scene: background, then every object in cell order."""
    if lang not in CAPTION_PREFIX:
        raise ValueError(f"unknown language {lang!r}")
    objects = sorted(scene.objects, key=lambda o: (o.cell, o.cy, o.cx))
    clauses = [background_phrase(scene.background, lang)]
    clauses += [object_clause(o, lang) for o in objects]
    return CAPTION_PREFIX[lang] + CAPTION_SEP[lang].join(clauses)
