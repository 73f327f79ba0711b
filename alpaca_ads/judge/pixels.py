"""Pixel measurements for the judge: WCAG contrast, the background, foreground components.

Everything here reads an RGB uint8 array (H, W, 3) and nothing else: no design JSON, no OCR. The
background is a smooth surface (flat or a gradient) fitted robustly to the image; pixels far from
it are foreground, grouped into 8-connected components from their row runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOREGROUND_DISTANCE = 40.0  # max-channel distance from the fitted background that is foreground
INK_DISTANCE = 48.0  # distance from a text box's own background that counts as a glyph pixel
MIN_COMPONENT_PIXELS = 6  # smaller specks are noise, not elements


def linear(channel: np.ndarray) -> np.ndarray:
    """sRGB 0..255 -> linear light 0..1 (WCAG 2's formula)."""
    c = np.asarray(channel, dtype=np.float64) / 255.0
    return np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of colours (..., 3)."""
    lin = linear(rgb)
    return lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722


def contrast_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """WCAG contrast of two colours, lighter over darker: 1.0 .. 21.0."""
    la, lb = float(luminance(np.asarray(a))), float(luminance(np.asarray(b)))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def hex_rgb(colour: str) -> np.ndarray:
    """'#RRGGBB' -> array([r, g, b])."""
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def _design(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Quadratic surface terms in normalised coordinates."""
    return np.stack([np.ones_like(xs), xs, ys, xs * xs, ys * ys, xs * ys], axis=1)


def fit_background(rgb: np.ndarray, rounds: int = 4) -> np.ndarray:
    """A smooth (quadratic) background surface, fitted first to the border, then to its inliers."""
    h, w, _ = rgb.shape
    step = max(1, int(np.sqrt(h * w / 40000)))
    small = rgb[::step, ::step].reshape(-1, 3).astype(np.float64)
    yy, xx = np.mgrid[0:h:step, 0:w:step]
    xs, ys = xx.ravel() / max(1, w - 1), yy.ravel() / max(1, h - 1)
    terms = _design(xs, ys)
    border = (xx.ravel() < 2 * step) | (yy.ravel() < 2 * step)
    border |= (xx.ravel() >= w - 2 * step) | (yy.ravel() >= h - 2 * step)
    inliers = border
    for _ in range(rounds):
        coef, *_ = np.linalg.lstsq(terms[inliers], small[inliers], rcond=None)
        residual = np.abs(terms @ coef - small).max(axis=1)
        fresh = residual < FOREGROUND_DISTANCE / 2
        if fresh.sum() < 0.05 * len(fresh):
            break
        inliers = fresh
    yy, xx = np.mgrid[0:h, 0:w]
    full = _design(xx.ravel() / max(1, w - 1), yy.ravel() / max(1, h - 1)) @ coef
    return full.reshape(h, w, 3)


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """True where a pixel is far from the fitted background."""
    return np.abs(rgb.astype(np.float64) - fit_background(rgb)).max(axis=2) > FOREGROUND_DISTANCE


@dataclass
class Component:
    """One 8-connected foreground region: its bounding box (x0, y0, x1, y1 exclusive) and pixels."""

    box: tuple[int, int, int, int]
    pixels: np.ndarray  # (N, 2) int: rows (y, x)

    @property
    def area(self) -> int:
        return len(self.pixels)


def _runs(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """(row, start, end) of every horizontal run of True."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    diff = np.diff(padded, axis=1)
    rows_s, starts = np.nonzero(diff == 1)
    _, ends = np.nonzero(diff == -1)
    return list(zip(rows_s.tolist(), starts.tolist(), ends.tolist()))


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union_runs(runs: list[tuple[int, int, int]]) -> list[int]:
    """Union-find over runs: runs of adjacent rows that touch (8-connectivity) join."""
    parent = list(range(len(runs)))
    by_row: dict[int, list[int]] = {}
    for i, (row, _, _) in enumerate(runs):
        by_row.setdefault(row, []).append(i)
    for i, (row, start, end) in enumerate(runs):
        for j in by_row.get(row - 1, ()):
            _, s2, e2 = runs[j]
            if s2 <= end and start <= e2:  # ends are exclusive: touching diagonally counts
                a, b = _find(parent, i), _find(parent, j)
                if a != b:
                    parent[a] = b
    return [_find(parent, i) for i in range(len(runs))]


def components(mask: np.ndarray) -> list[Component]:
    """8-connected components of a boolean mask, specks under MIN_COMPONENT_PIXELS dropped."""
    runs = _runs(mask)
    roots = _union_runs(runs)
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for run, root in zip(runs, roots):
        groups.setdefault(root, []).append(run)
    found = []
    for members in groups.values():
        ys = np.concatenate([np.full(e - s, r) for r, s, e in members])
        xs = np.concatenate([np.arange(s, e) for r, s, e in members])
        if len(ys) < MIN_COMPONENT_PIXELS:
            continue
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        found.append(Component(box, np.stack([ys, xs], axis=1)))
    return found


@dataclass(frozen=True)
class Ink:
    """What a text box holds: its own background colour, its text colour and the glyphs' box."""

    background: tuple[float, float, float]
    text: tuple[float, float, float]
    box: tuple[int, int, int, int]  # tight box of the glyph pixels, image coordinates
    contrast: float


def _ring(patch: np.ndarray) -> np.ndarray:
    """The outermost pixel ring of a patch, (N, 3)."""
    return np.concatenate([patch[0], patch[-1], patch[1:-1, 0], patch[1:-1, -1]]).astype(float)


def _dominant(colours: np.ndarray) -> np.ndarray:
    """The most common colour of a set (coarse 16-level bins), as the median of that bin."""
    keys = (colours // 16).astype(np.int64) @ np.array([256, 16, 1])
    values, counts = np.unique(keys, return_counts=True)
    return np.median(colours[keys == values[counts.argmax()]], axis=0)


def _background(rgb: np.ndarray, box: tuple[int, int, int, int],
                outer: tuple[int, int, int, int] | None) -> np.ndarray:
    """The dominant colour of the box's rim, of the outer box's rim or of a ring just outside
    the outer box, whichever fills more of the middle third of two side columns just outside
    the outer box (beside the first and last glyph). The inner rim alone misleads on bold type
    (it cuts through the glyphs), the outer rim alone on a tight button (its top and bottom
    rows run past the button's edge), and both where the OCR box hugs heavy type: its own side
    columns ran through the first and last glyph, and the glyphs' colour was read as the
    background."""
    x0, y0, x1, y1 = box
    inner = _dominant(_ring(rgb[y0:y1, x0:x1].astype(np.float64)))
    if outer is None or outer[2] - outer[0] < 3 or outer[3] - outer[1] < 3:
        return inner
    h, w = rgb.shape[:2]
    area = rgb[outer[1]:outer[3], outer[0]:outer[2]].astype(np.float64)
    reach = max(2, (outer[3] - outer[1]) // 8)
    wide = (max(0, outer[0] - reach), max(0, outer[1] - reach), min(w, outer[2] + reach),
            min(h, outer[3] + reach))
    beyond = rgb[wide[1]:wide[3], wide[0]:wide[2]].astype(np.float64)
    candidates = [_dominant(_ring(area)), inner, _dominant(_ring(beyond))]
    third = area.shape[0] // 3
    rows = slice(outer[1] + third, outer[3] - third)
    sides = np.concatenate([rgb[rows, max(0, outer[0] - 2)], rgb[rows, min(w - 1, outer[2] + 1)]]
                           ).astype(np.float64)

    def fill(colour: np.ndarray) -> int:
        return int((np.abs(sides - colour).max(axis=1) < INK_DISTANCE / 2).sum())
    return max(candidates, key=fill)


def read_ink(rgb: np.ndarray, box: tuple[int, int, int, int],
             outer: tuple[int, int, int, int] | None = None) -> Ink | None:
    """Background = the dominant colour of the box's rim (or the outer box's, see
    `_background`); text = the glyph pixels farthest from it."""
    x0, y0, x1, y1 = box
    patch = rgb[y0:y1, x0:x1].astype(np.float64)
    if patch.shape[0] < 3 or patch.shape[1] < 3:
        return None
    background = _background(rgb, box, outer)
    distance = np.abs(patch - background).max(axis=2)
    ink = distance > INK_DISTANCE
    if ink.sum() < 4:
        return Ink(tuple(background), tuple(background), box, 1.0)
    far = distance[ink] >= np.percentile(distance[ink], 70)
    text = np.median(patch[ink][far], axis=0)
    rows, cols = np.nonzero(ink)
    tight = (x0 + int(cols.min()), y0 + int(rows.min()), x0 + int(cols.max()) + 1,
             y0 + int(rows.max()) + 1)
    return Ink(tuple(background), tuple(text), tight, contrast_ratio(text, background))


def colour_share(rgb: np.ndarray, colour: str, tolerance: float) -> float:
    """Fraction of pixels within `tolerance` (Euclidean RGB) of a '#RRGGBB' colour."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250000)))
    small = rgb[::step, ::step].reshape(-1, 3).astype(np.float64)
    return float((np.linalg.norm(small - hex_rgb(colour), axis=1) <= tolerance).mean())
