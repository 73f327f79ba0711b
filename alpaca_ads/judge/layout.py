"""Pixel checks on where the text sits: contrast, overlap and margin, from the OCR boxes and pixels.

A `Scene` gathers what the three checks share: the OCR lines, each line's ink (its own background,
text colour, glyph box) and the non-text foreground components. A component counts as text when
it lies (>= 90 %) inside the OCR boxes; one that holds a text line entirely, with the line's rim
all on it, is a panel or button behind that line, which is fine; any other component reaching
into a line's core is a collision (an icon or shape over the text).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alpaca_ads.judge import pixels
from alpaca_ads.judge.ocr import OcrLine

SAFE_MARGIN_FRACTION = 0.02  # of the short side: text and elements stay this far from the edges
MIN_SAFE_MARGIN_PX = 2
NORMAL_CONTRAST = 4.5  # WCAG 2 AA, 1.4.3
LARGE_CONTRAST = 3.0
LARGE_TEXT_BOX_PX = 28  # OCR box height of ~24 px type (the box spans ascenders to descenders)
TEXT_SHARE = 0.9  # a component this much inside the OCR boxes is glyphs
CORE_INSET = 0.15  # of a line's height: the part of an OCR box that is surely the text's own
PANEL_RIM_PX = 2  # a panel covers this rim around the glyphs
PANEL_RIM_SHARE = 0.9
FOREIGN_DISTANCE = 60.0  # RGB distance off the text-background blend line: another element
FOREIGN_SHARE = 0.01  # of a line's core
INK_MATCH = 40.0  # max-channel distance from the line's text colour that is its glyphs
FUSED_REACH = 0.25  # of a line's height: how near its box an element is joined to its glyphs
Box = tuple[int, int, int, int]


@dataclass
class Scene:
    """The banner's text lines, their ink, and the foreground components that are not text."""

    rgb: np.ndarray
    lines: list[OcrLine]
    inks: list[pixels.Ink | None]
    others: list[pixels.Component]


def _inset(box: Box, by: int) -> Box:
    return (box[0] + by, box[1] + by, box[2] - by, box[3] - by)


def _clip(box: Box, w: int, h: int) -> Box:
    return (max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3]))


def _inside(comp: pixels.Component, box: Box) -> int:
    """How many of the component's pixels fall inside a box."""
    ys, xs = comp.pixels[:, 0], comp.pixels[:, 1]
    return int(((xs >= box[0]) & (xs < box[2]) & (ys >= box[1]) & (ys < box[3])).sum())


def build_scene(rgb: np.ndarray, lines: list[OcrLine]) -> Scene:
    """Measure every line's ink and split the foreground into text and other components."""
    h, w, _ = rgb.shape
    zone = np.zeros((h, w), dtype=bool)
    for line in lines:
        x0, y0, x1, y1 = _clip(_inset(line.box, -int(CORE_INSET * line.height) - 1), w, h)
        zone[y0:y1, x0:x1] = True
    others = []
    for comp in pixels.components(pixels.foreground_mask(rgb)):
        share = zone[comp.pixels[:, 0], comp.pixels[:, 1]].mean()
        if share < TEXT_SHARE:
            others.append(comp)
    inks = [pixels.read_ink(rgb, _ink_box(line), _clip(line.box, w, h)) for line in lines]
    return Scene(rgb, lines, inks, others)


def contrast(scene: Scene) -> tuple[bool, str]:
    """Every line's text colour against its own background meets WCAG AA for its size."""
    failures, worst = [], None
    for line, ink in zip(scene.lines, scene.inks):
        if ink is None:
            continue
        need = LARGE_CONTRAST if line.height >= LARGE_TEXT_BOX_PX else NORMAL_CONTRAST
        if ink.contrast < need:
            failures.append(f"{line.text!r} {ink.contrast:.2f}:1 < {need}:1")
        if worst is None or ink.contrast < worst[1]:
            worst = (line.text, ink.contrast)
    if failures:
        return False, "low contrast: " + "; ".join(failures)
    if worst is None:
        return True, "no text read, nothing to measure"
    return True, f"all {len(scene.lines)} text lines legible; lowest {worst[0]!r} {worst[1]:.2f}:1"


def _is_panel(comp: pixels.Component, line: OcrLine, glyphs: Box, ink: pixels.Ink | None,
              rgb: np.ndarray) -> bool:
    """The component holds the glyph box entirely and covers the rim just around it (where the
    rim crosses the line's own glyphs, those count as covered: a box is not always tight; and
    where the component is the colour the line stands on, so is its rim: a panel near the
    banner's background colour is only partly foreground where the fitted background bulges)."""
    shape = rgb.shape[:2]
    rim = _clip(_inset(glyphs, -PANEL_RIM_PX), shape[1], shape[0])
    if not (comp.box[0] <= rim[0] and comp.box[1] <= rim[1] and comp.box[2] >= rim[2]
            and comp.box[3] >= rim[3]):
        return False
    mask = np.zeros(shape, dtype=bool)
    mask[comp.pixels[:, 0], comp.pixels[:, 1]] = True
    covered = mask[rim[1]:rim[3], rim[0]:rim[2]]
    if ink is not None:
        patch = rgb[rim[1]:rim[3], rim[0]:rim[2]].astype(np.float64)
        own = np.abs(patch - np.asarray(ink.text)).max(axis=2) < INK_MATCH
        covered = covered | (own & _within(rim, line.box))
        if _colour_of(comp, rgb, ink.background):
            covered = covered | (np.abs(patch - np.asarray(ink.background)).max(axis=2)
                                 < INK_MATCH)
    ring = np.ones(covered.shape, dtype=bool)
    ring[PANEL_RIM_PX:-PANEL_RIM_PX, PANEL_RIM_PX:-PANEL_RIM_PX] = False
    return covered[ring].mean() >= PANEL_RIM_SHARE


def _colour_of(comp: pixels.Component, rgb: np.ndarray, colour: tuple[float, ...]) -> bool:
    """Whether most of the component is `colour` (within INK_MATCH): a panel of that colour."""
    sample = comp.pixels[:: max(1, len(comp.pixels) // 4000)]
    near = np.abs(rgb[sample[:, 0], sample[:, 1]].astype(np.float64)
                  - np.asarray(colour)).max(axis=1) < INK_MATCH
    return bool(near.mean() >= 0.5)


def _within(area: Box, box: Box) -> np.ndarray:
    """Mask over `area` of the pixels that also lie inside `box`."""
    ys = np.arange(area[1], area[3])[:, None]
    xs = np.arange(area[0], area[2])[None, :]
    return (xs >= box[0]) & (xs < box[2]) & (ys >= box[1]) & (ys < box[3])


def _ink_box(line: OcrLine) -> Box:
    """The OCR box less its vertical slop (which may spill past a button's edge)."""
    inset = max(1, int(CORE_INSET * line.height))
    return (line.box[0] + 1, line.box[1] + inset, line.box[2] - 1, line.box[3] - inset)


def _off_blend(colours: np.ndarray, ink: pixels.Ink) -> np.ndarray:
    """RGB distance of each colour (N, 3) from the line between the text's background and its
    ink: glyphs, background and their anti-aliased blends lie on it, another element does not."""
    a, b = np.asarray(ink.background), np.asarray(ink.text)
    span = b - a
    t = np.clip((colours - a) @ span / max(1e-6, float(span @ span)), 0.0, 1.0)
    return np.linalg.norm(colours - (a + t[:, None] * span), axis=1)


def _foreign(scene: Scene, line: OcrLine, ink: pixels.Ink) -> int:
    """Pixels in a line's core whose colour is neither its text, its background nor a blend."""
    x0, y0, x1, y1 = _core(line)
    patch = scene.rgb[y0:y1, x0:x1].reshape(-1, 3).astype(np.float64)
    if len(patch) == 0:
        return 0
    return int((_off_blend(patch, ink) > FOREIGN_DISTANCE).sum())


def _fused(scene: Scene, comp: pixels.Component, line: OcrLine, ink: pixels.Ink) -> bool:
    """Glyphs of the line joined to a differently coloured element beside it: a component that
    reaches to within FUSED_REACH of a line height of the line's own box (the OCR box stops where
    an icon covers the first glyphs). An icon set apart from the text by more is no collision:
    on 320x50 banners an icon 12 px before the headline had its anti-aliased rim read as
    'another colour' fused to the glyphs. 'Another colour' is one off the text-background blend
    line: the glyphs' own anti-aliased edge, far from both ends, had made a panel in a colour
    near the banner's background (a component holding the glyphs) 'run into' its own text."""
    x0, y0, x1, y1 = _core(line)
    ys, xs = comp.pixels[:, 0], comp.pixels[:, 1]
    rows = (ys >= y0) & (ys < y1)
    near = rows & (xs >= line.box[0] - line.height) & (xs < line.box[2] + line.height)
    reach = max(3, int(FUSED_REACH * line.height))
    touching = rows & (xs >= line.box[0] - reach) & (xs < line.box[2] + reach)
    if near.sum() < 20 or not touching.any():
        return False
    colours = scene.rgb[ys[near], xs[near]].astype(np.float64)
    to_text = np.abs(colours - np.asarray(ink.text)).max(axis=1)
    to_back = np.abs(colours - np.asarray(ink.background)).max(axis=1)
    glyph = (to_text < INK_MATCH).sum()
    other = ((to_text > FOREIGN_DISTANCE) & (to_back > FOREIGN_DISTANCE)
             & (_off_blend(colours, ink) > FOREIGN_DISTANCE)).sum()
    return glyph >= 10 and other >= 10


def _core(line: OcrLine) -> Box:
    return _inset(line.box, max(1, int(CORE_INSET * line.height)))


def _area(box: Box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def _collisions(scene: Scene) -> list[str]:
    """Reasons for every element reaching into a text line that it does not sit behind."""
    found = []
    for line, ink in zip(scene.lines, scene.inks):
        core = _core(line)
        glyphs = ink.box if ink else line.box
        if ink and _foreign(scene, line, ink) >= max(4, FOREIGN_SHARE * _area(core)):
            found.append(f"{line.text!r} has another colour inside it (an element over the text)")
            continue
        for comp in scene.others:
            if ink and _fused(scene, comp, line, ink) \
                    and not _is_panel(comp, line, glyphs, ink, scene.rgb):
                found.append(f"{line.text!r} runs into an element at {comp.box}")
                continue
            reach = _inside(comp, core)
            if reach >= max(3, 0.002 * _area(core)) \
                    and not _is_panel(comp, line, glyphs, ink, scene.rgb):
                found.append(f"{line.text!r} overlaps an element at {comp.box}")
    return found


def _intersection(a: Box, b: Box) -> Box:
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def overlap(scene: Scene) -> tuple[bool, str]:
    """No text line overlaps another line or a non-text element (its own button excepted)."""
    found = _collisions(scene)
    lines = scene.lines
    for i, a in enumerate(lines):
        for b in lines[i + 1:]:
            shared = _intersection(_core(a), _core(b))
            if shared[2] > shared[0] and shared[3] > shared[1]:
                found.append(f"text {a.text!r} overlaps text {b.text!r}")
    if found:
        return False, "; ".join(found)
    return True, f"{len(lines)} text lines clear of {len(scene.others)} other elements"


def safe_margin(width: int, height: int) -> int:
    """The safe margin in pixels for a banner size."""
    return max(MIN_SAFE_MARGIN_PX, round(SAFE_MARGIN_FRACTION * min(width, height)))


def _full_bleed(box: Box, w: int, h: int) -> bool:
    """A band from edge to edge (a background stripe) is not held to the margin."""
    return (box[0] == 0 and box[2] == w) or (box[1] == 0 and box[3] == h)


def margin(scene: Scene) -> tuple[bool, str]:
    """All glyphs and elements stay inside the safe margin."""
    h, w = scene.rgb.shape[:2]
    m = safe_margin(w, h)
    named = [(repr(line.text), ink.box if ink else line.box)
             for line, ink in zip(scene.lines, scene.inks)]
    named += [(f"element at {c.box}", c.box) for c in scene.others if not _full_bleed(c.box, w, h)]
    outside = [name for name, (x0, y0, x1, y1) in named
               if x0 < m or y0 < m or x1 > w - m or y1 > h - m]
    if outside:
        return False, f"inside the {m}px safe margin: " + "; ".join(outside)
    return True, f"everything inside the {m}px safe margin"
