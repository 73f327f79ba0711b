"""The judge's reading of a text line's own background, and of a button behind its text, on
banners the judge once misread (no OCR here: the lines' boxes are given as the OCR gives them).

Heavy type on a plain background: the rim just inside the OCR box cuts through the glyphs, so the
glyph colour looked like the background and the line's own button like an element over it. A tight
button: the OCR box's top and bottom run past the button's edge onto the banner's background.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from alpaca_ads.judge import layout
from alpaca_ads.judge.ocr import OcrLine
from alpaca_ads.judge.synthetic import font

WHITE, INK = (255, 255, 255), (17, 17, 17)


def _heavy_text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int,
                fill: tuple[int, int, int]) -> tuple[int, int, int, int]:
    draw.text(xy, text, font=font(size), fill=fill, stroke_width=size // 12, stroke_fill=fill)
    return draw.textbbox(xy, text, font=font(size), stroke_width=size // 12)


def _ocr_box(glyphs: tuple[int, int, int, int], pad_x: int, pad_y: int) -> tuple[int, ...]:
    return (glyphs[0] - pad_x, glyphs[1] - pad_y, glyphs[2] + pad_x, glyphs[3] + pad_y)


def _white_banner_with_heavy_type() -> tuple[np.ndarray, list[OcrLine]]:
    """1080x1080 white: a heavy black headline; white CTA text on a dark button."""
    image = Image.new("RGB", (1080, 1080), WHITE)
    draw = ImageDraw.Draw(image)
    head = _heavy_text(draw, (190, 470), "唇膏满199元减40元", 64, INK)
    draw.rounded_rectangle((361, 768, 635, 874), radius=50, fill=INK)
    cta = _heavy_text(draw, (410, 790), "立即购买", 44, WHITE)
    lines = [OcrLine("唇膏满199元减40元", _ocr_box(head, 1, 4), 0.99),
             OcrLine("立即购买", _ocr_box(cta, 2, 4), 0.99)]
    return np.asarray(image), lines


def test_heavy_type_reads_its_own_colour_and_background():
    rgb, lines = _white_banner_with_heavy_type()
    scene = layout.build_scene(rgb, lines)
    headline, cta = scene.inks
    assert headline.text == INK and headline.background == WHITE
    assert cta.text == WHITE and cta.background == INK


def test_white_cta_on_its_dark_button_is_not_an_overlap():
    rgb, lines = _white_banner_with_heavy_type()
    ok, reason = layout.overlap(layout.build_scene(rgb, lines))
    assert ok, reason


def test_tight_button_whose_ocr_box_runs_past_its_edge_keeps_the_button_as_background():
    image = Image.new("RGB", (300, 600), (94, 78, 13))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((76, 516, 218, 539), radius=11, fill=(158, 149, 110))
    glyphs = _heavy_text(draw, (106, 514), "Discover", 18, INK)
    box = (glyphs[0] - 3, 512, glyphs[2] + 3, 541)  # 4 px above and 2 below the button
    scene = layout.build_scene(np.asarray(image), [OcrLine("Discover", box, 0.99)])
    assert scene.inks[0].background == (158, 149, 110)
    assert layout.contrast(scene)[0]
    assert layout.overlap(scene)[0]


def test_an_icon_reaching_into_heavy_type_is_still_an_overlap():
    rgb, lines = _white_banner_with_heavy_type()
    image = Image.fromarray(rgb.copy())
    ImageDraw.Draw(image).ellipse((300, 470, 380, 550), fill=(230, 40, 40))
    ok, reason = layout.overlap(layout.build_scene(np.asarray(image), lines))
    assert not ok and "唇膏" in reason


def _mobile_banner_with_icon(gap: int) -> tuple[np.ndarray, list[OcrLine]]:
    """320x50 coral: a near-black icon (anti-aliased, as the renderer draws it) `gap` px left of a
    dark headline whose OCR box starts a few px before its first glyph."""
    from alpaca_ads.domain.assets import icon_image

    image = Image.new("RGB", (320, 50), (240, 110, 108))
    icon = icon_image("fruit-cherries", 26, "#111111")
    image.paste(icon, (8, 12), icon)
    draw = ImageDraw.Draw(image)
    glyphs = draw.textbbox((34 + gap, 14), "Cherries. Up to 60% OFF", font=font(16))
    draw.text((34 + gap, 14), "Cherries. Up to 60% OFF", font=font(16), fill=(39, 26, 26))
    return np.asarray(image), [OcrLine("Cherries. Up to 60% OFF", _ocr_box(glyphs, 3, 3), 0.99)]


def test_an_icon_set_apart_from_its_line_is_no_collision_one_touching_it_is():
    ok, reason = layout.overlap(layout.build_scene(*_mobile_banner_with_icon(gap=10)))
    assert ok, reason
    ok, reason = layout.overlap(layout.build_scene(*_mobile_banner_with_icon(gap=-6)))
    assert not ok and "Cherries" in reason


def _framed_panel_banner(touching: tuple[int, int, int] | None = None
                         ) -> tuple[np.ndarray, list[OcrLine]]:
    """1200x628 near-black, framed by a navy panel that holds light regular-weight text and a
    darker circle (which pulls the fitted background up towards the panel's colour); with
    `touching`, a disc of that colour reaching into the text."""
    image = Image.new("RGB", (1200, 628), (2, 6, 10))
    draw = ImageDraw.Draw(image)
    draw.rectangle((13, 13, 1186, 614), fill=(10, 37, 64))
    draw.ellipse((794, 148, 1122, 514), fill=(4, 15, 26))
    if touching:
        draw.ellipse((360, 230, 440, 310), fill=touching)
    glyphs = draw.textbbox((146, 236), "第2件半价", font=font(50))
    draw.text((146, 236), "第2件半价", font=font(50), fill=(216, 220, 224))
    return np.asarray(image), [OcrLine("第2件半价", _ocr_box(glyphs, 1, 6), 0.99)]


def test_text_on_a_panel_near_the_background_colour_is_not_an_overlap():
    """The anti-aliased edge of the glyphs is a blend of text and panel, not another colour, and
    the panel's rim counts as the panel where the fitted background bulges towards it."""
    ok, reason = layout.overlap(layout.build_scene(*_framed_panel_banner()))
    assert ok, reason
    ok, reason = layout.overlap(layout.build_scene(*_framed_panel_banner((240, 140, 20))))
    assert not ok and "第2件半价" in reason


def test_heavy_type_whose_ocr_box_hugs_its_glyphs_reads_the_panel_as_background():
    """Both the OCR box's rim and its side columns run through the glyphs: the glyph colour had
    been read as the background, and the panel behind the text as an element over it."""
    teal = (4, 188, 196)
    image = Image.new("RGB", (1200, 628), (1, 30, 31))
    draw = ImageDraw.Draw(image)
    draw.rectangle((13, 13, 1186, 614), fill=teal)
    glyphs = _heavy_text(draw, (62, 200), "臻品无人机低至7折", 52, INK)
    lines = [OcrLine("臻品无人机低至7折", _ocr_box(glyphs, -4, 1), 0.99)]  # 4 px in
    scene = layout.build_scene(np.asarray(image), lines)
    assert scene.inks[0].background == teal and scene.inks[0].text == INK
    ok, reason = layout.overlap(scene)
    assert ok, reason
