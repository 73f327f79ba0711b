"""Designs as arrays: layout targets and inputs, predictions back to a `Design`, reader views.

Per slot (SLOTS order: headline, subline, cta, icon, then the bar, circle and dots
decorations) a design is: present, normalised box, log font size over the banner height, bold,
number of lines, text colour and button fill as palette-candidate indices; plus
the background style and two background colours (candidate indices). No torch.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from PIL import Image

from alpaca_ads.domain.checks import min_font_size
from alpaca_ads.domain.layouts import safe_margin
from alpaca_ads.domain.spec import SIZES, Copy, Design, Element
from alpaca_ads.domain.typeset import block_size, fit, wrap

from . import palette
from .codec import FONT_ROLES, log_font, norm_box
from .config import DECORATIONS, ISSUES, ROLES, SLOTS, AdsConfig
from .layout import MAX_LINES

R = len(SLOTS)
MIN_FONT = 10  # px: the smallest size the typesetter sets text in the model's own box
BLEED = 0.9  # share of the banner's width or height from which a decoration bleeds to the edges
GROW_LINES = 6  # lines a text may take when its box grows to hold it
ROOM_GAP = 4  # px a grown text box keeps from the boxes above and below it
ICON_KEEP = 0.4  # an icon trimmed clear of the text below this share of its side is left out


def slot_element(design: Design, slot: str) -> Element | None:
    """The design's element in `slot`: a role, or a decoration of that shape."""
    if slot in DECORATIONS:
        return next((e for e in design.elements if e.role == "decoration" and e.shape == slot),
                    None)
    return design.element(slot)


def design_targets(design: Design, cands: list[str], cfg: AdsConfig) -> dict[str, np.ndarray]:
    """The layout heads' targets for `design` (see the module docstring)."""
    t = {"present": np.zeros(R, np.float32), "box": np.zeros((R, 4), np.float32),
         "font": np.zeros(R, np.float32), "bold": np.zeros(R, np.float32),
         "colour": np.zeros(R, np.int64), "fill": np.zeros(R, np.int64),
         "lines": np.zeros(R, np.int64)}
    for r, slot in enumerate(SLOTS):
        el = slot_element(design, slot)
        if el is None:
            continue
        t["present"][r] = 1.0
        t["box"][r] = norm_box(el.box, design.size)
        t["font"][r] = log_font(el.font_size, design.size) if slot in FONT_ROLES else 0.0
        t["bold"][r] = float(el.weight == "bold")
        t["lines"][r] = min(MAX_LINES, (el.text or "").count("\n") + 1) - 1
        t["colour"][r] = palette.nearest(el.colour, cands)
        t["fill"][r] = palette.nearest(el.background or el.colour, cands)
    bg = list(design.background) + list(design.background[:1])
    t["style"] = np.int64(cfg.bg_styles.index(design.background_style)
                          if design.background_style in cfg.bg_styles else 0)
    t["bg"] = np.array([palette.nearest(c, cands) for c in bg[:2]], np.int64)
    return t


def current_inputs(design: Design, issues: dict[str, set[str]], cands: list[str],
                   cfg: AdsConfig) -> dict[str, np.ndarray]:
    """The interactor's view of the current design plus the issues the control text names."""
    t = design_targets(design, cands, cfg)
    flags = np.array([[float(i in issues.get(slot, set())) for i in ISSUES] for slot in SLOTS],
                     np.float32)
    cur = np.concatenate([t["present"][:, None], t["box"], t["font"][:, None],
                          t["bold"][:, None], flags], 1)
    return {"cur": cur.astype(np.float32), "cur_colour": t["colour"], "cur_bg": t["bg"],
            "cur_style": t["style"]}


def _px_box(box: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (float(v) for v in np.clip(box, 0.0, 1.0))
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    return (round(x0 * w), round(y0 * h), max(round(x1 * w), round(x0 * w) + 2),
            max(round(y1 * h), round(y0 * h) + 2))


def _set(text: str, lang: str, font: int, box: tuple[int, int, int, int], lines: int,
         bold: bool, floor: int, pad: tuple[int, int] = (0, 0),
         room: tuple[int, int] | None = None
         ) -> tuple[str, int, tuple[int, int, int, int]]:
    """(wrapped text, font size, box): the text set into the model's box with the real font.

    The model's font size is the largest allowed and its line count the first tried: the size
    shrinks (not below `floor`, the format's smallest legible size) until the text fits the box
    less `pad` (x, y) on each side; then 2 lines are allowed where the box is tall enough;
    then up to MAX_LINES lines down to MIN_FONT px; last, the box grows in height about its
    centre within `room` (top, bottom), up to GROW_LINES lines (a CTA's button grows with it,
    its lines as the model set them: a button shorter than its label's legible size had the
    label spill out above and below). If nothing fits, the model's size and lines stand (the
    text overflows, for the reader to see).
    """
    width, height = box[2] - box[0] - 2 * pad[0], box[3] - box[1] - 2 * pad[1]
    tries = [(min(floor, font), lines), (min(floor, font), max(lines, 2)),
             (min(MIN_FONT, font), MAX_LINES)]
    for low, max_lines in dict.fromkeys(tries):
        fitted = fit(text, lang, width, height, (low, font), max_lines, bold) if width > 0 \
            else None
        if fitted is not None:
            return (*fitted, box)
    if room is not None and width > 0:
        grow_lines = lines if pad[1] else GROW_LINES  # a button keeps the model's lines
        fitted = fit(text, lang, width, room[1] - room[0] - 2 * pad[1], (min(floor, font), font),
                     grow_lines, bold)
        if fitted is not None:
            need = block_size(fitted[0], fitted[1], bold)[1] + 2 + 2 * pad[1]
            top = min(max(room[0], (box[1] + box[3] - need) // 2), room[1] - need)
            return (*fitted, (box[0], top, box[2], top + need))
    return wrap(text, lang, font, box[2] - box[0], lines, bold) or text, font, box


def _room(box: tuple[int, int, int, int], others: list[tuple[int, int, int, int]],
          margin: int, h: int) -> tuple[int, int]:
    """(top, bottom) a text box may grow in: inside the safe margin and short of the boxes
    the model put above and below it (a subline grown about its centre had run into the
    headline's last line)."""
    top, bottom = margin, h - margin
    middle = (box[1] + box[3]) / 2
    for o in others:
        if o[0] >= box[2] or box[0] >= o[2]:
            continue  # side by side, not above or below
        if (o[1] + o[3]) / 2 < middle:
            top = max(top, min(o[3] + ROOM_GAP, box[1]))
        else:
            bottom = min(bottom, max(o[1] - ROOM_GAP, box[3]))
    return top, bottom


def _button_padding(box: tuple[int, int, int, int]) -> tuple[int, int]:
    """Room a CTA label leaves inside its button, (x, y): glyphs touching the button's edge
    read as text spilling out of it."""
    height = box[3] - box[1]
    return max(2, height // 4), max(3, height // 5)


def _tight(box: tuple[int, int, int, int], text: str, font: int, bold: bool
           ) -> tuple[int, int, int, int]:
    """A text box shrunk in height about its centre to the block set in it (the renderer centres
    the block, so nothing moves): the text below may then grow into what the model's box left
    empty. A 300x250 subline of 59 characters found 41 px between a one-line headline's 57 px
    box and the button, and ran out of the banner on one line (3 of 29 round-0 failures of 500
    held-out briefs)."""
    x0, y0, x1, y1 = box
    need = block_size(text, font, bold)[1] + 2
    if need >= y1 - y0:
        return box
    top = (y0 + y1 - need) // 2
    return x0, top, x1, top + need


def _roomy_button(box: tuple[int, int, int, int], label: str, font: int, bold: bool,
                  w: int, margin: int) -> tuple[int, int, int, int]:
    """A CTA button widened about its centre (inside the safe margin) until its label keeps
    half the button's height clear on each side: the pill's rounded ends take that much, and a
    label reaching into them reads, to the eye and to an OCR box, as text spilling onto what
    lies behind the button (5 of 29 round-0 failures of 500 held-out briefs, 300x250)."""
    x0, y0, x1, y1 = box
    need = block_size(label, font, bold)[0] + 2 * max(2, (y1 - y0) // 2)
    if x1 - x0 >= need:
        return box
    need = min(need, w - 2 * margin)
    left = min(max(margin, (x0 + x1 - need) // 2), w - margin - need)
    return left, y0, left + need, y1


def bleed(box: tuple[int, int, int, int], w: int, h: int,
          margin: int) -> tuple[int, int, int, int]:
    """A decoration's box as printers set it: on an axis where it spans at least BLEED of the
    banner it runs edge to edge (a band); otherwise an edge inside the safe margin is pulled
    back to the margin (a decoration never sits half in it). A panel that spans BLEED both
    ways leaves a frame of half the margin: bled edge to edge it hid the background, often
    the brand colour the model put there (brand colour failures on the first 300 held-out
    briefs 15 -> 6); at the margin itself its inner edge ran into text near the margin, and
    a quarter of the margin put the panel's edge inside the margin a banner keeps clear."""
    x0, y0, x1, y1 = box
    if x1 - x0 >= BLEED * w and y1 - y0 >= BLEED * h:
        frame = max(2, margin // 2)
        return frame, frame, w - frame, h - frame
    if x1 - x0 >= BLEED * w:
        x0, x1 = 0, w
    else:
        x0, x1 = max(x0, margin), min(x1, w - margin)
    if y1 - y0 >= BLEED * h:
        y0, y1 = 0, h
    else:
        y0, y1 = max(y0, margin), min(y1, h - margin)
    return x0, y0, max(x1, x0 + 2), max(y1, y0 + 2)


def _icon_clear(elements: list[Element], gap: int) -> list[Element]:
    """The elements with the icon's box trimmed clear of the text (`clear_of_text`)."""
    texts = [e.box for e in elements if e.role != "icon"]
    out = []
    for e in elements:
        if e.role == "icon":
            box = clear_of_text(e.box, texts, gap)
            if box is None:
                continue
            e = replace(e, box=box)
        out.append(e)
    return out


def to_design(pred: dict[str, np.ndarray], size: str, cands: list[str], copy: Copy,
              icon: str | None, cfg: AdsConfig) -> Design:
    """A `Design` from one item's layout predictions (numpy, already argmaxed/thresholded)."""
    w, h = SIZES[size]
    margin = safe_margin(size)
    texts = {"headline": copy.headline, "subline": copy.subline, "cta": copy.cta}
    shown = [r for r, slot in enumerate(SLOTS) if pred["present"][r]
             and not (slot in texts and not texts[slot]) and not (slot == "icon" and not icon)]
    content = {r: _px_box(pred["box"][r], w, h) for r in shown if SLOTS[r] not in DECORATIONS}
    decorations, elements = [], []
    for r in shown:
        slot = SLOTS[r]
        box, colour = _px_box(pred["box"][r], w, h), cands[int(pred["colour"][r])]
        if slot in DECORATIONS:
            decorations.append(Element("decoration", bleed(box, w, h, margin), colour,
                                       shape=slot))
        elif slot == "icon":
            elements.append(Element("icon", box, colour, icon=icon))
        else:
            font = max(6, min(400, round(math.exp(float(pred["font"][r])) * h)))
            bold = bool(pred["bold"][r])
            pad = _button_padding(box) if slot == "cta" else (0, 0)
            text, font, box = _set(texts[slot], copy.language, font, box,
                                   int(pred["lines"][r]) + 1, bold, min_font_size(size, slot),
                                   pad, _room(box, [b for q, b in content.items() if q != r],
                                              margin, h))
            if slot == "cta":
                box = _roomy_button(box, text, font, bold, w, margin)
            else:
                box = content[r] = _tight(box, text, font, bold)
            elements.append(Element(
                slot, box, colour, text=text,
                font_size=font, weight="bold" if bold else "regular",
                background=cands[int(pred["fill"][r])] if slot == "cta" else None))
    elements = _icon_clear(elements, margin)
    order = ("icon", "headline", "subline", "cta")
    elements = decorations + sorted(elements, key=lambda e: order.index(e.role))
    style = cfg.bg_styles[int(pred["style"])]
    bg = tuple(cands[int(i)] for i in pred["bg"])
    return Design(size=size, background=bg[:1] if style == "flat" else bg,
                  background_style=style, elements=tuple(elements))


def clear_of_text(box: tuple[int, int, int, int], texts: list[tuple[int, int, int, int]],
                  gap: int) -> tuple[int, int, int, int] | None:
    """An icon's box trimmed to keep `gap` px clear of every text box it reaches into, on the
    side where it reaches in least (an icon above the headline loses its bottom); None where
    what is left is under ICON_KEEP of its side. The model places the icon; the typeset text
    is often taller than the box it was given, and the interactor left 3 of 14 overlaps on
    the first 500 held-out briefs in place over 3 rounds."""
    x0, y0, x1, y1 = box
    side = min(x1 - x0, y1 - y0)
    for tx0, ty0, tx1, ty1 in texts:
        dx = min(x1, tx1 + gap) - max(x0, tx0 - gap)
        dy = min(y1, ty1 + gap) - max(y0, ty0 - gap)
        if dx <= 0 or dy <= 0:
            continue
        if dy <= dx:
            y0, y1 = (y0, ty0 - gap) if y0 + y1 < ty0 + ty1 else (ty1 + gap, y1)
        else:
            x0, x1 = (x0, tx0 - gap) if x0 + x1 < tx0 + tx1 else (tx1 + gap, x1)
    if min(x1 - x0, y1 - y0) < ICON_KEEP * side:
        return None
    return x0, y0, x1, y1


def reader_inputs(image: np.ndarray, design: Design,
                  cfg: AdsConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """whole (3, S, S) uint8, crops (4, 4, C, C) uint8, geom (4, 6) float32 of a banner
    (per checked role: headline, subline, cta, icon)."""
    h, w = image.shape[:2]
    pil = Image.fromarray(image)
    s, c = cfg.reader_res, cfg.crop_res
    whole = np.asarray(pil.resize((s, s), Image.BILINEAR)).transpose(2, 0, 1)
    crops = np.zeros((len(ROLES), 4, c, c), np.uint8)
    geom = np.zeros((len(ROLES), 6), np.float32)
    for r, role in enumerate(ROLES):
        el = design.element(role)
        if el is None:
            continue
        x0, y0, x1, y1 = el.box
        mx, my = max(2, (x1 - x0) // 4), max(2, (y1 - y0) // 4)
        cx0, cy0, cx1, cy1 = x0 - mx, y0 - my, x1 + mx, y1 + my
        crop = pil.crop((cx0, cy0, cx1, cy1)).resize((c, c), Image.BILINEAR)
        crops[r, :3] = np.asarray(crop).transpose(2, 0, 1)
        sx, sy = c / max(1, cx1 - cx0), c / max(1, cy1 - cy0)
        crops[r, 3, round(my * sy): round((my + y1 - y0) * sy),
              round(mx * sx): round((mx + x1 - x0) * sx)] = 255
        geom[r] = [x0 / w, y0 / h, x1 / w, y1 / h, (el.font_size or 0) / h, 1.0]
    return whole, crops, geom


def layout_features(size: str, tone: str, lang: str, copy: Copy, brand_colors: tuple[str, ...],
                    default: str, cfg: AdsConfig) -> tuple[dict[str, np.ndarray], list[str]]:
    """The layout net's per-item inputs (numpy) and the palette candidates they point into
    (`default`: the colour standing in for a missing brand colour)."""
    from .config import SIZE_CLASSES

    cands = palette.candidates(brand_colors, cfg.palette_k, default)
    lens = [len(copy.headline), len(copy.subline), len(copy.cta)]
    scale = (30, 60, 18) if lang == "en" else (14, 24, 6)
    feats = [n / s for n, s in zip(lens, scale, strict=True)] + [math.log1p(n) / 4 for n in lens]
    x = {"size": np.int64(SIZE_CLASSES.index(size)), "tone": np.int64(cfg.tones.index(tone)),
         "lang": np.int64(0 if lang == "en" else 1), "lens": np.array(feats, np.float32),
         "palette": np.array(palette.features(cands, min(3, len(brand_colors))), np.float32)}
    return x, cands
