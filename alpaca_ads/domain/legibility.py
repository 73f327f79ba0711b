"""The contrast floor: each text's colour pushed until it is legible on what lies behind it.

The design's text colour is the model's choice; here it is kept when it already reaches the
WCAG 1.4.3 floor (4.5:1, 3:1 for large text, plus a small margin for anti-aliasing) against the
pixels behind it, else darkened or lightened step by step from that choice (`colour.readable_on`).
What lies behind a text: a CTA label's button fill; otherwise the darkest and lightest pixels of
the painted background inside the text's box and the colours of decorations under it.
Deterministic; it knows nothing about briefs, the model or the judge.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from alpaca_ads.domain.colour import hex_colour, readable_on, required_contrast
from alpaca_ads.domain.spec import Design, Element

MARGIN = 0.3  # contrast above the WCAG floor, for anti-aliased glyph edges
TEXT_ROLES = ("headline", "subline", "cta")
EXTREMES = (2, 98)  # luminance percentiles of the background pixels taken as its extremes
SAMPLES = 4096  # about this many pixels of a box are looked at (an even grid)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def painted_extremes(background: np.ndarray, box: tuple[int, int, int, int]) -> tuple[str, ...]:
    """The darkest and lightest colours (2nd / 98th luminance percentile) of `background`
    (H, W, 3 uint8) inside `box`."""
    h, w = background.shape[:2]
    x0, y0 = min(max(0, box[0]), w - 1), min(max(0, box[1]), h - 1)
    x1, y1 = max(x0 + 1, min(w, box[2])), max(y0 + 1, min(h, box[3]))
    step = max(1, int(np.sqrt((x1 - x0) * (y1 - y0) / SAMPLES)))
    patch = background[y0:y1:step, x0:x1:step].reshape(-1, 3).astype(np.float64)
    lum = patch @ np.array([0.2126, 0.7152, 0.0722])
    order = np.argsort(lum, kind="stable")
    picks = {int(order[int(p / 100 * (len(order) - 1))]) for p in EXTREMES}
    return tuple(hex_colour(*patch[i]) for i in sorted(picks))


def behind(design: Design, element: Element, background: np.ndarray) -> tuple[str, ...]:
    """The colours a text element is read against (see the module docstring)."""
    if element.role == "cta" and element.background:
        return (element.background,)
    under = tuple(d.colour for d in design.elements
                  if d.role == "decoration" and _overlaps(d.box, element.box))
    return painted_extremes(background, element.box) + under


def legible(design: Design, background: np.ndarray) -> Design:
    """`design` with every text colour at or above the contrast floor on `background` (the
    painted background at the design's size, H x W x 3 uint8)."""
    elements = []
    for e in design.elements:
        if e.role in TEXT_ROLES and e.text:
            need = required_contrast(e.font_size or 12, e.weight == "bold") + MARGIN
            e = replace(e, colour=readable_on(behind(design, e, background), need, e.colour))
        elements.append(e)
    return replace(design, elements=tuple(elements))
