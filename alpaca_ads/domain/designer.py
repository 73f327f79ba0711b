"""The data designer's good targets: copy, colours and a complete, legible Design for a BriefSpec.

`good_copy` (from copywriter) writes the text; `palette` proposes colour schemes from the brand
colours, every one meeting WCAG contrast (>= 4.5 for all text against every background colour
behind it, CTA labels against their fill, the CTA button >= 3 against the background where the
brand colour allows); `good_design` lays the copy out (layouts) and adds decorations that never
sit under text or the CTA (an icon may sit on a circle). The first brand colour stays visible:
as the background, the CTA fill or a decoration. Elements are ordered back to front. It knows
nothing about pixels beyond font metrics, and nothing about torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alpaca_ads.domain import catalog
from alpaca_ads.domain import colour as col
from alpaca_ads.domain.colour import contrast
from alpaca_ads.domain.copywriter import good_copy
from alpaca_ads.domain.offers import offer_renderings
from alpaca_ads.domain.layouts import Box, Placed, edge_bar_thickness, layout, safe_margin
from alpaca_ads.domain.spec import SIZES, BriefSpec, Copy, Design, Element, check_colour

__all__ = ["Palette", "contrast", "default_brand_colour", "good_copy", "good_design", "palette"]

SCHEMES: tuple[str, ...] = ("brand", "light", "dark")
_SCHEME_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "bold": (0.6, 0.2, 0.2), "minimal": (0.15, 0.75, 0.1), "playful": (0.5, 0.4, 0.1),
    "elegant": (0.2, 0.3, 0.5), "urgent": (0.7, 0.15, 0.15), "friendly": (0.35, 0.6, 0.05),
    "premium": (0.1, 0.2, 0.7), "neutral": (0.4, 0.4, 0.2),
}
_TONE_DEFAULTS: dict[str, tuple[str, ...]] = {
    "bold": ("#E11D2E", "#1E6FD9", "#7C3AED"), "minimal": ("#111111", "#333A44", "#0A2540"),
    "playful": ("#EC4899", "#FACC15", "#38BDF8"), "elegant": ("#0A2540", "#9B1B30", "#C9A227"),
    "urgent": ("#E11D2E", "#FF6600"), "friendly": ("#0F9D8A", "#FF7F6E", "#1E6FD9"),
    "premium": ("#111111", "#C9A227", "#0A2540"), "neutral": ("#1E6FD9", "#1F9D55", "#333A44"),
}


@dataclass(frozen=True)
class Palette:
    """A colour scheme whose text colours read on every background colour (WCAG)."""

    scheme: str  # brand (brand colour as background), light or dark
    background: tuple[str, ...]  # one colour (flat) or two (gradient / pattern)
    style: str  # flat, vertical_gradient, diagonal_gradient, pattern
    headline: str
    subline: str
    cta_fill: str
    cta_label: str
    icon: str
    accent: str  # decorations


def default_brand_colour(tone: str, rng: np.random.Generator) -> str:
    """A colour fitting `tone` for briefs that name no brand colour."""
    options = _TONE_DEFAULTS.get(tone, _TONE_DEFAULTS["neutral"])
    return options[int(rng.integers(len(options)))]


def _backgrounds(base: str, text_light: bool, amount: float, rng: np.random.Generator,
                 allow: bool) -> tuple[tuple[str, ...], str]:
    """Flat, gradient or pattern backgrounds from `base`; the second colour always moves away
    from the text colour (darker under light text, lighter under dark text), so text that reads
    on `base` reads everywhere."""
    second = col.shade(base, amount if text_light else -amount)
    roll = rng.random() if allow and second != base else 1.0
    if roll < 0.3:
        return (base, second), "vertical_gradient"
    if roll < 0.5:
        return (base, second), "diagonal_gradient"
    if roll < 0.62:
        return (base, col.shade(base, (0.5 if text_light else -0.5) * amount)), "pattern"
    return (base,), "flat"


def _button(bg: tuple[str, ...], options: list[str]) -> str:
    """The first option standing out >= 3:1 from the background, else the most contrasting one."""
    for fill in options:
        if col.min_contrast(fill, bg) >= 3.0:
            return fill
    return max(options, key=lambda c: col.min_contrast(c, bg))


def _scheme(name: str, brand: str, second: str | None, rng: np.random.Generator,
            allow_texture: bool) -> Palette:
    if name == "brand":
        base, amount = brand, rng.uniform(0.12, 0.22)
    elif name == "light":
        base = col.WHITE if rng.random() < 0.5 else col.mix(brand, col.WHITE, rng.uniform(0.86, 0.94))
        amount = rng.uniform(0.04, 0.08)
    else:
        base = col.INK if rng.random() < 0.35 else col.mix(brand, col.BLACK, rng.uniform(0.72, 0.86))
        amount = rng.uniform(0.1, 0.25)
    prefer = {"brand": second if second and rng.random() < 0.5 else None,
              "light": brand if rng.random() < 0.6 else col.INK,
              "dark": col.WHITE if rng.random() < 0.7 else col.mix(brand, col.WHITE, 0.85)}[name]
    text = col.readable_on((base,), prefer=prefer)
    light_text = col.luminance(text) > col.luminance(base)
    bg, style = _backgrounds(base, light_text, amount, rng, allow_texture)
    options = {"brand": [second, text], "light": [brand, second, text],
               "dark": [brand, second, col.mix(brand, col.WHITE, 0.4), text]}[name]
    fill = _button(bg, [c for c in options if c])
    accent = col.shade(brand, 0.2 if col.luminance(brand) > 0.25 else -0.25) \
        if name == "brand" else brand
    sub = col.mix(text, bg[0], 0.18)
    sub = sub if col.min_contrast(sub, bg) >= col.NORMAL_TEXT else text
    label = col.readable_on((fill,), prefer=bg[0] if col.contrast(bg[0], fill) >= 4.5 else None)
    icon = next((c for c in (brand, second, text) if c and col.min_contrast(c, bg) >= 3.0), text)
    return Palette(name, bg, style, text, sub, fill, label, icon, accent)


def palette(brand_colors: tuple[str, ...], rng: np.random.Generator,
            tone: str = "neutral", count: int = 3) -> list[Palette]:
    """Candidate palettes for the brand colours, one per scheme (the first `count`), drawn in
    an order weighted by what fits `tone`."""
    colours = tuple(check_colour(c) for c in brand_colors)
    brand = colours[0] if colours else default_brand_colour(tone, rng)
    second = colours[1] if len(colours) > 1 else None
    weights = np.array(_SCHEME_WEIGHTS.get(tone, _SCHEME_WEIGHTS["neutral"]))
    order = rng.choice(len(SCHEMES), size=len(SCHEMES), replace=False, p=weights / weights.sum())
    texture = tone != "minimal"
    return [_scheme(SCHEMES[int(i)], brand, second, rng, texture) for i in order[:count]]


def _overlaps(a: Box, b: Box, pad: int = 0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _decorations(size: str, placed: Placed, pal: Palette, brand: str,
                 rng: np.random.Generator) -> list[Element]:
    """Edge bars, a circle behind the icon and dot grids in empty corners; never under text.

    When `brand` is neither the background, the CTA fill nor the icon, an edge bar shows it.
    """
    W, H = SIZES[size]
    short, m = min(W, H), safe_margin(size)
    content = [b for r, b in placed.boxes.items() if r != "icon"]
    out: list[Element] = []
    brand_shown = brand in (pal.background[0], pal.cta_fill, pal.icon)
    if rng.random() < 0.45 or not brand_shown:
        t = edge_bar_thickness(size)
        edge = int(rng.integers(3))
        box = [(0, 0, W, t), (0, H - t, W, H), (0, 0, t, H)][edge]
        out.append(Element("decoration", box, pal.accent if brand_shown else brand, shape="bar"))
    ix0, iy0, ix1, iy1 = placed.boxes["icon"]
    pad = max(2, round((ix1 - ix0) * 0.22))
    disc = (ix0 - pad, iy0 - pad, ix1 + pad, iy1 + pad)
    if (placed.family != "strip" or size == "728x90") and rng.random() < 0.55 and \
            disc[0] >= m and disc[1] >= m and disc[2] <= W - m and disc[3] <= H - m and \
            not any(_overlaps(disc, b, 2) for b in content):
        ring = col.mix(pal.background[0], pal.accent, 0.25)
        if col.contrast(pal.icon, ring) >= 3.0:
            out.append(Element("decoration", disc, ring, shape="circle"))
    if rng.random() < 0.5 and short >= 200:
        side = round(short * rng.uniform(0.12, 0.18))
        corners = [(m, m), (W - m - side, m), (m, H - m - side), (W - m - side, H - m - side)]
        for k in rng.permutation(4):
            x, y = corners[int(k)]
            box = (x, y, x + side, y + side)
            if not any(_overlaps(box, b, 4) for b in placed.boxes.values()):
                out.append(Element("decoration", box, col.mix(pal.background[0], pal.accent, 0.5),
                                   shape="dots"))
                break
    return out


def _elements(spec: BriefSpec, placed: Placed, pal: Palette, rng: np.random.Generator) -> list[Element]:
    product = catalog.product(spec.product)
    slug = product.icons[0] if rng.random() < 0.7 else product.icons[int(rng.integers(len(product.icons)))]
    out = [Element("icon", placed.boxes["icon"], pal.icon, icon=slug)]
    for role in ("headline", "subline"):
        if role in placed.blocks:
            b = placed.blocks[role]
            out.append(Element(role, placed.boxes[role], pal.headline if role == "headline" else
                               pal.subline, text=b.text, font_size=b.size,
                               weight="bold" if b.bold else "regular", align=placed.align))
    b = placed.blocks["cta"]
    out.append(Element("cta", placed.boxes["cta"], pal.cta_label, text=b.text, font_size=b.size,
                       weight="bold", background=pal.cta_fill, align="center"))
    return out


def good_design(spec: BriefSpec, copy: Copy, rng: np.random.Generator) -> Design:
    """A tidy, legible design of `copy` at `spec.size` in the brief's brand colours."""
    if copy.language != spec.language:
        raise ValueError(f"copy language {copy.language!r} differs from the brief's {spec.language!r}")
    bold = spec.tone not in ("elegant", "minimal") or rng.random() < 0.3
    keep = (spec.product_text,) + tuple(o for o in offer_renderings(spec.offer, spec.language)
                                        if o in copy.headline or o in copy.subline)
    offer_in_headline = any(o in copy.headline for o in offer_renderings(spec.offer, spec.language))
    force_sub = spec.offer.kind != "none" and not offer_in_headline
    placed = layout(copy, spec.size, rng, bold, keep, force_sub)
    brand = spec.brand_colors[0] if spec.brand_colors else default_brand_colour(spec.tone, rng)
    pal = palette((brand,) + spec.brand_colors[1:], rng, spec.tone, count=1)[0]
    elements = _decorations(spec.size, placed, pal, brand, rng) + _elements(spec, placed, pal, rng)
    return Design(size=spec.size, background=pal.background, background_style=pal.style,
                  elements=tuple(elements))


def good_target(spec: BriefSpec, rng: np.random.Generator) -> tuple[Copy, Design]:
    """good_copy then good_design, in one call."""
    copy = good_copy(spec, rng)
    return copy, good_design(spec, copy, rng)
