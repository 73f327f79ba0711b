"""First-draft faults: turns a good (copy, design) into a flawed one and names what went wrong.

Applies one or two realistic faults from checks.ISSUES (text that overflows its box or is too
small, text that does not stand out from what is behind it, elements overlapping or in the safe
margin, the offer missing or restated wrongly (七折 as 3折, 30 % off as 70 % off), the brand colour
gone, an icon for another product) and returns the issues as `checks.find_issues` reads them from
the flawed design, e.g. [("headline", "overflow")], so the names always match the faults. Training
data for the interactor that repairs designs. Deterministic given the numpy Generator; it knows
nothing about pixels beyond font metrics.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from alpaca_ads.domain import catalog, colour as col, typeset
from alpaca_ads.domain.checks import ISSUES, Issue, backdrop, find_issues, min_font_size
from alpaca_ads.domain.layouts import safe_margin
from alpaca_ads.domain.offers import offer_renderings, render_offer
from alpaca_ads.domain.spec import SIZES, BriefSpec, Copy, Design, Element, Offer

__all__ = ["ISSUES", "corrupt"]


def _replace(design: Design, old: Element, new: Element | None) -> Design:
    elements = tuple(e for e in (new if e is old else e for e in design.elements) if e is not None)
    return dataclasses.replace(design, elements=elements)


def _texts(design: Design) -> list[Element]:
    return [e for e in design.elements if e.role in ("headline", "subline", "cta") and e.text]


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))] if items else None


def _overflow(spec, copy, design, rng):
    e = _pick(rng, _texts(design))
    if e is None:
        return None
    if "\n" in e.text and rng.random() < 0.5:
        new = dataclasses.replace(e, text=typeset.unwrap(e.text, spec.language).replace(" ", " ") if
                                  spec.language == "en" else e.text.replace("\n", ""))
    else:
        new = dataclasses.replace(e, font_size=round((e.font_size or 12) * rng.uniform(1.4, 2.0)))
    return copy, _replace(design, e, new)


def _too_small(spec, copy, design, rng):
    e = _pick(rng, _texts(design))
    if e is None:
        return None
    size = max(4, round(min_font_size(design.size, e.role) * rng.uniform(0.4, 0.7)))
    w, h = typeset.block_size(e.text, size, e.weight == "bold")
    cx, cy = (e.box[0] + e.box[2]) // 2, (e.box[1] + e.box[3]) // 2
    box = (e.box[0], cy - h // 2, e.box[0] + w, cy - h // 2 + h) if e.align == "left" else \
        (cx - w // 2, cy - h // 2, cx - w // 2 + w, cy - h // 2 + h)
    if e.role == "cta":
        box = e.box
    return copy, _replace(design, e, dataclasses.replace(e, font_size=size, box=box))


def _low_contrast(spec, copy, design, rng):
    e = _pick(rng, _texts(design))
    if e is None:
        return None
    behind = backdrop(design, e)[0]
    if rng.random() < 0.4 and col.contrast(col.WHITE, behind) < 3.0:
        colour = col.WHITE  # the classic: white on a bright brand colour
    else:
        colour = col.mix(behind, e.colour, rng.uniform(0.08, 0.3))
    return copy, _replace(design, e, dataclasses.replace(e, colour=colour))


def _move(box, dx, dy):
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def _overlap(spec, copy, design, rng):
    content = [e for e in design.elements if e.role != "decoration"]
    if len(content) < 2:
        return None
    i, j = (int(k) for k in rng.choice(len(content), size=2, replace=False))
    a, b = content[i], content[j]
    w, h = SIZES[design.size]
    tx = int(rng.integers(b.box[0], max(b.box[0] + 1, b.box[2]))) - (a.box[2] - a.box[0]) // 2
    ty = int(rng.integers(b.box[1], max(b.box[1] + 1, b.box[3]))) - (a.box[3] - a.box[1]) // 2
    tx = min(max(0, tx), w - (a.box[2] - a.box[0]))
    ty = min(max(0, ty), h - (a.box[3] - a.box[1]))
    return copy, _replace(design, a, dataclasses.replace(a, box=_move(a.box, tx - a.box[0], ty - a.box[1])))


def _outside_margin(spec, copy, design, rng):
    e = _pick(rng, [e for e in design.elements if e.role != "decoration"])
    if e is None:
        return None
    w, h = SIZES[design.size]
    m = safe_margin(design.size)
    side = int(rng.integers(4))
    bw, bh = e.box[2] - e.box[0], e.box[3] - e.box[1]
    past = int(rng.integers(1, max(2, m + min(bw, bh) // 3)))
    x0, y0 = e.box[0], e.box[1]
    x0, y0 = [(m - past, y0), (w - m - bw + past, y0), (x0, m - past), (x0, h - m - bh + past)][side]
    return copy, _replace(design, e, dataclasses.replace(e, box=(x0, y0, x0 + bw, y0 + bh)))


def _wrong_offer(offer: Offer) -> Offer | None:
    if offer.kind == "percent_off" and offer.value != 50:
        return dataclasses.replace(offer, value=100 - offer.value)  # 七折 read as 70 % off
    if offer.kind == "amount_off" and offer.threshold:
        return Offer("amount_off", value=offer.threshold, threshold=offer.value)
    return None


def _missing_offer(spec, copy, design, rng):
    head = design.element("headline")
    said = [o for o in offer_renderings(spec.offer, spec.language) if head and o in head.text.replace("\n", " ")]
    if not said or not head:
        return None
    wrong = _wrong_offer(spec.offer) if rng.random() < 0.6 else None
    new_offer = render_offer(wrong, spec.language, int(rng.integers(3))) if wrong else ""
    flat = typeset.unwrap(head.text, spec.language)
    text = " ".join(flat.replace(said[0], new_offer).split()).strip(" :,—·") or spec.product_text
    fitted = typeset.fit(text, spec.language, head.box[2] - head.box[0], head.box[3] - head.box[1],
                         (max(6, (head.font_size or 12) // 2), head.font_size or 12), 3,
                         head.weight == "bold")
    wrapped, size = fitted if fitted else (text, head.font_size or 12)
    sub = design.element("subline")
    new_copy = dataclasses.replace(copy, headline=text)
    design = _replace(design, head, dataclasses.replace(head, text=wrapped, font_size=size))
    if sub is not None and any(o in typeset.unwrap(sub.text or "", spec.language) for o in said):
        return None
    return new_copy, design


def _missing_brand(spec, copy, design, rng):
    if not spec.brand_colors:
        return None
    brand = spec.brand_colors[0].upper()
    elements = []
    for e in design.elements:
        if e.role == "decoration" and e.colour.upper() == brand:
            continue
        if e.role == "icon" and e.colour.upper() == brand:
            e = dataclasses.replace(e, colour=col.INK if col.luminance(design.background[0]) > 0.4 else col.WHITE)
        if e.role == "cta" and (e.background or "").upper() == brand:
            fill = "#4B5563" if col.luminance(design.background[0]) > 0.3 else "#E5E7EB"
            e = dataclasses.replace(e, background=fill, colour=col.readable_on((fill,)))
        elements.append(e)
    background = design.background
    if background and background[0].upper() == brand:
        light = col.luminance(brand) > 0.3
        background = ("#F3F4F6",) if light else ("#1F2937",)
    return copy, dataclasses.replace(design, background=background, elements=tuple(elements),
                                     background_style="flat" if background != design.background
                                     else design.background_style)


def _wrong_icon(spec, copy, design, rng):
    icon = design.element("icon")
    if icon is None:
        return None
    if rng.random() < 0.2:
        return copy, _replace(design, icon, None)
    own = catalog.product(spec.product)
    others = [p for p in catalog.PRODUCTS if p.category != own.category]
    slug = _pick(rng, others).icons[0]
    return copy, _replace(design, icon, dataclasses.replace(icon, icon=slug))


_FAULTS = {"overflow": _overflow, "too_small": _too_small, "low_contrast": _low_contrast,
           "overlap": _overlap, "outside_margin": _outside_margin, "missing_offer": _missing_offer,
           "missing_brand_colour": _missing_brand, "wrong_icon": _wrong_icon}


def corrupt(spec: BriefSpec, copy: Copy, design: Design,
            rng: np.random.Generator) -> tuple[Copy, Design, list[Issue]]:
    """One or two faults applied to a good design; the issues are what checks.find_issues finds.

    Raises ValueError if no fault could be applied (a design with no elements).
    """
    wanted = 1 if rng.random() < 0.65 else 2
    applied = 0
    for name in rng.permutation(list(_FAULTS)):
        result = _FAULTS[str(name)](spec, copy, design, rng)
        if result is None:
            continue
        new_copy, new_design = result
        if len(find_issues(spec, new_design)) > len(find_issues(spec, design)):
            copy, design, applied = new_copy, new_design, applied + 1
        if applied == wanted:
            break
    issues = find_issues(spec, design)
    if not issues:
        raise ValueError(f"no fault could be applied to design of size {design.size!r}")
    return copy, design, issues
