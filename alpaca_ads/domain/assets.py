"""The installed assets the ads domain draws with: the Noto Sans CJK font and Material Design Icons.

Knows where the font file lives (the `noto_cjk_sans_otc` package, face index 2 = Simplified
Chinese, which covers Latin too), how to list and fetch the 7,447 icon slugs of
`material_design_icons_pack`, and how to turn one icon into a coloured RGBA image with resvg.
It knows nothing about briefs, layouts or what an icon means; results are cached per process.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path

import material_design_icons_pack as mdi
import noto_cjk_sans_otc
import resvg_py
from PIL import Image, ImageFont

from alpaca_ads.domain.spec import check_colour

FONT_PATH: Path = Path(str(noto_cjk_sans_otc.FONT_PATH))
FONT_INDEX = 2  # Noto Sans CJK SC inside the collection (0 JP, 1 KR, 3 TC, 4 HK)
_SVG_OPEN = re.compile(r"<svg\b")


@lru_cache(maxsize=512)
def font(size: int) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC (regular) at `size` pixels, loaded once per size."""
    if not isinstance(size, int) or size < 1 or size > 1000:
        raise ValueError(f"font size {size!r} must be an int in 1..1000")
    return ImageFont.truetype(str(FONT_PATH), size, index=FONT_INDEX)


@lru_cache(maxsize=1)
def icon_slugs() -> tuple[str, ...]:
    """Every icon slug of the pack, sorted (7,447 in version 7.4.47)."""
    slugs = {value.slug for name in getattr(mdi, "__all__", dir(mdi))
             if isinstance(value := getattr(mdi, name, None), mdi.Icon)}
    return tuple(sorted(slugs))


def icon_exists(slug: str) -> bool:
    """Whether `slug` names an icon of the pack."""
    return isinstance(slug, str) and mdi.get_icon(slug) is not None


@lru_cache(maxsize=256)
def icon_svg(slug: str, colour: str) -> str:
    """The icon's SVG markup with `fill` set to `colour` on its root element."""
    icon = mdi.get_icon(slug) if isinstance(slug, str) else None
    if icon is None:
        raise ValueError(f"icon slug {slug!r} is not in material_design_icons_pack")
    return _SVG_OPEN.sub(f'<svg fill="{check_colour(colour)}"', icon.svg, count=1)


@lru_cache(maxsize=1024)
def icon_image(slug: str, size_px: int, colour: str) -> Image.Image:
    """The icon `slug` rendered square at `size_px` pixels in `colour`, as a PIL RGBA image.

    The returned image is shared by the cache: copy it before drawing on it.
    """
    if not isinstance(size_px, int) or not 1 <= size_px <= 4096:
        raise ValueError(f"icon size {size_px!r} must be an int in 1..4096")
    png = resvg_py.svg_to_bytes(svg_string=icon_svg(slug, colour), width=size_px, height=size_px)
    image = Image.open(io.BytesIO(bytes(png))).convert("RGBA")
    if image.size != (size_px, size_px):
        image = image.resize((size_px, size_px), Image.BILINEAR)
    return image
