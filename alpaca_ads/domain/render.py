"""Draws a Design into pixels exactly as written: background, decorations, icon, text, CTA.

Backgrounds are flat, vertical_gradient, diagonal_gradient or pattern (dots of the second colour),
or a low-resolution RGB array (h, w, 3 uint8, e.g. from a learned painter) upsampled bilinearly.
Elements are drawn in order (back to front). Text is drawn with Noto Sans CJK SC at the element's
font size, line by line as the element's text is broken ('\\n'), each line centred in the box
(or at its left edge when `align` is 'left') and the block centred vertically; bold strikes each
glyph again about size/25 px to its right (`typeset.bold_shift`). Text that does not fit is NOT shrunk or re-wrapped: it
overflows and is clipped by the canvas, as a faulty draft would look. The CTA is a rounded button
in `background` with its label in `colour`. It knows nothing about briefs or about what makes a
design good.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image, ImageDraw

from alpaca_ads.domain import assets, typeset
from alpaca_ads.domain.colour import rgb
from alpaca_ads.domain.spec import SIZES, Design, Element, parse_size

_LINE_PIECES = re.compile(r" +|[^ ]+")  # words and the gaps between them

BACKGROUND_STYLES: tuple[str, ...] = ("flat", "vertical_gradient", "diagonal_gradient", "pattern")
TEXT_ROLES: tuple[str, ...] = ("headline", "subline", "cta")


def _gradient(size: tuple[int, int], c1: str, c2: str, diagonal: bool) -> Image.Image:
    w, h = size
    if diagonal:
        t = (np.arange(w)[None, :] / max(1, w - 1) + np.arange(h)[:, None] / max(1, h - 1)) / 2
    else:
        t = np.repeat((np.arange(h) / max(1, h - 1))[:, None], w, axis=1)
    a, b = np.array(rgb(c1), float), np.array(rgb(c2), float)
    pixels = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    return Image.fromarray(np.round(pixels).astype(np.uint8), "RGB")


def _pattern(size: tuple[int, int], base: str, dots: str) -> Image.Image:
    image = Image.new("RGB", size, rgb(base))
    draw = ImageDraw.Draw(image)
    step = max(8, min(size) // 12)
    r = max(1, step // 7)
    for row, y in enumerate(range(step // 2, size[1], step)):
        for x in range(step // 2 + (step // 2 if row % 2 else 0), size[0], step):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=rgb(dots))
    return image


def draw_background(design: Design, background: np.ndarray | None = None) -> Image.Image:
    """The banner's background alone, RGB at the design's size."""
    size = parse_size(design.size)
    if background is not None:
        array = np.asarray(background)
        if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
            raise ValueError(f"background array must be (h, w, 3) uint8, got {array.shape} {array.dtype}")
        return Image.fromarray(array, "RGB").resize(size, Image.BILINEAR)
    colours = design.background or ("#FFFFFF",)
    style = design.background_style
    if style not in BACKGROUND_STYLES:
        raise ValueError(f"background style {style!r} is not one of {BACKGROUND_STYLES}")
    if style == "flat" or len(colours) < 2:
        return Image.new("RGB", size, rgb(colours[0]))
    if style == "pattern":
        return _pattern(size, colours[0], colours[1])
    return _gradient(size, colours[0], colours[1], style == "diagonal_gradient")


def _decoration(draw: ImageDraw.ImageDraw, element: Element) -> None:
    x0, y0, x1, y1 = element.box
    fill = rgb(element.colour)
    shape = element.shape or "bar"
    if shape == "circle":
        draw.ellipse((x0, y0, x1 - 1, y1 - 1), fill=fill)
    elif shape == "ring":
        draw.ellipse((x0, y0, x1 - 1, y1 - 1), outline=fill, width=max(2, (x1 - x0) // 14))
    elif shape == "dots":
        step = max(6, min(x1 - x0, y1 - y0) // 4)
        r = max(1, step // 5)
        for y in range(y0 + step // 2, y1, step):
            for x in range(x0 + step // 2, x1, step):
                draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    elif shape == "panel":
        draw.rounded_rectangle((x0, y0, x1 - 1, y1 - 1), radius=max(2, min(x1 - x0, y1 - y0) // 10),
                               fill=fill)
    else:
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=fill)


def _text(draw: ImageDraw.ImageDraw, element: Element) -> None:
    """Element text, line by line, each line centred in the box, the block centred vertically."""
    text, size = element.text or "", element.font_size or 12
    bold = element.weight == "bold"
    shift = typeset.bold_shift(size, bold)
    _, block_h = typeset.block_size(text, size, bold)
    x0, y0, x1, y1 = element.box
    top = y0 + ((y1 - y0) - block_h) // 2
    for i, line in enumerate(text.split("\n")):
        width = typeset.line_width(line, size, bold)
        x = x0 + shift if element.align == "left" else x0 + ((x1 - x0) - width) // 2 + shift
        y = top + i * typeset.line_height(size) - round(0.28 * size) + shift
        _line(draw, (x, y), line, size, shift, rgb(element.colour))


def _line(draw: ImageDraw.ImageDraw, at: tuple[int, int], line: str, size: int, shift: int,
          colour: tuple[int, int, int]) -> None:
    """One line of text from `at`, struck again `shift` px to the right when bold, each word gap
    `shift` px wider; tracked type (`typeset.tracking`) is set character by character."""
    face = assets.font(size)
    if not typeset.tracking(size) and not shift:
        draw.text(at, line, font=face, fill=colour)
        return
    x, y = at
    for piece in (line if typeset.tracking(size) else _LINE_PIECES.findall(line)):
        for dx in range(shift + 1):
            draw.text((round(x) + dx, y), piece, font=face, fill=colour)
        x += sum(typeset.advance(c, size) for c in piece) + shift * piece.count(" ")


def _icon(image: Image.Image, element: Element) -> None:
    x0, y0, x1, y1 = element.box
    side = max(1, min(x1 - x0, y1 - y0))
    if not element.icon or not assets.icon_exists(element.icon):
        return  # an unknown icon draws nothing; the judge sees an empty box
    picture = assets.icon_image(element.icon, side, element.colour)
    image.paste(picture, (x0 + (x1 - x0 - side) // 2, y0 + (y1 - y0 - side) // 2), picture)


def _cta(draw: ImageDraw.ImageDraw, element: Element) -> None:
    x0, y0, x1, y1 = element.box
    radius = max(2, min((y1 - y0) // 2, round((y1 - y0) * 0.5)))
    draw.rounded_rectangle((x0, y0, x1 - 1, y1 - 1), radius=radius,
                           fill=rgb(element.background or "#000000"))
    _text(draw, element)


def render(design: Design, background: np.ndarray | None = None) -> Image.Image:
    """The banner as an RGB image of exactly the design's size."""
    image = draw_background(design, background)
    draw = ImageDraw.Draw(image)
    for element in design.elements:
        if element.role == "decoration":
            _decoration(draw, element)
        elif element.role == "icon":
            _icon(image, element)
            draw = ImageDraw.Draw(image)
        elif element.role == "cta":
            _cta(draw, element)
        elif element.role in TEXT_ROLES:
            _text(draw, element)
        else:
            raise ValueError(f"element role {element.role!r} is not drawable")
    return image


def text_fits(element: Element) -> bool:
    """Whether the element's text, as wrapped, fits inside its box at its font size.

    Elements without text fit trivially; a CTA's label must fit inside its button.
    """
    if not element.text:
        return True
    size = element.font_size or 12
    w, h = typeset.block_size(element.text, size, element.weight == "bold")
    x0, y0, x1, y1 = element.box
    return w <= (x1 - x0) + 1 and h <= (y1 - y0) + 1


def inside_canvas(design: Design) -> bool:
    """Whether every element box lies inside the banner."""
    w, h = SIZES[design.size]
    return all(0 <= e.box[0] <= e.box[2] <= w and 0 <= e.box[1] <= e.box[3] <= h
               for e in design.elements)
