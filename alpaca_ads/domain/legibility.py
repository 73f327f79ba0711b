"""The contrast floor: each text's colour pushed until it is legible on what lies behind it.

The design's text colour is the model's choice; here it is kept when it already reaches the
WCAG 1.4.3 floor (4.5:1, 3:1 for large text, times HEADROOM for anti-aliasing, TINY_HEADROOM
under TINY_PX, where the strokes are a pixel wide) against the pixels behind it, else darkened
or lightened step by step from that choice, or white or black where no shade reaches it
(`colour.readable_on`);
a CTA label no colour of which reaches the floor on its button has the button's fill shaded
from the model's choice instead.
What lies behind a text: a CTA label's button fill; otherwise the darkest and lightest pixels
inside the text's box of the banner rendered without its text (painted background, decorations,
icon). Text counts as large from LARGE_PX (stricter than WCAG's 24 px: a reader measures the
line's box, not the font size).
Deterministic; it knows nothing about briefs, the model or the judge.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from alpaca_ads.domain.checks import boxes_overlap, surface_colours
from alpaca_ads.domain.colour import LARGE_TEXT as LARGE
from alpaca_ads.domain.colour import NORMAL_TEXT as NORMAL
from alpaca_ads.domain.colour import (BLACK, WHITE, distance, hex_colour, min_contrast,
                                      readable_on, shade)
from alpaca_ads.domain.layouts import edge_bar_thickness, safe_margin
from alpaca_ads.domain.spec import SIZES, Design, Element

HEADROOM = 1.3  # times the WCAG floor: thin anti-aliased glyphs read lighter than their colour
LARGE_PX = 30  # font size from which the 3:1 floor of large text applies
TINY_PX, TINY_HEADROOM = 14, 1.6  # text under 14 px: one-pixel strokes read ~0.7x their contrast
TEXT_ROLES = ("headline", "subline", "cta")
SMALL_TEXT_FLOOR = NORMAL * HEADROOM  # what small text on the bare background must reach
SHADE_STEP = 0.12  # the palette's step: one step keeps a brand colour within the judge's reach
MAX_SHADE_STEPS = 3
EXTREMES = (2, 98)  # luminance percentiles of the background pixels taken as its extremes
SAMPLES = 4096  # about this many pixels of a box are looked at (an even grid)
BRAND_REACH = 40.0  # RGB distance within which a colour still reads as the brand colour
ICON_CONTRAST = 3.0  # WCAG 2.1 1.4.11: graphical objects against what is next to them


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


def behind(element: Element, backdrop: np.ndarray) -> tuple[str, ...]:
    """The colours a text element is read against (see the module docstring)."""
    if element.role == "cta" and element.background:
        return (element.background,)
    return painted_extremes(backdrop, element.box)


def without_text(design: Design) -> Design:
    """The design with every text emptied (buttons, icon and decorations stay)."""
    return replace(design, elements=tuple(replace(e, text="") if e.role in TEXT_ROLES else e
                                          for e in design.elements))


def legible(design: Design, backdrop: np.ndarray) -> Design:
    """`design` with every text colour at or above the contrast floor on `backdrop` (the banner
    rendered without its text, H x W x 3 uint8: `without_text`)."""
    elements = []
    for e in design.elements:
        if e.role in TEXT_ROLES and e.text:
            need = (LARGE if e.font_size and e.font_size >= LARGE_PX else NORMAL) * HEADROOM
            want = need / HEADROOM * TINY_HEADROOM if (e.font_size or 0) < TINY_PX else need
            e = replace(e, colour=readable_on(behind(e, backdrop), want, e.colour))
            if e.role == "cta" and e.background and min_contrast(e.colour, (e.background,)) < need:
                e = replace(e, background=readable_on((e.colour,), need, e.background))
        elements.append(e)
    return replace(design, elements=tuple(elements))


def icon_backdrop(design: Design, icon: Element) -> tuple[str, ...]:
    """The colours an icon is seen on: the last decoration drawn under its centre (a panel),
    else the design's background."""
    cx, cy = (icon.box[0] + icon.box[2]) / 2, (icon.box[1] + icon.box[3]) / 2
    under = [e.colour for e in design.elements if e.role == "decoration"
             and e.box[0] <= cx < e.box[2] and e.box[1] <= cy < e.box[3]]
    return (under[-1],) if under else tuple(design.background)


def visible_icon(design: Design) -> Design:
    """`design` with its icon's colour at ICON_CONTRAST or more against what it is drawn on,
    shaded from the model's choice where it falls short: the model picks colours against the
    background it chose, and an icon in the colour of a full-banner panel over it was not
    there to the eye (`make demo`, navy on navy)."""
    return replace(design, elements=tuple(
        replace(e, colour=readable_on(icon_backdrop(design, e), ICON_CONTRAST, e.colour))
        if e.role == "icon" else e for e in design.elements))


def _best_text_contrast(background: tuple[str, ...]) -> float:
    return max(min_contrast(WHITE, background), min_contrast(BLACK, background))


def room_for_small_text(design: Design) -> Design:
    """`design` with its background, and every decoration that lies under small text, shaded a
    step at a time until white or black small text on it reaches SMALL_TEXT_FLOOR (a mid-tone
    brand red takes white at 4.7:1 at best, which one-pixel strokes do not show; a full-banner
    panel of it is what the text is read on, whatever the background under it).
    Shaded towards whichever of black and white already reads better: a brand colour one step
    darker is still that colour to the eye."""
    small = [e for e in design.elements if e.role in ("headline", "subline") and e.text
             and not (e.font_size and e.font_size >= LARGE_PX)]
    if not small:
        return design
    elements = tuple(replace(e, colour=_roomy((e.colour,))[0])
                     if e.role == "decoration" and any(boxes_overlap(e.box, t.box) for t in small)
                     else e
                     for e in design.elements)
    return replace(design, background=_roomy(tuple(design.background)), elements=elements)


def keep_background_colour(chosen: Design, held: Design) -> Design:
    """`held` (`chosen` after the floors above), with the background colour the model chose
    kept as an edge bar (`with_edge_bar`) where the floors shaded it, and its icon and CTA
    fill, out of the banner: as the designer keeps a brand colour nothing else shows. Teal
    #008080 under 16 px white text went two steps to #006161, its icon to #7ABDBD and its
    button to #006161, and the banner showed no teal."""
    colour = chosen.background[0]
    shown = colour in held.background or any(
        colour in (e.colour, e.background) for e in held.elements)
    return held if shown else with_edge_bar(held, colour)


def keep_brand_colour(design: Design, brand: str | None) -> Design:
    """`design` (after the floors and `keep_background_colour`) with the brief's brand colour
    put back in sight where no surface shows it any more (none within BRAND_REACH): a panel
    that leaves a frame takes it as the background, so the frame shows it; otherwise an edge
    bar (`with_edge_bar`). The floors shade what lies under small text: a forest green #228B22
    panel under black text went to #57A757 on a near-black background, and 4 of the 29
    round-0 failures of 500 held-out briefs showed no brand colour the model had read right."""
    if not brand or any(distance(brand, c) <= BRAND_REACH for c in surface_colours(design)):
        return design
    if _frame_panel(design) is not None:
        return replace(design, background=(brand, *design.background[1:]))
    return with_edge_bar(design, brand)


def _frame_panel(design: Design) -> Element | None:
    """A decoration over all of the banner but a frame inside the safe margin, if any."""
    w, h = SIZES[design.size]
    m = safe_margin(design.size)
    for e in design.elements:
        x0, y0, x1, y1 = e.box
        if e.role == "decoration" and 0 < x0 <= m and 0 < y0 <= m and x1 >= w - m \
                and y1 >= h - m and x1 < w and y1 < h:
            return e
    return None


def _edge_bar_box(size: str) -> tuple[int, int, int, int]:
    """Where `with_edge_bar` puts its bar: the left edge of tall formats, else the bottom."""
    w, h = SIZES[size]
    t = edge_bar_thickness(size)
    return (0, 0, t, h) if h > w else (0, h - t, w, h)


def with_edge_bar(design: Design, colour: str) -> Design:
    """`design` with a bar of `colour` along an edge (`_edge_bar_box`), `edge_bar_thickness`
    thick, drawn first: inside the safe margin, it lies under no element."""
    bar = Element("decoration", _edge_bar_box(design.size), colour, shape="bar")
    return replace(design, elements=(bar, *design.elements))


def without_edge_bar(design: Design) -> Design:
    """`design` less the bar `keep_background_colour` added: the interactor revises the
    model's own design (given the bar, it moved it off the edge and thinned it)."""
    box = _edge_bar_box(design.size)
    return replace(design, elements=tuple(
        e for e in design.elements if not (e.role == "decoration" and e.box == box)))


def _roomy(background: tuple[str, ...]) -> tuple[str, ...]:
    """`background` shaded (at most MAX_SHADE_STEPS steps) until white or black small text
    reaches SMALL_TEXT_FLOOR on it; as it was if it already does."""
    if not background or _best_text_contrast(background) >= SMALL_TEXT_FLOOR:
        return background
    darker = min_contrast(WHITE, background) >= min_contrast(BLACK, background)
    for step in range(1, MAX_SHADE_STEPS + 1):
        amount = SHADE_STEP * step if darker else -SHADE_STEP * step
        shaded = tuple(shade(c, amount) for c in background)
        if _best_text_contrast(shaded) >= SMALL_TEXT_FLOOR:
            break
    return shaded
