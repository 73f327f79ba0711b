"""The contact sheet is legible: Chinese drawn with real glyphs, images filling their cells."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from api.sheet import (CELL, LINE, PAD, Font, Tile, captions, fill_cell, packaged_cjk_font,
                       render_sheet, sheet_font)

NOTDEF = "\U0010fffd"  # a code point no font maps: every font draws its .notdef box for it
CONTROL_TEXT = "耳机限时五折，今日下单立减一百元"


def _glyph(char: str, font: Font | None = None) -> bytes:
    return bytes((font or sheet_font()).getmask(char))


def is_tofu(char: str, font: Font) -> bool:
    """True when `font` draws `char` as its .notdef box (the empty "tofu" rectangle)."""
    return _glyph(char, font) == _glyph(NOTDEF, font)


def caption_band(tiles: list[Tile]) -> Image.Image:
    """The text band under the first image of the sheet of `tiles`."""
    sheet = Image.open(io.BytesIO(render_sheet(tiles))).convert("L")
    top = PAD + LINE + CELL
    return sheet.crop((PAD, top, PAD + CELL, sheet.height))


def ink(band: Image.Image) -> int:
    return sum(1 for value in band.getdata() if value < 128)


def test_sheet_font_is_the_packaged_cjk_font_and_draws_chinese_glyphs() -> None:
    assert packaged_cjk_font() is not None
    # A font without Chinese draws every character as the same empty box ("tofu").
    glyphs = {_glyph(c) for c in "耳机限时五折"}
    assert len(glyphs) == 6 and all(any(g) for g in glyphs)


def test_chinese_control_text_renders_glyphs_not_notdef_boxes() -> None:
    font = sheet_font()
    assert any(_glyph(NOTDEF, font))  # the .notdef box has ink: the comparison means something
    assert [c for c in CONTROL_TEXT if is_tofu(c, font)] == []


def test_the_tofu_check_catches_a_font_without_chinese() -> None:
    from PIL import ImageFont
    try:
        latin_only = ImageFont.truetype("DejaVuSans.ttf", 13)
    except OSError:
        pytest.skip("DejaVu Sans is not installed (Debian: fonts-dejavu-core)")
    assert all(is_tofu(c, latin_only) for c in "耳机限时")
    assert not is_tofu("A", latin_only)


def test_a_chinese_caption_on_the_sheet_is_drawn_as_glyphs(tmp_path: Path) -> None:
    image = tmp_path / "item.png"
    Image.new("RGB", (64, 64), "white").save(image)
    drawn = caption_band([Tile(image, "#0 succeeded", CONTROL_TEXT)])
    boxes = caption_band([Tile(image, "#0 succeeded", NOTDEF * len(CONTROL_TEXT))])
    assert ink(drawn) > 0 and drawn.tobytes() != boxes.tobytes()


def test_a_long_caption_wraps_onto_more_lines_and_is_never_cut(tmp_path: Path) -> None:
    image = tmp_path / "item.png"
    Image.new("RGB", (64, 64), "white").save(image)
    long_caption = "Noise-cancelling headphones, half price today only. " + CONTROL_TEXT * 2
    lines = captions([Tile(image, "#0", long_caption)], sheet_font())[0]
    assert len(lines) > 3 and "…" not in "".join(lines)
    assert "".join(lines).replace(" ", "") == long_caption.replace(" ", "")
    short = Image.open(io.BytesIO(render_sheet([Tile(image, "#0", "short")])))
    tall = Image.open(io.BytesIO(render_sheet([Tile(image, "#0", long_caption)])))
    assert tall.height - short.height == (len(lines) - 1) * LINE


def test_small_images_are_scaled_up_crisply_to_fill_the_cell(tmp_path: Path) -> None:
    image = Image.new("RGB", (64, 64), "white")
    image.putpixel((0, 0), (255, 0, 0))
    scaled = fill_cell(image)
    assert scaled.size == (CELL, CELL)
    block = CELL // 64
    assert scaled.getpixel((block - 1, block - 1)) == (255, 0, 0)  # nearest: no blur
    assert scaled.getpixel((block, block)) == (255, 255, 255)


def test_a_wide_banner_fills_the_cell_width(tmp_path: Path) -> None:
    banner = tmp_path / "banner.png"
    Image.new("RGB", (728, 90), (10, 37, 64)).save(banner)
    sheet = Image.open(io.BytesIO(render_sheet([Tile(banner, "#0 728x90", "耳机五折")])))
    row = [sheet.getpixel((x, PAD + LINE + CELL // 2)) for x in range(PAD, PAD + CELL)]
    assert row.count((10, 37, 64)) >= CELL - 2
