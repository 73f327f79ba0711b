"""Design-level checks: which of the known first-draft faults a Design has, element by element.

Reads the Design record and the BriefSpec (not pixels: the judge reads pixels on its own). The
vocabulary is fixed: overflow, low_contrast, overlap, outside_margin, missing_offer,
missing_brand_colour, wrong_icon, too_small; each finding names the role it concerns (an element
role, or "background" for the brand colour). A good design from `designer.good_design` has none.
It knows nothing about how designs are made or repaired.
"""

from __future__ import annotations

from alpaca_ads.domain import catalog
from alpaca_ads.domain.colour import min_contrast, contrast, required_contrast
from alpaca_ads.domain.layouts import SCALES, safe_margin
from alpaca_ads.domain.offers import offer_renderings
from alpaca_ads.domain.render import text_fits
from alpaca_ads.domain.spec import SIZES, BriefSpec, Design, Element
from alpaca_ads.domain.typeset import unwrap

ISSUES: tuple[str, ...] = ("overflow", "low_contrast", "overlap", "outside_margin",
                           "missing_offer", "missing_brand_colour", "wrong_icon", "too_small")
CONTENT_ROLES: tuple[str, ...] = ("icon", "headline", "subline", "cta")
TEXT_ROLES: tuple[str, ...] = ("headline", "subline", "cta")
Issue = tuple[str, str]  # (role, issue)


def boxes_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two (x0, y0, x1, y1) boxes share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def backdrop(design: Design, element: Element) -> tuple[str, ...]:
    """The colours behind an element: a CTA label's button fill, else the background colours and
    any decoration under the element's box."""
    if element.role == "cta":
        return (element.background or design.background[0],)
    under = tuple(d.colour for d in design.elements
                  if d.role == "decoration" and boxes_overlap(d.box, element.box))
    return tuple(design.background) + under


def min_font_size(size: str, role: str) -> int:
    """The smallest legible font size of a text role at an ad size (the designer never goes lower)."""
    scale = SCALES[size]
    return {"headline": scale.head[0], "subline": max(10, scale.sub[0]), "cta": scale.cta[0]}[role]


def _element_issues(design: Design, e: Element) -> list[Issue]:
    w, h = SIZES[design.size]
    m = safe_margin(design.size)
    out: list[Issue] = []
    x0, y0, x1, y1 = e.box
    if x0 < m or y0 < m or x1 > w - m or y1 > h - m:
        out.append((e.role, "outside_margin"))
    if e.role in TEXT_ROLES and e.text:
        size, bold = e.font_size or 12, e.weight == "bold"
        if not text_fits(e):
            out.append((e.role, "overflow"))
        if min_contrast(e.colour, backdrop(design, e)) < required_contrast(size, bold):
            out.append((e.role, "low_contrast"))
        if size < min_font_size(design.size, e.role):
            out.append((e.role, "too_small"))
    return out


def surface_colours(design: Design) -> list[str]:
    """The colours a banner shows over an area: its background, decorations, icon and CTA fill
    (text colours aside), as the design writes them."""
    return [*design.background,
            *(e.colour for e in design.elements if e.role in ("decoration", "icon")),
            *(e.background for e in design.elements if e.role == "cta" and e.background)]


def _brand_visible(spec: BriefSpec, design: Design) -> bool:
    if not spec.brand_colors:
        return True
    return spec.brand_colors[0].upper() in {c.upper() for c in surface_colours(design)}


def _offer_shown(spec: BriefSpec, design: Design) -> bool:
    if spec.offer.kind == "none":
        return True
    drawn = " ".join(unwrap(e.text or "", spec.language) for e in design.elements
                     if e.role in ("headline", "subline"))
    return any(o in drawn for o in offer_renderings(spec.offer, spec.language))


def layout_issues(design: Design) -> list[Issue]:
    """The (role, issue) findings that need no brief: overflow, low_contrast, overlap,
    outside_margin, too_small (with repeats; `find_issues` removes them)."""
    found: list[Issue] = []
    content = [e for e in design.elements if e.role in CONTENT_ROLES]
    for e in content:
        found += _element_issues(design, e)
    for i, a in enumerate(content):
        for b in content[i + 1:]:
            if boxes_overlap(a.box, b.box):
                found.append((a.role, "overlap"))
    return found


def find_issues(spec: BriefSpec, design: Design) -> list[Issue]:
    """Every (role, issue) the design has, without duplicates, in a stable order."""
    found = layout_issues(design)
    if not _offer_shown(spec, design):
        found.append(("headline", "missing_offer"))
    if not _brand_visible(spec, design):
        found.append(("background", "missing_brand_colour"))
    icon = design.element("icon")
    if icon is None or icon.icon not in catalog.product(spec.product).icons:
        found.append(("icon", "wrong_icon"))
    unique: list[Issue] = []
    for issue in found:
        if issue not in unique:
            unique.append(issue)
    return unique


def cta_contrast(element: Element) -> float:
    """Contrast of a CTA's label against its button fill."""
    return contrast(element.colour, element.background or "#000000")
