"""The contact sheet is legible: Chinese drawn with real glyphs, images filling their cells."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from api.sheet import CELL, Tile, fill_cell, packaged_cjk_font, render_sheet, sheet_font


def _glyph(char: str) -> bytes:
    return bytes(sheet_font().getmask(char))


def test_sheet_font_is_the_packaged_cjk_font_and_draws_chinese_glyphs() -> None:
    assert packaged_cjk_font() is not None
    # A font without Chinese draws every character as the same empty box ("tofu").
    glyphs = {_glyph(c) for c in "耳机限时五折"}
    assert len(glyphs) == 6 and all(any(g) for g in glyphs)


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
    row = [sheet.getpixel((x, 8 + 16 + CELL // 2)) for x in range(8, 8 + CELL)]
    assert row.count((10, 37, 64)) >= CELL - 2
