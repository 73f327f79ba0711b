"""Palette candidates: the colours the layout heads choose among (palette classification).

From the brand colours (or, when a brief gives none, a tone colour the seed picks) a fixed-
length list of K colours is built: the first colour and its ladder of shades (steps of 0.12
towards black and towards white, the steps the domain's legibility search takes), white, ink and
black, the second brand colour and a few of its shades. Colour heads classify over these
candidates, so every colour of a design is one of a known, enumerable set. No torch.
"""

from __future__ import annotations

from functools import lru_cache

from alpaca_ads.domain import colour as col

LADDER = tuple(round(0.12 * k, 2) for k in range(-8, 9) if k)  # shade amounts, 16 steps


@lru_cache(maxsize=8192)
def rgb(colour: str) -> tuple[int, int, int]:
    """(r, g, b) of '#RRGGBB'."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def candidates(brand_colors: tuple[str, ...] | list[str], k: int,
               default: str = "#333A44") -> list[str]:
    """K distinct candidate colours (see the module docstring); `default` stands in for a
    missing first brand colour."""
    return list(_candidates(tuple(c.upper() for c in brand_colors), k, default.upper()))


@lru_cache(maxsize=4096)
def _candidates(brands_t: tuple[str, ...], k: int, default: str) -> tuple[str, ...]:
    brands = list(brands_t)
    first = brands[0] if brands else default.upper()
    second = brands[1] if len(brands) > 1 else col.mix(first, col.WHITE, 0.4)
    out: list[str] = []
    for c in [first, *(col.shade(first, a) for a in LADDER), col.WHITE, col.INK, col.BLACK,
              second, col.shade(second, 0.24), col.shade(second, -0.24),
              col.mix(second, col.WHITE, 0.85), *brands[2:]]:
        if c not in out:
            out.append(c)
    n = 1
    while len(out) < k:
        out.append(col.mix(first, "#808080", min(1.0, 0.2 * n)))
        n += 1
    return tuple(out[:k])


def nearest(colour: str, cands: list[str]) -> int:
    """Index of the candidate closest to `colour` (RGB distance)."""
    r, g, b = rgb(colour.upper())
    best, best_d = 0, 1 << 30
    for i, c in enumerate(cands):
        x, y, z = rgb(c)
        d = (x - r) ** 2 + (y - g) ** 2 + (z - b) ** 2
        if d < best_d:
            best, best_d = i, d
    return best


def features(cands: list[str], n_brands: int) -> list[list[float]]:
    """Per candidate: r, g, b in [0, 1], luminance, is-brand (the layout net's palette input)."""
    return [[*(c / 255 for c in rgb(x)), col.luminance(x), float(i < n_brands)]
            for i, x in enumerate(cands)]


def tone_default(tone: str, seed: int) -> str:
    """The colour standing in for a missing brand colour: the domain's tone colours, picked by
    the seed."""
    import numpy as np

    from alpaca_ads.domain.designer import default_brand_colour

    return default_brand_colour(tone, np.random.default_rng(seed))


@lru_cache(maxsize=64)
def tone_options(tone: str) -> list[str]:
    """Every colour `tone_default` may pick for `tone`."""
    return sorted({tone_default(tone, s) for s in range(40)})


def error(colours: list[str], cands: list[str]) -> int:
    """Total squared RGB distance of `colours` to their nearest candidates."""
    return sum(sum((x - y) ** 2 for x, y in zip(rgb(c), rgb(cands[nearest(c, cands)]),
                                                strict=True)) for c in colours)
