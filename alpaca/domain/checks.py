"""Checking a scene against a spec: one (name, ok, reason) per constraint the spec states.

Constraints: for each spec object, exactly `count` scene objects match everything it states
(shape, and colour / size / style / cell where stated); the scene holds no other objects (the
total matches); the relation, if any, holds between the cells of its two objects; the
background, if stated, is that colour (or that gradient). Reasons read like GenEval's:
"expected 3 red stars, found 2". Attributes the spec leaves open are never checked.
`agreement` is the loop's measure of a control text against its prompt, both read by the parser.
Does not know: pixels (the judge turns an image into a Scene first), prompt wording beyond the
parser, models.
"""

from __future__ import annotations

from functools import lru_cache

from .lexicon import CELL_WORDS, SHAPE_WORDS, STYLE_WORDS
from .parser import parse, scene_from_caption
from .scene import ObjectSpec, Placed, Scene, Spec, relation_holds

Constraint = tuple[str, bool, str]  # (name, ok, reason)


def matches(obj: Placed, want: ObjectSpec, use_cell: bool = True) -> bool:
    """Whether a placed object has every attribute `want` states."""
    return (obj.shape == want.shape
            and want.colour in (None, obj.colour)
            and want.size in (None, obj.size)
            and want.style in (None, obj.style)
            and (not use_cell or want.cell in (None, obj.cell)))


def describe(want: ObjectSpec, count: int | None = None, article: bool = False) -> str:
    """English description for reasons: "3 large red striped stars at top left"; with
    `article`, "the red star" (a single object, cell left out)."""
    count = 1 if article else (want.count if count is None else count)
    words = ["the" if article else str(count)]
    words += [w for w in (want.size, want.colour) if w]
    if want.style:
        words.append(STYLE_WORDS[want.style][0])
    singular, plural = SHAPE_WORDS[want.shape][0]
    words.append(singular if count == 1 else plural)
    if want.cell is not None and not article:
        words.append(f"at {CELL_WORDS[want.cell][0]}")
    return " ".join(words)


def _where(objects: list[Placed]) -> str:
    return ", ".join(f"one at {CELL_WORDS[o.cell][0]}" for o in objects)


def _check_object(scene: Scene, want: ObjectSpec, index: int) -> Constraint:
    found = [o for o in scene.objects if matches(o, want)]
    if len(found) == want.count:
        return f"object {index}", True, f"found {describe(want)}"
    reason = f"expected {describe(want)}, found {len(found)}"
    if want.cell is not None:
        elsewhere = [o for o in scene.objects
                     if matches(o, want, use_cell=False) and o not in found]
        if elsewhere:
            reason += f" ({_where(elsewhere)})"
    return f"object {index}", False, reason


def _check_total(scene: Scene, spec: Spec) -> Constraint:
    expected, found = sum(o.count for o in spec.objects), len(scene.objects)
    ok = expected == found
    noun = "object" if expected == 1 else "objects"
    return "total", ok, f"expected {expected} {noun} in total, found {found}"


def _check_relation(scene: Scene, spec: Spec) -> Constraint:
    rel = spec.relation
    subject, obj = spec.objects[rel.subject], spec.objects[rel.object]
    found_s = [o for o in scene.objects if matches(o, subject)]
    found_o = [o for o in scene.objects if matches(o, obj)]
    if len(found_s) != 1 or len(found_o) != 1:
        return "relation", False, (f"cannot check {rel.relation}: found {len(found_s)} x "
                                   f"{describe(subject, 1)}, {len(found_o)} x {describe(obj, 1)}")
    a, b = found_s[0].cell, found_o[0].cell
    ok = relation_holds(rel.relation, a, b)
    return "relation", ok, (f"{describe(subject, article=True)} at {CELL_WORDS[a][0]} is "
                            f"{'' if ok else 'not '}{rel.relation} "
                            f"{describe(obj, article=True)} at {CELL_WORDS[b][0]}")


def _background_words(background: tuple[str, str | None]) -> str:
    top, bottom = background
    return f"{top} background" if bottom is None else f"gradient from {top} to {bottom}"


def _check_background(scene: Scene, spec: Spec) -> Constraint:
    expected = (spec.background, spec.gradient)
    ok = tuple(scene.background) == expected
    return "background", ok, (f"expected {_background_words(expected)}, "
                              f"found {_background_words(scene.background)}")


def check(scene: Scene, spec: Spec) -> list[Constraint]:
    """Every constraint the spec states, checked against the scene."""
    out = [_check_object(scene, want, i) for i, want in enumerate(spec.objects)]
    out.append(_check_total(scene, spec))
    if spec.relation is not None:
        out.append(_check_relation(scene, spec))
    if spec.background is not None:
        out.append(_check_background(scene, spec))
    return out


def met_share(spec: Spec, scene: Scene) -> float:
    """Share of the spec's constraints the scene meets, in [0, 1]."""
    results = check(scene, spec)
    return sum(ok for _, ok, _ in results) / len(results)


@lru_cache(maxsize=8192)
def _reading(text: str, is_control: bool) -> Spec | Scene | None:
    """The parser's reading of a prompt (or a control text); None if it cannot be read."""
    try:
        return scene_from_caption(text) if is_control else parse(text)
    except ValueError:
        return None


def agreement(prompt: str, control_text: str) -> float:
    """How far a control text agrees with its prompt, in [0, 1] (the share of the prompt's
    constraints the scene it describes meets); 0.0 if either cannot be read. Readings are
    cached across rounds and items."""
    spec, scene = _reading(prompt, False), _reading(control_text, True)
    if spec is None or scene is None:
        return 0.0
    return float(min(1.0, max(0.0, met_share(spec, scene))))
