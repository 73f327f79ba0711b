"""Synthetic banners drawn with Pillow and Noto Sans CJK, clean or broken on purpose, to test the judge.

Independent of the ads renderer: a deliberately simple layout per aspect (a row for leaderboards
and mobile banners, a split for landscape, a column otherwise) with an icon-like blob, the copy and
a CTA button. `fault` breaks one thing: low_contrast, icon_over_text, cut_off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from alpaca_ads.domain.spec import SIZES, Copy

FAULTS = ("none", "low_contrast", "icon_over_text", "cut_off")
Box = tuple[int, int, int, int]


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC at `size` px."""
    import noto_cjk_sans_otc

    path = os.path.join(os.path.dirname(noto_cjk_sans_otc.__file__), "NotoSansCJK-Regular.ttc")
    return ImageFont.truetype(path, size, index=2)


@dataclass(frozen=True)
class Banner:
    """What to draw: the size, the copy, the colours and at most one fault."""

    size: str
    copy: Copy
    background: tuple[str, str] = ("#0A2540", "#143A66")  # top and bottom of a vertical gradient
    text: str = "#FFFFFF"
    button: str = "#FFC233"
    label: str = "#111111"
    icon: str = "#FF6B6B"
    fault: str = "none"


def _wrap(text: str, size: int, width: int) -> list[str]:
    """Greedy wrap on spaces (English) or characters (Chinese) to fit `width` px."""
    units = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines: list[str] = []
    for unit in units:
        trial = f"{lines[-1]}{joiner}{unit}" if lines else unit
        if lines and font(size).getlength(trial) <= width:
            lines[-1] = trial
        else:
            lines.append(unit)
    return lines


def _fit(text: str, start: int, width: int, height: int, max_lines: int) -> tuple[int, list[str]]:
    """The largest size <= start whose wrap fits `width` x `height` in at most `max_lines`."""
    for size in range(start, 9, -1):
        lines = _wrap(text, size, width)
        fits = all(font(size).getlength(line) <= width for line in lines)
        if fits and len(lines) <= max_lines and len(lines) * size * 1.3 <= height:
            return size, lines
    return 10, _wrap(text, 10, width)


def _draw_text(draw: ImageDraw.ImageDraw, x: int, y: int, lines: list[str], size: int,
               colour: str, centre: int | None = None) -> int:
    """Draw lines from (x, y) (centred on `centre` when given); returns the y below the block."""
    for line in lines:
        left = x if centre is None else int(centre - font(size).getlength(line) / 2)
        draw.text((left, y), line, font=font(size), fill=colour)
        y += int(size * 1.3)
    return y


def _button(draw: ImageDraw.ImageDraw, banner: Banner, x: int, y: int, size: int) -> Box:
    """The CTA button at (x, y), its label centred with padding; returns its box."""
    length = int(font(size).getlength(banner.copy.cta))
    box = (x, y, x + length + 2 * size, y + int(size * 2.0))
    draw.rounded_rectangle(box, radius=size // 3, fill=banner.button)
    draw.text((x + size, y + int(size * 0.35)), banner.copy.cta, font=font(size), fill=banner.label)
    return box


def _icon(draw: ImageDraw.ImageDraw, box: Box, colour: str) -> None:
    """An icon-like blob: a disc with a bar through it."""
    x0, y0, x1, y1 = box
    s = min(x1 - x0, y1 - y0)
    draw.ellipse((x0, y0, x0 + s, y0 + s * 4 // 5), fill=colour)
    draw.rectangle((x0 + s // 5, y0 + s * 3 // 5, x0 + s * 4 // 5, y0 + s), fill=colour)


def _background(banner: Banner) -> Image.Image:
    w, h = SIZES[banner.size]
    top = Image.new("RGB", (w, h), banner.background[0])
    bottom = Image.new("RGB", (w, h), banner.background[1])
    ramp = Image.linear_gradient("L").resize((w, h))
    return Image.composite(bottom, top, ramp)


def _pad(w: int, h: int) -> int:
    return max(4, round(0.08 * min(w, h)))


def _row(draw: ImageDraw.ImageDraw, banner: Banner, w: int, h: int) -> tuple[Box, Box]:
    """Leaderboard and mobile banner: icon, text, button from left to right."""
    pad = _pad(w, h)
    icon = (pad, pad, h - pad, h - pad)
    cta_size = max(12, h // 5)
    button_w = int(font(cta_size).getlength(banner.copy.cta)) + 2 * cta_size
    button = _button(draw, banner, w - pad - button_w, (h - 2 * cta_size) // 2, cta_size)
    left, right = icon[2] + pad, button[0] - pad
    one_line = h < 80
    size, lines = _fit(banner.copy.headline, h // 3, right - left, h - 2 * pad, 1)
    top = pad if not one_line else (h - int(size * 1.3)) // 2
    y = _draw_text(draw, left, top, lines, size, banner.text)
    if not one_line and banner.copy.subline:
        sub, sub_lines = _fit(banner.copy.subline, max(11, size * 2 // 3), right - left, h - y, 1)
        _draw_text(draw, left, y, sub_lines, sub, banner.text)
    return icon, (left, top, right, top + int(size * 1.3))


def _column(draw: ImageDraw.ImageDraw, banner: Banner, w: int, h: int,
            left: int, right: int, icon: Box) -> tuple[Box, Box]:
    """Headline, subline and button stacked and centred between `left` and `right`."""
    pad = _pad(w, h)
    top = icon[3] + pad if icon[0] >= left and icon[2] <= right else pad * 2
    cta_size = max(12, (right - left) // 18)
    size, lines = _fit(banner.copy.headline, max(14, (right - left) // 9), right - left,
                       (h - top) // 2, 3)
    centre = (left + right) // 2
    y = _draw_text(draw, left, top, lines, size, banner.text, centre)
    if banner.copy.subline:
        sub, sub_lines = _fit(banner.copy.subline, max(11, size // 2), right - left, h // 5, 2)
        y = _draw_text(draw, left, y + size // 3, sub_lines, sub, banner.text, centre)
    button_w = int(font(cta_size).getlength(banner.copy.cta)) + 2 * cta_size
    _button(draw, banner, centre - button_w // 2, min(h - pad - 2 * cta_size, y + pad), cta_size)
    return icon, (left, top, right, top + int(size * 1.3))


def _layout(draw: ImageDraw.ImageDraw, banner: Banner) -> tuple[Box, Box]:
    """Draw text and button; returns the icon's box and the headline's first line's box."""
    w, h = SIZES[banner.size]
    pad = _pad(w, h)
    if w / h >= 4:
        return _row(draw, banner, w, h)
    if w / h >= 1.5:
        s = int(h * 0.45)
        icon = (pad * 2, (h - s) // 2, pad * 2 + s, (h + s) // 2)
        return _column(draw, banner, w, h, icon[2] + pad * 2, w - pad * 2, icon)
    s = int(min(w * 0.3, h * 0.18))
    icon = ((w - s) // 2, pad, (w + s) // 2, pad + s)
    return _column(draw, banner, w, h, pad, w - pad, icon)


def draw_banner(banner: Banner) -> Image.Image:
    """The banner as an RGB image, with its fault (if any) applied."""
    image = _background(banner)
    colours = banner
    if banner.fault == "low_contrast":
        colours = Banner(**{**banner.__dict__, "text": _near(banner.background[0])})
    draw = ImageDraw.Draw(image)
    icon, headline = _layout(draw, colours)
    if banner.fault == "icon_over_text":
        x0, y0, x1, y1 = headline
        s = max(8, y1 - y0)
        icon = (x0 + s // 2, y0, x0 + s // 2 + s, y0 + s)
    _icon(draw, icon, banner.icon)
    if banner.fault == "cut_off":
        return _cut_off(image, headline)
    return image


def _near(colour: str) -> str:
    """A text colour of contrast about 2:1 against `colour` (readable by OCR, failing WCAG)."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    lighter = [min(255, int(c * 1.6 + 55)) for c in rgb]
    return "#" + "".join(f"{c:02X}" for c in lighter)


def _cut_off(image: Image.Image, headline: Box) -> Image.Image:
    """Shift the whole banner right so the headline runs off the right edge."""
    w, h = image.size
    shift = w - headline[0] - max(8, (headline[2] - headline[0]) // 4)
    out = Image.new("RGB", (w, h), image.getpixel((0, 0)))
    out.paste(image, (shift, 0))
    return out
