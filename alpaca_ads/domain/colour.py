"""Colour arithmetic for banners: hex <-> RGB, WCAG 2 relative luminance and contrast, mixing.

Contrast follows WCAG 2 (1.4.3): linearised sRGB (c / 12.92 if c <= 0.03928, else
((c + 0.055) / 1.055) ** 2.4), L = 0.2126 R + 0.7152 G + 0.0722 B, ratio (L1 + 0.05) / (L2 + 0.05)
with the lighter over the darker; normal text needs >= 4.5, large text (>= 24 px, or >= 18.7 px
bold) >= 3. It knows nothing about layouts or brands.
"""

from __future__ import annotations

import math
from functools import lru_cache

from alpaca_ads.domain.spec import check_colour

NORMAL_TEXT = 4.5
LARGE_TEXT = 3.0
WHITE = "#FFFFFF"
INK = "#111111"
BLACK = "#000000"


def rgb(colour: str) -> tuple[int, int, int]:
    """(r, g, b) in 0..255 of a '#RRGGBB' colour."""
    c = check_colour(colour)
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def hex_colour(r: float, g: float, b: float) -> str:
    """'#RRGGBB' of 0..255 channels (rounded and clamped)."""
    return "#" + "".join(f"{max(0, min(255, round(v))):02X}" for v in (r, g, b))


def distance(c1: str, c2: str) -> float:
    """Euclidean distance of two '#RRGGBB' colours in RGB (0 .. 441.7)."""
    return math.dist(rgb(c1), rgb(c2))


@lru_cache(maxsize=4096)
def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a '#RRGGBB' colour, 0 (black) .. 1 (white)."""
    def lin(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb(colour)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(c1: str, c2: str) -> float:
    """WCAG 2 contrast ratio of two colours, 1 .. 21 (white on #FF6600 is 2.94)."""
    l1, l2 = sorted((luminance(c1), luminance(c2)), reverse=True)
    return (l1 + 0.05) / (l2 + 0.05)


def min_contrast(colour: str, backdrop: tuple[str, ...] | list[str]) -> float:
    """The worst contrast of `colour` against any colour of `backdrop`."""
    if not backdrop:
        raise ValueError("backdrop must name at least one colour")
    return min(contrast(colour, b) for b in backdrop)


def is_large_text(font_size: int, bold: bool) -> bool:
    """WCAG large text: >= 24 px, or >= 18.7 px when bold."""
    return font_size >= 24 or (bold and font_size >= 18.7)


def required_contrast(font_size: int, bold: bool) -> float:
    """4.5 for normal text, 3 for large text."""
    return LARGE_TEXT if is_large_text(font_size, bold) else NORMAL_TEXT


def mix(c1: str, c2: str, t: float) -> str:
    """`c1` moved a fraction `t` (0..1) of the way towards `c2`, in sRGB."""
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"mix fraction {t!r} must be in 0..1")
    a, b = rgb(c1), rgb(c2)
    return hex_colour(*(x + (y - x) * t for x, y in zip(a, b)))


def shade(colour: str, amount: float) -> str:
    """Darker (amount > 0, towards black) or lighter (amount < 0, towards white) `colour`."""
    return mix(colour, BLACK, amount) if amount >= 0 else mix(colour, WHITE, -amount)


def readable_on(backdrop: tuple[str, ...] | list[str], target: float = NORMAL_TEXT,
                prefer: str | None = None) -> str:
    """A text colour with contrast >= `target` against every backdrop colour.

    Tries `prefer` first, then `prefer` darkened or lightened step by step, then white, ink and
    black; returns whichever of white and black contrasts most if nothing reaches `target`.
    """
    for colour in _candidates(prefer, tuple(backdrop)):
        if min_contrast(colour, backdrop) >= target:
            return colour
    return max((WHITE, BLACK), key=lambda c: min_contrast(c, backdrop))


def _candidates(prefer: str | None, backdrop: tuple[str, ...]):
    if prefer is not None:
        yield check_colour(prefer)
        dark = luminance(prefer) < sum(luminance(b) for b in backdrop) / len(backdrop)
        for k in range(1, 8):
            yield shade(prefer, (0.12 * k) * (1 if dark else -1))
    yield from (WHITE, INK, BLACK)
