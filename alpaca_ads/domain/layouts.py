"""Geometry of good banners: where the icon, headline, subline and CTA go for each ad size.

Three families: a horizontal strip (728x90, 320x50: icon left, text middle, CTA right; 320x50 has
room for one line of headline only), a vertical stack (160x600, 300x600, and a centred variant for
300x250 and 1080x1080) and a split (1200x628, and a variant for 300x250 and 1080x1080: text left,
icon right). Text is fitted with the real font (typeset.fit); every box lies inside the safe
margin and no two content boxes overlap. It returns boxes and fitted text only: colours, element
records and decorations are the designer's business.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alpaca_ads.domain import typeset
from alpaca_ads.domain.spec import SIZES, Copy

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Block:
    """A text fitted at a size: its wrapped text and its width and height in pixels."""

    text: str
    size: int
    w: int
    h: int
    bold: bool


@dataclass(frozen=True)
class Placed:
    """A layout's result: content boxes (by role) and the fitted text blocks (by role)."""

    boxes: dict[str, Box]
    blocks: dict[str, Block]
    align: str  # "left" or "center": how the text column is aligned
    family: str  # "strip", "stack" or "split"


@dataclass(frozen=True)
class Scale:
    """Type and icon sizes of one size's layout (pixels)."""

    icon: int
    head: tuple[int, int]
    head_lines: int
    sub: tuple[int, int]
    sub_lines: int
    cta: tuple[int, int]
    gap: int


SCALES: dict[str, Scale] = {
    "728x90": Scale(58, (16, 30), 2, (11, 14), 1, (14, 18), 8),
    "320x50": Scale(32, (12, 18), 1, (10, 11), 0, (11, 13), 6),  # a subline only if forced
    "160x600": Scale(84, (18, 30), 4, (12, 15), 5, (14, 17), 18),
    "300x600": Scale(130, (26, 46), 3, (14, 19), 4, (16, 21), 24),
    "300x250": Scale(62, (17, 28), 2, (11, 14), 2, (12, 15), 10),
    "1080x1080": Scale(230, (58, 110), 2, (28, 42), 2, (32, 46), 44),
    "1200x628": Scale(280, (44, 88), 2, (24, 34), 3, (26, 36), 28),
}


def safe_margin(size: str) -> int:
    """The safe margin of a size: ceil(4 % of its short side)."""
    w, h = SIZES[size]
    return math.ceil(0.04 * min(w, h))


def edge_bar_thickness(size: str) -> int:
    """How thick an edge bar of a size is: 2 % of its short side, 2 px at least and at most
    half the safe margin (so it lies under no element)."""
    return max(2, min(safe_margin(size) // 2, round(min(SIZES[size]) * 0.02)))


def fit_block(text: str, lang: str, max_w: int, max_h: int, sizes: tuple[int, int],
              max_lines: int, bold: bool, keep: tuple[str, ...] = ()) -> Block | None:
    """`text` at the largest size in `sizes` that fits max_w x max_h; None if it cannot."""
    if max_w < 1 or max_h < 1 or max_lines < 1 or sizes[1] < 1:
        return None
    found = typeset.fit(text, lang, max_w, max_h, (max(1, sizes[0]), max(sizes)), max_lines, bold,
                        keep)
    if found is None:
        return None
    wrapped, size = found
    w, h = typeset.block_size(wrapped, size, bold)
    return Block(wrapped, size, w, h, bold)


def cta_button(block: Block) -> tuple[int, int]:
    """(width, height) of the button around a CTA label block."""
    return block.w + 2 * round(0.95 * block.size), block.h + 2 * round(0.42 * block.size)


def _scaled(sizes: tuple[int, int], k: float, floor: int) -> tuple[int, int]:
    return max(floor, sizes[0]), max(floor, sizes[0], round(sizes[1] * k))


def _x_in(x0: int, x1: int, w: int, align: str) -> int:
    return x0 if align == "left" else x0 + (x1 - x0 - w) // 2


def strip(copy: Copy, size: str, rng: np.random.Generator, bold: bool,
          keep: tuple[str, ...] = (), force_sub: bool = False) -> Placed | None:
    """Icon left, headline (and a small subline where there is room) middle, CTA right.

    320x50 shows no subline unless `force_sub` (the offer did not fit the headline).
    """
    W, H = SIZES[size]
    sc, lang = SCALES[size], copy.language
    m = safe_margin(size) + int(rng.integers(2, 5))
    ch = H - 2 * m
    icon = min(ch, round(sc.icon * rng.uniform(0.9, 1.05)))
    cta = fit_block(copy.cta, lang, W // 4, ch, sc.cta, 1, True)
    if cta is None:
        return None
    bw, bh = cta_button(cta)
    bh = min(bh, ch)
    boxes: dict[str, Box] = {"icon": (m, (H - icon) // 2, m + icon, (H + icon) // 2),
                             "cta": (W - m - bw, (H - bh) // 2, W - m, (H + bh) // 2)}
    gap = max(6, round(sc.gap * rng.uniform(0.9, 1.4)))
    x0, x1 = m + icon + gap, W - m - bw - gap
    blocks = {"cta": cta}
    head = sub = None
    if (sc.sub_lines or force_sub) and copy.subline:
        head = fit_block(copy.headline, lang, x1 - x0, ch - sc.sub[0] * 2, sc.head, 1, bold, keep)
        if head is not None:
            sub = fit_block(copy.subline, lang, x1 - x0, ch - head.h - 3, sc.sub, 1, False)
    if sub is None:
        head = fit_block(copy.headline, lang, x1 - x0, ch, sc.head, sc.head_lines, bold, keep)
    if head is None:
        return None
    align = "left" if rng.random() < 0.6 else "center"
    total = head.h + (sub.h + max(3, head.size // 6) if sub else 0)
    y = (H - total) // 2
    hx = _x_in(x0, x1, head.w, align)
    boxes["headline"] = (hx, y, hx + head.w, y + head.h)
    blocks["headline"] = head
    if sub is not None:
        sy = y + head.h + max(3, head.size // 6)
        sx = _x_in(x0, x1, sub.w, align)
        boxes["subline"] = (sx, sy, sx + sub.w, sy + sub.h)
        blocks["subline"] = sub
    return Placed(boxes, blocks, align, "strip")


def _fit_column(copy: Copy, size: str, col_w: int, avail_h: int, k: float, bold: bool,
                with_icon: bool, keep: tuple[str, ...]) -> tuple[dict[str, Block], int, int] | None:
    """Headline, subline and CTA at scale k for a column; (blocks, icon side, total height)."""
    sc, lang = SCALES[size], copy.language
    icon = round(sc.icon * k) if with_icon else 0
    cta = fit_block(copy.cta, lang, col_w - 2 * sc.cta[1], avail_h, _scaled(sc.cta, k, sc.cta[0]),
                    1, True)
    head = fit_block(copy.headline, lang, col_w, avail_h, _scaled(sc.head, k, sc.head[0]),
                     sc.head_lines, bold, keep)
    sub = fit_block(copy.subline, lang, col_w, avail_h, _scaled(sc.sub, k, sc.sub[0]),
                    sc.sub_lines, False, keep) if copy.subline else None
    if cta is None or head is None:
        return None
    blocks = {"headline": head, "cta": cta} | ({"subline": sub} if sub else {})
    gaps = sc.gap * (len(blocks) - (0 if with_icon else 1))
    total = icon + head.h + (sub.h if sub else 0) + cta_button(cta)[1] + round(gaps * k)
    return blocks, icon, total


def _solve_column(copy: Copy, size: str, col_w: int, avail_h: int, bold: bool,
                  with_icon: bool, keep: tuple[str, ...]) -> tuple[dict[str, Block], int, int] | None:
    for step in range(12):
        k = 1.0 - 0.05 * step
        found = _fit_column(copy, size, col_w, avail_h, k, bold, with_icon, keep)
        if found is not None and found[2] <= avail_h:
            return found
    return None


def stack(copy: Copy, size: str, rng: np.random.Generator, bold: bool,
          spread: bool, keep: tuple[str, ...] = ()) -> Placed | None:
    """Icon on top, then headline, subline and CTA, centred; `spread` pins the CTA low."""
    W, H = SIZES[size]
    sc = SCALES[size]
    m = safe_margin(size) + int(rng.integers(max(2, W // 40), max(3, W // 14)))
    top = m + int(rng.integers(0, max(1, H // 40)))
    solved = _solve_column(copy, size, W - 2 * m, H - top - m, bold, True, keep)
    if solved is None:
        return None
    blocks, icon, total = solved
    icon = min(icon, round(icon * rng.uniform(0.9, 1.1)))
    gap = round(sc.gap * rng.uniform(0.85, 1.15))
    bw, bh = cta_button(blocks["cta"])
    y = top if spread else top + max(0, (H - top - m - total - gap) // 2)
    boxes: dict[str, Box] = {"icon": ((W - icon) // 2, y, (W + icon) // 2, y + icon)}
    y += icon + gap
    for role in ("headline", "subline"):
        if role in blocks:
            b = blocks[role]
            boxes[role] = ((W - b.w) // 2, y, (W - b.w) // 2 + b.w, y + b.h)
            y += b.h + gap
    cta_y = max(y, H - m - bh - int(rng.integers(0, max(1, H // 30)))) if spread else y
    cta_y = min(cta_y, H - m - bh)
    boxes["cta"] = ((W - bw) // 2, cta_y, (W + bw) // 2, cta_y + bh)
    return Placed(boxes, blocks, "center", "stack")


def split(copy: Copy, size: str, rng: np.random.Generator, bold: bool,
          keep: tuple[str, ...] = ()) -> Placed | None:
    """Text column on the left (left-aligned, vertically centred), icon on the right."""
    W, H = SIZES[size]
    sc = SCALES[size]
    m = safe_margin(size) + int(rng.integers(max(2, W // 60), max(3, W // 20)))
    col_w = round((W - 2 * m) * rng.uniform(0.56, 0.64))
    solved = _solve_column(copy, size, col_w, H - 2 * m, bold, False, keep)
    if solved is None:
        return None
    blocks, _, total = solved
    gap = round(sc.gap * rng.uniform(0.85, 1.15))
    room = W - 2 * m - col_w - gap
    icon = max(8, min(round(sc.icon * rng.uniform(0.9, 1.1)), room - 2 * (room // 8), H - 2 * m))
    y = m + max(0, (H - 2 * m - total) // 2)
    boxes: dict[str, Box] = {}
    for role in ("headline", "subline"):
        if role in blocks:
            b = blocks[role]
            boxes[role] = (m, y, m + b.w, y + b.h)
            y += b.h + gap
    bw, bh = cta_button(blocks["cta"])
    y = min(y, H - m - bh)
    boxes["cta"] = (m, y, m + bw, y + bh)
    cx = W - m - room // 2
    boxes["icon"] = (cx - icon // 2, (H - icon) // 2, cx - icon // 2 + icon, (H - icon) // 2 + icon)
    return Placed(boxes, blocks, "left", "split")


def layout(copy: Copy, size: str, rng: np.random.Generator, bold: bool = True,
           keep: tuple[str, ...] = (), force_sub: bool = False) -> Placed:
    """A good layout for `copy` at `size`; ValueError if the copy cannot fit at all.

    `keep` names phrases a line break should not split (the product name, the offer).
    """
    if size not in SIZES:
        raise ValueError(f"size {size!r} is not one of {', '.join(SIZES)}")
    if size in ("728x90", "320x50"):
        found = strip(copy, size, rng, bold, keep, force_sub)
    elif size in ("160x600", "300x600"):
        found = stack(copy, size, rng, bold, rng.random() < 0.6, keep)
    elif size == "1200x628":
        found = split(copy, size, rng, bold, keep)
    else:
        roll = rng.random()
        found = split(copy, size, rng, bold, keep) if roll < 0.4 else \
            stack(copy, size, rng, bold, False, keep)
        if found is None:
            found = stack(copy, size, rng, bold, False, keep)
    if found is None and copy.subline:
        return layout(Copy(copy.headline, "", copy.cta, copy.language), size, rng, bold, keep)
    if found is None:
        raise ValueError(f"copy {copy.headline!r} / {copy.cta!r} does not fit a {size} banner")
    return found
