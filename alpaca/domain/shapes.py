"""Sprites and the renderer of the creative domain.

Knows: the geometry of each shape, rasterised once per size by exact 8x8 supersampled coverage
in numpy (mirror-symmetric, where Pillow's polygon edge rules made small shapes lopsided) and
cached; the three styles (solid; outline = the mask's 1-pixel boundary; striped = outline plus
every third row of the interior, so a striped object stays one 8-connected component); the
size of each size name as a fraction of the tile; where a placed object lands in pixels; and
the background (a solid colour, or a vertical gradient between two palette colours drawn as
ordered row dithering, so every pixel of a render is an exact palette colour).
Does not know: prompts, specs, sampling, the judge, or models. Rendering is pure numpy once a
sprite is cached: ~0.05 ms for a 64x64 tile.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .scene import COLOURS, Placed, Scene, colour_index

SIZE_FRACTION = {"small": 0.15, "medium": 0.21, "large": 0.27}  # object extent / tile side
SUPERSAMPLE = 8  # coverage samples per pixel side
STRIPE_PERIOD = 3  # striped: rows (from the sprite's top) with r % 3 == 2 are filled
PALETTE = np.array(list(COLOURS.values()), dtype=np.uint8)  # (K, 3), index = colour_index
_DITHER = (0, 4, 2, 6, 1, 5, 3, 7)  # ordered thresholds for gradient rows, in eighths


def extent(size: str, image_size: int) -> int:
    """Side in pixels of the square box a sprite of this size is drawn in."""
    return max(5, int(SIZE_FRACTION[size] * image_size))


def _polygon(shape: str) -> list[tuple[float, float]]:
    """Vertices in the unit box [0, 1]^2 (y down) for the polygonal shapes."""
    if shape == "square":
        return [(0, 0), (1, 0), (1, 1), (0, 1)]
    if shape == "triangle":
        return [(0.5, 0), (1, 1), (0, 1)]
    if shape == "diamond":
        return [(0.5, 0), (0.9, 0.5), (0.5, 1), (0.1, 0.5)]
    if shape == "hexagon":
        return [(0.25, 0.067), (0.75, 0.067), (1, 0.5), (0.75, 0.933), (0.25, 0.933), (0, 0.5)]
    if shape == "cross":
        a, b = 0.32, 0.68
        return [(a, 0), (b, 0), (b, a), (1, a), (1, b), (b, b), (b, 1), (a, 1), (a, b), (0, b),
                (0, a), (a, a)]
    if shape == "star":
        return _star()
    if shape == "heart":
        return _heart()
    raise ValueError(f"no polygon for shape {shape!r}")


def _star(points: int = 5, inner: float = 0.5) -> list[tuple[float, float]]:
    r = 0.5 / math.sin(math.radians(72))  # outer radius so the width is exactly 1
    verts = []
    for k in range(2 * points):
        rad = r if k % 2 == 0 else r * inner
        ang = math.radians(-90 + 36 * k)
        verts.append((0.5 + rad * math.cos(ang), r + rad * math.sin(ang)))
    return verts


def _heart(n: int = 48) -> list[tuple[float, float]]:
    pts = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((x, -y))
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, y0, span = min(xs), min(ys), max(max(xs) - min(xs), max(ys) - min(ys))
    return [((x - x0) / span, (y - y0) / span) for x, y in pts]


def _inside_polygon(px: np.ndarray, py: np.ndarray, verts: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule: which points (px, py) lie inside the polygon."""
    inside = np.zeros(px.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(verts, verts[1:] + verts[:1]):
        if y0 == y1:
            continue
        crosses = (py >= min(y0, y1)) & (py < max(y0, y1))
        x_at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (px < x_at)
    return inside


@lru_cache(maxsize=None)
def solid_mask(shape: str, side: int) -> np.ndarray:
    """Boolean mask of a solid shape in a side x side box, cropped to its bounding box.

    Coverage is sampled at SUPERSAMPLE^2 points per pixel (exact and mirror-symmetric, unlike
    a rasteriser's edge rules) and a pixel is set when at least half of it is covered.
    """
    big = side * SUPERSAMPLE
    centres = (np.arange(big) + 0.5) / big
    px, py = np.meshgrid(centres, centres)
    if shape == "circle":
        cover = (px - 0.5) ** 2 + (py - 0.5) ** 2 <= 0.25
    else:
        cover = _inside_polygon(px, py, _polygon(shape))
    cover = cover.reshape(side, SUPERSAMPLE, side, SUPERSAMPLE).mean(axis=(1, 3))
    return _crop(cover >= 0.5)


def _crop(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of the mask with a 4-neighbour outside it (an 8-connected ring)."""
    p = np.pad(mask, 1)
    inner = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & ~inner


@lru_cache(maxsize=None)
def sprite(shape: str, size: str, style: str, image_size: int) -> np.ndarray:
    """Read-only boolean mask of one object, cropped to its bounding box."""
    solid = solid_mask(shape, extent(size, image_size))
    if style == "solid":
        mask = solid
    elif style == "outline":
        mask = _boundary(solid)
    elif style == "striped":
        rows = (np.arange(solid.shape[0]) % STRIPE_PERIOD == STRIPE_PERIOD - 1)[:, None]
        mask = _boundary(solid) | (solid & rows)
    else:
        raise ValueError(f"unknown style {style!r}")
    mask = mask.copy()
    mask.setflags(write=False)
    return mask


def placement(obj: Placed, image_size: int) -> tuple[int, int]:
    """(top, left) pixel of the object's sprite in a tile of `image_size`."""
    h, w = sprite(obj.shape, obj.size, obj.style, image_size).shape
    top = math.floor(obj.cy * image_size - h / 2 + 0.5)
    left = math.floor(obj.cx * image_size - w / 2 + 0.5)
    return top, left


@lru_cache(maxsize=None)
def gradient_rows(image_size: int) -> np.ndarray:
    """Boolean (image_size,): True where a gradient row takes the bottom colour."""
    t = (np.arange(image_size) + 0.5) / image_size
    thresholds = (np.array(_DITHER)[np.arange(image_size) % 8] + 0.5) / 8
    rows = t > thresholds
    rows.setflags(write=False)
    return rows


def background_indices(background: tuple[str, str | None], image_size: int) -> np.ndarray:
    """(S, S) uint8 palette indices of the background alone."""
    top = colour_index(background[0])
    out = np.full((image_size, image_size), top, dtype=np.uint8)
    if background[1] is not None:
        out[gradient_rows(image_size)] = colour_index(background[1])
    return out


def render_indices(scene: Scene, size: int = 64) -> np.ndarray:
    """(size, size) uint8 palette index per pixel: the render as class labels."""
    canvas = background_indices(scene.background, size)
    for obj in scene.objects:
        mask = sprite(obj.shape, obj.size, obj.style, size)
        top, left = placement(obj, size)
        h, w = mask.shape
        if top < 0 or left < 0 or top + h > size or left + w > size:
            raise ValueError(f"object {obj} falls outside a {size}px tile")
        canvas[top:top + h, left:left + w][mask] = colour_index(obj.colour)
    return canvas


def render(scene: Scene, size: int = 64) -> np.ndarray:
    """(size, size, 3) uint8 RGB render; deterministic, every pixel a palette colour."""
    return PALETTE[render_indices(scene, size)]
