"""Contact sheet: a grid of a job's images, each with a label above and its control text below.

Built with Pillow from the PNGs in the storage directory. An item without an image (still
pending, failed, canceled, or a missing file) gets a grey placeholder that names its status.
Each image is scaled to fill its cell (small images scaled up with nearest neighbour, so a 64x64
drawing stays crisp; large banners scaled down smoothly). Text is drawn with Noto Sans CJK SC
from the installed `noto-cjk-sans-otc` package (it covers Chinese and Latin), falling back to a
system CJK font, DejaVu Sans and then Pillow's built-in font. Captions wrap at the cell's width
(at spaces, or between any two Chinese characters) and rows grow to the longest one. This module
knows nothing of HTTP or the store.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageDraw, ImageFont

CELL = 192  # thumbnail side in pixels
PAD = 8
LINE = 18  # text line height
MAX_CAPTION_LINES = 8  # a caption wraps onto as many lines as it needs, up to this many
MAX_COLUMNS = 8
FONT_SIZE = 13
CJK_FONT_PACKAGE = "noto_cjk_sans_otc"  # ships NotoSansCJK-Regular.ttc; face 2 is SC
CJK_FONT_FILE, CJK_FACE_SC = "NotoSansCJK-Regular.ttc", 2
FONT_CANDIDATES = (
    "NotoSansCJK-Regular.ttc", "NotoSansSC-Regular.otf", "wqy-microhei.ttc", "wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf",
)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Tile:
    """One cell: the image, as a file or a file object of its bytes (None if there is none
    yet), a label and a caption."""

    image: Path | BinaryIO | None
    label: str
    caption: str


def packaged_cjk_font() -> Path | None:
    """The CJK font file of the installed font package, found without importing it."""
    spec = importlib.util.find_spec(CJK_FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / CJK_FONT_FILE
    return path if path.is_file() else None


@functools.lru_cache(maxsize=1)
def sheet_font() -> Font:
    packaged = packaged_cjk_font()
    if packaged is not None:
        return ImageFont.truetype(str(packaged), FONT_SIZE, index=CJK_FACE_SC)
    for candidate in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(candidate, FONT_SIZE)
        except OSError:
            continue
    return ImageFont.load_default(FONT_SIZE)


def wrap(text: str, font: Font, width: int, max_lines: int) -> list[str]:
    """Greedy wrap by pixel width; breaks at spaces when it can, anywhere (CJK) when not."""
    lines: list[str] = []
    line = ""
    for char in " ".join(text.split()):
        if font.getlength(line + char) <= width:
            line += char
            continue
        cut = line.rfind(" ")
        head, line = (line[:cut], line[cut + 1:] + char) if cut > 0 else (line, char.lstrip())
        lines.append(head)
        if len(lines) == max_lines:
            return _ellipsize(lines, font, width)
    if line:
        lines.append(line)
    return lines


def _ellipsize(lines: list[str], font: Font, width: int) -> list[str]:
    last = lines[-1]
    while last and font.getlength(last + "…") > width:
        last = last[:-1]
    return [*lines[:-1], last + "…"]


def thumbnail(path: Path | BinaryIO | None, label: str) -> Image.Image:
    """The image scaled into a CELL square, or a grey placeholder naming why there is none."""
    cell = Image.new("RGB", (CELL, CELL), (224, 224, 224))
    if path is not None:
        try:
            with Image.open(path) as image:
                rgb = fill_cell(image.convert("RGB"))
            cell.paste(rgb, ((CELL - rgb.width) // 2, (CELL - rgb.height) // 2))
            return cell
        except (OSError, ValueError, Image.DecompressionBombError):
            label = "image unreadable"
    ImageDraw.Draw(cell).text((CELL // 2, CELL // 2), label, fill=(96, 96, 96),
                              font=sheet_font(), anchor="mm")
    return cell


def fill_cell(image: Image.Image) -> Image.Image:
    """`image` scaled, aspect kept, until its longer side is CELL: nearest neighbour up, so
    pixel art stays crisp, Lanczos down."""
    scale = CELL / max(image.width, image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    return image.resize(size, resample)


def captions(tiles: Sequence[Tile], font: Font) -> list[list[str]]:
    """Each tile's caption wrapped to the cell width (none under a placeholder, which shows it)."""
    return [wrap(tile.caption, font, CELL, MAX_CAPTION_LINES) if tile.image else []
            for tile in tiles]


def render_sheet(tiles: Sequence[Tile]) -> bytes:
    """The contact sheet of `tiles` as PNG bytes (a small note if there are no tiles). Rows are
    as tall as the longest wrapped caption, so no caption is cut off."""
    font = sheet_font()
    wrapped = captions(tiles, font)
    columns = max(1, min(MAX_COLUMNS, math.ceil(math.sqrt(len(tiles)))))
    rows = max(1, math.ceil(len(tiles) / columns))
    caption_lines = max([1, *map(len, wrapped)])
    cell_w, cell_h = CELL + PAD, LINE + CELL + LINE * caption_lines + PAD
    sheet = Image.new("RGB", (PAD + columns * cell_w, PAD + rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    if not tiles:
        draw.text((PAD, PAD), "no items", fill="black", font=font)
    for n, tile in enumerate(tiles):
        x, y = PAD + (n % columns) * cell_w, PAD + (n // columns) * cell_h
        draw.text((x, y), wrap(tile.label, font, CELL, 1)[0] if tile.label else "",
                  fill=(64, 64, 64), font=font)
        placeholder = tile.caption if tile.image is None else ""
        sheet.paste(thumbnail(tile.image, placeholder), (x, y + LINE))
        for i, text in enumerate(wrapped[n]):
            draw.text((x, y + LINE + CELL + 2 + i * LINE), text, fill="black", font=font)
    out = io.BytesIO()
    sheet.save(out, format="PNG", optimize=False)
    return out.getvalue()
