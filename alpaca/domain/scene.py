"""Vocabulary and value types of the creative domain.

Knows: the palette (12 colours whose RGB values lie >= 100 apart, so nearest-palette
classification of a render is exact), the 8 shapes, 3 sizes, 3 styles, the 3x3 grid, the prompt
categories, and the frozen dataclasses that say what a prompt asks for (`Spec`) and what a tile
shows (`Scene`), with index helpers for per-object supervision.
Does not know: how tiles are drawn (`shapes`), how prompts are worded or parsed (`grammar`,
`parser`), how specs are sampled or checked (`domain`), or anything about models.
"""

from __future__ import annotations

from dataclasses import dataclass

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 40),
    "orange": (255, 130, 0),
    "yellow": (250, 230, 30),
    "green": (30, 160, 60),
    "blue": (30, 80, 220),
    "purple": (140, 40, 180),
    "pink": (250, 140, 210),
    "brown": (120, 70, 30),
    "black": (10, 10, 10),
    "white": (250, 250, 250),
    "gray": (128, 128, 128),
    "cyan": (20, 200, 220),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)
SHAPES: tuple[str, ...] = (
    "circle", "square", "triangle", "star", "heart", "diamond", "cross", "hexagon",
)
SIZES: tuple[str, ...] = ("small", "medium", "large")
STYLES: tuple[str, ...] = ("solid", "outline", "striped")
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")
GRID = 3  # the tile is a GRID x GRID grid of cells, (row, col), (0, 0) = top left
MAX_OBJECTS = 6  # at most this many objects in a scene, one per cell
CATEGORIES: tuple[str, ...] = (
    "single_object", "colours", "position", "two_objects", "three_objects",
    "colour_attribution", "counting", "style",
)
CAPTION = "caption"  # the category of a Spec parsed from a caption (a full scene description)
LANGS: tuple[str, ...] = ("en", "zh")
CELLS: tuple[tuple[int, int], ...] = tuple((r, c) for r in range(GRID) for c in range(GRID))


def _require(value: object, allowed: tuple, what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {allowed}")


@dataclass(frozen=True)
class ObjectSpec:
    """One object (or `count` identical objects) a prompt asks for; None = left open."""

    shape: str  # one of SHAPES; always stated
    colour: str | None  # one of COLOURS, or None (open: the seed decides)
    size: str | None = None  # one of SIZES, or None (open)
    style: str | None = None  # one of STYLES, or None (open)
    count: int = 1  # exactly this many matching objects
    cell: tuple[int, int] | None = None  # (row, col) on the grid, or None (open)

    def __post_init__(self) -> None:
        _require(self.shape, SHAPES, "shape")
        _require(self.colour, (None, *COLOUR_NAMES), "colour")
        _require(self.size, (None, *SIZES), "size")
        _require(self.style, (None, *STYLES), "style")
        _require(self.cell, (None, *CELLS), "cell")
        if not 1 <= self.count <= MAX_OBJECTS:
            raise ValueError(f"count {self.count} outside 1..{MAX_OBJECTS}")


@dataclass(frozen=True)
class Relation:
    """`objects[subject]` is `relation` `objects[object]` (each a single object)."""

    subject: int  # index into Spec.objects
    relation: str  # one of RELATIONS
    object: int  # index into Spec.objects

    def __post_init__(self) -> None:
        _require(self.relation, RELATIONS, "relation")
        if self.subject == self.object:
            raise ValueError("a relation needs two different objects")


@dataclass(frozen=True)
class Spec:
    """What a prompt asks for. The judge checks exactly what is stated here."""

    category: str  # one of CATEGORIES, or CAPTION for a parsed caption
    objects: tuple[ObjectSpec, ...]  # the objects asked for, in canonical order
    relation: Relation | None = None  # a spatial relation between two of the objects
    background: str | None = None  # background colour (top colour of a gradient), None = open
    gradient: str | None = None  # bottom colour of a gradient background; None = solid

    def __post_init__(self) -> None:
        _require(self.category, (*CATEGORIES, CAPTION), "category")
        _require(self.background, (None, *COLOUR_NAMES), "background colour")
        _require(self.gradient, (None, *COLOUR_NAMES), "gradient colour")
        if self.gradient is not None and self.background in (None, self.gradient):
            raise ValueError("a gradient needs two different stated colours")
        if not self.objects:
            raise ValueError("a spec needs at least one object")
        if self.relation is not None:
            ends = (self.relation.subject, self.relation.object)
            if not all(0 <= i < len(self.objects) for i in ends):
                raise ValueError(f"relation {self.relation} refers to a missing object")
            if any(self.objects[i].count != 1 for i in ends):
                raise ValueError("a relation holds between two single objects")


@dataclass(frozen=True)
class Placed:
    """One object as drawn: every attribute fixed, centre in [0, 1] tile coordinates."""

    shape: str  # one of SHAPES
    colour: str  # one of COLOURS
    size: str  # one of SIZES
    style: str  # one of STYLES
    cell: tuple[int, int]  # (row, col) of the grid cell holding it
    cx: float  # centre x in [0, 1], left to right
    cy: float  # centre y in [0, 1], top to bottom


@dataclass(frozen=True)
class Scene:
    """A tile: background (colour, gradient bottom colour or None) and its objects."""

    background: tuple[str, str | None]
    objects: tuple[Placed, ...]


def colour_index(name: str) -> int:
    """Palette index of a colour name (the order of COLOURS)."""
    return COLOUR_NAMES.index(name)


def shape_index(name: str) -> int:
    return SHAPES.index(name)


def size_index(name: str) -> int:
    return SIZES.index(name)


def style_index(name: str) -> int:
    return STYLES.index(name)


def cell_index(cell: tuple[int, int]) -> int:
    """Row-major index of a grid cell, 0..GRID*GRID-1."""
    return cell[0] * GRID + cell[1]


def cell_centre(cell: tuple[int, int]) -> tuple[float, float]:
    """(cx, cy) in [0, 1] of a cell's centre."""
    return (cell[1] + 0.5) / GRID, (cell[0] + 0.5) / GRID


def cell_of(cx: float, cy: float) -> tuple[int, int]:
    """The grid cell holding the point (cx, cy) in [0, 1] coordinates."""
    row = min(GRID - 1, max(0, int(cy * GRID)))
    col = min(GRID - 1, max(0, int(cx * GRID)))
    return row, col


def relation_holds(relation: str, subject: tuple[int, int], obj: tuple[int, int]) -> bool:
    """Whether a subject in cell `subject` is `relation` an object in cell `obj`."""
    if relation == "left of":
        return subject[1] < obj[1]
    if relation == "right of":
        return subject[1] > obj[1]
    if relation == "above":
        return subject[0] < obj[0]
    return subject[0] > obj[0]
