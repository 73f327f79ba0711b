"""Inference rules that honour the model's decisions: the typesetter fits text into the model's
box, the contrast floor keeps text legible on what is behind it, copy decoding keeps the format's
limits and states the brief's offer and product, and a Chinese product span covers its word."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

import alpaca_ads
from alpaca_ads.domain import legibility, render
from alpaca_ads.domain.colour import contrast, shade
from alpaca_ads.domain.render import text_fits
from alpaca_ads.domain.spec import Design, Element
from alpaca_ads.domain.typeset import unwrap
from alpaca_ads.nn.decode import limits_for, sample_copy, split_copy
from alpaca_ads.nn.designs import _set
from alpaca_ads.nn.tokenizer import OFFER, PRODUCT, SEP
from alpaca_ads.nn.understand import widen_cjk


def test_typesetter_shrinks_and_wraps_a_long_headline_into_the_models_box() -> None:
    box = (10, 100, 150, 180)
    copy = "Running Shoes, expect the best"
    text, size, box = _set(copy, "en", 40, box, 1, True, 18)
    element = Element("headline", box, "#000000", text=text, font_size=size, weight="bold")
    assert size <= 40 and text_fits(element) and unwrap(text, "en") == copy
    assert box == (10, 100, 150, 180)  # it fits the model's box: the box stands


def test_typesetter_grows_a_box_too_short_for_the_text_within_the_room_given() -> None:
    box = (10, 290, 150, 306)
    text, size, grown = _set("Find your favourite today. Delivered to your door.", "en", 13, box,
                             1, False, 12, room=(3, 597))
    element = Element("subline", grown, "#000000", text=text, font_size=size)
    assert text_fits(element) and grown[0] == 10 and grown[2] == 150 and 3 <= grown[1] < 290


def test_a_cta_button_too_short_for_its_label_grows_with_its_label_on_one_line() -> None:
    from alpaca_ads.domain.typeset import block_size

    button = (90, 511, 212, 527)  # 16 px: a 21 px label spilled out above and below
    text, size, grown = _set("马上抢", "zh", 21, button, 1, True, 18, (4, 3), room=(300, 580))
    assert text == "马上抢" and size >= 18 and grown[0] == 90 and grown[2] == 212
    assert grown[3] - grown[1] >= block_size(text, size, True)[1] + 2 * 3
    assert grown[1] < 511 and grown[3] > 527  # about its centre


def test_an_icon_reaching_into_the_text_is_trimmed_clear_of_it_or_left_out() -> None:
    from alpaca_ads.nn.designs import clear_of_text

    headline = (31, 85, 236, 141)
    assert clear_of_text((126, 35, 188, 97), [headline], 5) == (126, 35, 188, 80)  # above it
    assert clear_of_text((200, 90, 280, 140), [headline], 5) == (241, 90, 280, 140)  # beside
    assert clear_of_text((126, 35, 188, 70), [headline], 5) == (126, 35, 188, 70)  # clear
    assert clear_of_text((60, 80, 120, 150), [headline], 5) is None  # no room left


def test_contrast_floor_reads_the_panel_behind_the_text_not_the_background() -> None:
    panel = Element("decoration", (0, 0, 300, 250), "#0A2540", shape="panel")
    head = Element("headline", (20, 20, 280, 80), "#000000", text="Sale", font_size=20)
    design = Design("300x250", ("#FFFFFF",), "flat", (panel, head))
    backdrop = np.asarray(render.render(legibility.without_text(design)))
    fixed = legibility.legible(design, backdrop).element("headline")
    assert contrast(fixed.colour, "#0A2540") >= 4.5


def test_an_icon_in_its_panels_colour_is_shaded_until_it_shows_one_that_shows_is_kept() -> None:
    from alpaca_ads.domain.colour import contrast

    panel = Element("decoration", (22, 22, 1058, 1058), "#0A2540", shape="bar")
    icon = Element("icon", (456, 156, 633, 369), "#0A2540", icon="coffee")
    design = Design("1080x1080", ("#FFFFFF",), "flat", (panel, icon))
    shown = legibility.visible_icon(design).element("icon")
    assert contrast(shown.colour, "#0A2540") >= legibility.ICON_CONTRAST
    white = replace(icon, colour="#FFFFFF")
    assert legibility.visible_icon(replace(design, elements=(panel, white))) \
        .element("icon").colour == "#FFFFFF"
    bare = replace(design, elements=(icon,))  # no panel: read against the white background
    assert legibility.visible_icon(bare).element("icon").colour == "#0A2540"


def test_contrast_floor_keeps_a_legible_colour_chosen_by_the_model() -> None:
    head = Element("headline", (20, 20, 280, 80), "#123456", text="Sale", font_size=20)
    design = Design("300x250", ("#FFFFFF",), "flat", (head,))
    backdrop = np.asarray(render.render(legibility.without_text(design)))
    assert legibility.legible(design, backdrop).element("headline").colour == "#123456"


def test_copy_decoding_keeps_limits_and_states_offer_and_product_once() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    b = 6
    memory, pad = torch.randn(b, 4, model.cfg.d_model), torch.zeros(b, 4, dtype=torch.bool)
    langs = ["en", "zh"] * 3
    limits = [limits_for(lg, "320x50") for lg in langs]
    gens = [torch.Generator().manual_seed(s) for s in range(b)]
    ids = sample_copy(model.dec, memory, pad, langs, limits, [(6, 7)] * b, gens, model.cfg.max_text,
                      model.pieces.vocab)
    for row, lg, limit in zip(ids, langs, limits):
        sections = split_copy(row)
        flat = [t for s in sections[:2] for t in s]
        assert flat.count(PRODUCT) == 1 and flat.count(OFFER) == 1
        for k, section in enumerate(sections):
            chars = sum(6 if t == PRODUCT else 7 if t == OFFER else len(model.pieces.text(t))
                        for t in section)
            assert chars <= limit[k]
        text = model.pieces.decode(row)
        assert not any("\u4e00" <= c <= "\u9fff" for c in text) if lg == "en" else \
            not any(c.isascii() and c.isalpha() for c in text)


def test_the_headline_is_sampled_at_its_own_temperature() -> None:
    """Seeds pick the headline's variant through the style, so the headline can be sampled cold
    while the subline keeps its heat: near-greedy, every generator writes the same headline."""
    model = alpaca_ads.tiny_model(seed=0)
    b = 8
    memory = torch.randn(1, 4, model.cfg.d_model).expand(b, -1, -1)
    pad = torch.zeros(b, 4, dtype=torch.bool)
    gens = [torch.Generator().manual_seed(s) for s in range(b)]

    def sections(headline_temperature: float) -> list[list[list[int]]]:
        ids = sample_copy(model.dec, memory, pad, ["en"] * b, [limits_for("en", "300x250")] * b,
                          [(6, 0)] * b, gens, model.cfg.max_text, model.pieces.vocab,
                          temperature=5.0, headline_temperature=headline_temperature)
        return [split_copy(row) for row in ids]

    cold = sections(1e-4)
    assert len({tuple(s[0]) for s in cold}) == 1  # one headline
    assert len({tuple(s[1]) for s in cold}) > 1  # sublines still sampled
    assert len({tuple(s[0]) for s in sections(5.0)}) > 1


def test_a_subline_that_may_not_close_yet_gives_its_wish_to_close_to_the_pending_offer() -> None:
    from alpaca_ads.nn.decode import _Draft
    from alpaca_ads.nn.tokenizer import FIXED, SEP

    vocab = 40
    base = torch.zeros(vocab)
    base[: len(FIXED)] = float("-inf")  # specials and placeholders open only as the draft says
    draft = _Draft(torch.ones(vocab, dtype=torch.long), base, (30, 90, 15),
                   {OFFER}, torch.zeros(vocab, dtype=torch.bool), section=1, length=20)
    logits = torch.full((vocab,), -5.0)
    logits[SEP], logits[OFFER] = 3.0, -1.0
    moved = draft.redirect_close(logits)
    assert torch.isclose(moved[OFFER], torch.logaddexp(torch.tensor(3.0), torch.tensor(-1.0)))
    probs = torch.softmax(moved + draft.mask(), -1)
    assert probs[OFFER] > 0.9 and probs[SEP] == 0.0  # the offer, not more words
    draft.pending = set()
    assert torch.equal(draft.redirect_close(logits), logits)


def test_a_sentence_run_into_the_next_gets_its_space_where_the_limit_allows() -> None:
    from alpaca_ads.model import spaced_sentences

    text = "All in one place.Buy One Get One Free"
    assert spaced_sentences(text, 90) == "All in one place. Buy One Get One Free"
    assert spaced_sentences(text, len(text)) == text  # no room: as written
    assert spaced_sentences("Now 7.5% off", 90) == "Now 7.5% off"


def test_an_event_the_brief_does_not_name_is_cut_from_the_copy() -> None:
    from alpaca_ads.model import without_unasked_events

    brief = "Display ad for soft toys in medium rectangle; save $30; for mid-year sale"
    assert without_unasked_events("Soft Toys. rs Day special.", brief) == "Soft Toys."
    assert without_unasked_events("Mid-year sale special. Made to last.", brief) == \
        "Mid-year sale special. Made to last."
    assert without_unasked_events("Spring sale special. Find your favourite today.",
                                  "summer sale on running shoes") == "Find your favourite today."


def test_chinese_product_span_widens_to_the_word_it_sits_in() -> None:
    text = "1080×1080尺寸，唇膏，满199元减40元"
    at = text.index("膏")
    assert text[slice(*widen_cjk(text, at, at + 1))] == "唇膏"
    head = text.index("满")
    assert widen_cjk(text, head, head + 1) == (head, head + 1)  # 满199: too far to the next stop
    text = "周年庆，T恤包邮，728x90"
    at = text.index("恤")
    assert text[slice(*widen_cjk(text, at, at + 1))] == "T恤"


def test_a_spelled_out_size_that_is_no_ad_format_is_unknown() -> None:
    from alpaca_ads.nn.understand import unknown_sizes

    assert unknown_sizes("coffee beans free shipping 2000x3000") == ["2000x3000"]
    assert unknown_sizes("咖啡豆包邮 300 x 250") == []
    assert unknown_sizes("shoes, 30% off, leaderboard") == []


def test_a_band_bleeds_a_whole_banner_panel_leaves_a_frame_one_in_the_margin_is_pulled_in(
        ) -> None:
    from alpaca_ads.nn.designs import bleed

    assert bleed((1, 11, 1065, 1072), 1080, 1080, 22) == (11, 11, 1069, 1069)
    assert bleed((1, 0, 159, 598), 160, 600, 3) == (2, 2, 158, 598)
    assert bleed((3, 40, 1075, 300), 1080, 1080, 22) == (0, 40, 1080, 300)
    assert bleed((0, 0, 185, 2), 300, 250, 5) == (5, 5, 185, 7)
    assert bleed((40, 30, 120, 90), 300, 250, 5) == (40, 30, 120, 90)


def _rendered(text: str, size: int, bold: bool, colour: str = "#222222",
              fill: str | None = None) -> np.ndarray:
    from alpaca_ads.domain.typeset import block_size

    w, h = block_size(text, size, bold)
    role = "cta" if fill else "subline"
    element = Element(role, (20, 20, 20 + w + 30, 20 + h + 16), colour, text=text,
                      font_size=size, weight="bold" if bold else "regular", background=fill)
    return np.asarray(render.render(Design("300x250", ("#FFFFFF",), "flat", (element,))))


def test_small_type_reads_back_letter_for_letter() -> None:
    from alpaca_ads.judge.ocr import read_lines
    from alpaca_ads.judge.readback import normalise

    # Compared as the judge compares: this OCR drops or keeps a word gap of a given width at
    # random (bold 'Learn More' at 16-22 px with gaps 0-3 px wider: no width always kept it).
    for size, bold in ((14, False), (20, True)):
        image = _rendered("Learn More", size, bold, "#FFFFFF", "#0F0F60")
        assert [normalise(line.text) for line in read_lines(image)] == ["learnmore"]  # not 'Leam'


def test_bold_type_keeps_its_counters_open_for_the_ocr() -> None:
    """Bold struck twice, not stroked: a stroke closed the 'O' of 'OFF' and the OCR read '0FF'."""
    from alpaca_ads.judge.ocr import read_lines

    for size in (16, 20, 24):
        image = _rendered("Books: 20% OFF now", size, True, "#000000", "#FF8C00")
        assert "".join(line.text for line in read_lines(image)).replace(" ", "") == "Books:20%OFFnow"


def test_lines_of_small_chinese_type_stay_apart_for_the_ocr() -> None:
    from alpaca_ads.judge import layout
    from alpaca_ads.judge.ocr import read_lines

    image = _rendered("少即是多，\n回归本真，\n满1000元减200元", 11, False)
    lines = read_lines(image)
    assert len(lines) == 3 and layout.overlap(layout.build_scene(image, lines))[0]


def test_copy_decoding_never_stutters_punctuation_or_a_piece() -> None:
    from alpaca_ads.nn.decode import _drafts
    from alpaca_ads.nn.tokenizer import FIXED

    pieces = [*FIXED, "好", "真", "，", "："]
    good, true, comma, colon = range(len(FIXED), len(pieces))
    draft = _drafts(pieces, ["zh"], [(14, 40, 6)], [(0, 0)])[0]
    assert torch.isinf(draft.mask()[comma])  # no section opens with punctuation
    draft.take(true)
    draft.take(true)
    assert torch.isinf(draft.mask()[true]) and torch.isfinite(draft.mask()[comma])  # not 真真真
    draft.take(comma)
    assert torch.isinf(draft.mask()[colon]) and torch.isfinite(draft.mask()[good])  # not ，：


def test_contrast_floor_shades_a_button_no_label_colour_reads_on() -> None:
    cta = Element("cta", (20, 10, 120, 40), "#FFFFFF", text="立即选购", font_size=12,
                  weight="bold", background="#1E6FD9")
    design = Design("320x50", ("#FFFFFF",), "flat", (cta,))
    backdrop = np.asarray(render.render(legibility.without_text(design)))
    fixed = legibility.legible(design, backdrop).element("cta")
    assert contrast(fixed.colour, fixed.background) >= 4.5 * legibility.HEADROOM


def test_small_text_on_a_mid_tone_background_gets_it_shaded_a_step_towards_its_best_text() -> None:
    subline = Element("subline", (75, 58, 346, 73), "#FFFFFF", text="Ends soon.", font_size=13)
    design = Design("728x90", ("#E11D2E",), "flat", (subline,))
    assert contrast("#FFFFFF", "#E11D2E") < legibility.SMALL_TEXT_FLOOR  # red takes white at 4.7
    shaded = legibility.room_for_small_text(design).background
    assert contrast("#FFFFFF", shaded[0]) >= legibility.SMALL_TEXT_FLOOR
    assert shaded[0] == shade("#E11D2E", legibility.SHADE_STEP)  # one step darker: still the red
    large = replace(design, elements=(replace(subline, font_size=40),))
    assert legibility.room_for_small_text(large) == large  # large text reads at 3:1 already
    white = replace(design, background=("#FFFFFF",))
    assert legibility.room_for_small_text(white) == white


def test_a_background_colour_the_floors_shaded_away_stays_as_an_edge_bar() -> None:
    """Teal #008080 under 16 px white text went two steps darker, and its icon and button
    with it: the banner showed no teal at all."""
    subline = Element("subline", (21, 226, 137, 335), "#FFFFFF", text="Find your favourite",
                      font_size=16)
    cta = Element("cta", (24, 516, 135, 546), "#FFFFFF", text="Buy Now", font_size=15,
                  weight="bold", background="#008080")
    chosen = Design("160x600", ("#008080",), "flat", (subline, cta))
    shaded = legibility.room_for_small_text(chosen)
    held = legibility.legible(shaded, np.asarray(render.render(legibility.without_text(shaded))))
    assert "#008080" not in (*held.background, held.element("cta").background)
    kept = legibility.keep_background_colour(chosen, held)
    bar = kept.elements[0]
    assert (bar.role, bar.colour, bar.box) == ("decoration", "#008080", (0, 0, 3, 600))
    picture = np.asarray(render.render(kept))
    assert (picture[:, :3] == (0, 128, 128)).all(axis=-1).mean() > 0.9
    assert legibility.keep_background_colour(chosen, chosen) == chosen  # still shown: no bar


def test_text_under_14_px_is_held_to_a_higher_floor_than_larger_text() -> None:
    """A 10 px label #C8BFEA on #3A1AB4 (6.1:1) meets 4.5 x 1.3 but read 3.9:1 to the judge:
    one-pixel strokes show ~0.7x their contrast. Under TINY_PX it must reach 4.5 x 1.6."""
    label = contrast("#C8BFEA", "#3A1AB4")
    assert 4.5 * legibility.HEADROOM < label < 4.5 * legibility.TINY_HEADROOM
    design = Design("160x600", ("#3A1AB4",), "flat", (
        Element("subline", (27, 244, 133, 260), "#C8BFEA", text="马上抢", font_size=10),
        Element("headline", (22, 133, 140, 204), "#C8BFEA", text="高跟鞋", font_size=20)))
    backdrop = np.asarray(render.render(legibility.without_text(design)))
    tiny, larger = legibility.legible(design, backdrop).elements
    assert contrast(tiny.colour, "#3A1AB4") >= 4.5 * legibility.TINY_HEADROOM
    assert larger.colour == "#C8BFEA"  # the model's colour stands at 20 px


def test_a_panel_under_small_text_is_shaded_like_a_background_and_others_are_left() -> None:
    """A full-banner panel is what small text is read on, whatever the background under it:
    white 12 px text on a #1E6FD9 panel over a white background read 3.91:1 to the judge."""
    subline = Element("subline", (63, 144, 182, 158), "#FFFFFF", text="好物分享给你", font_size=12)
    panel = Element("decoration", (0, 0, 300, 250), "#1E6FD9", shape="bar")
    aside = Element("decoration", (250, 200, 290, 240), "#1E6FD9", shape="circle")
    design = Design("300x250", ("#FFFFFF",), "flat", (panel, aside, subline))
    fixed = legibility.room_for_small_text(design)
    assert contrast("#FFFFFF", fixed.elements[0].colour) >= legibility.SMALL_TEXT_FLOOR
    assert fixed.elements[1] == aside  # not under the text: the model's colour stays
    assert fixed.background == ("#FFFFFF",)


def test_a_growing_text_box_stops_short_of_the_boxes_above_and_below_it() -> None:
    from alpaca_ads.nn.designs import ROOM_GAP, _room

    subline = (20, 260, 140, 280)
    headline, cta, beside = (14, 155, 143, 256), (30, 500, 130, 530), (150, 100, 158, 590)
    assert _room(subline, [headline, cta, beside], 5, 600) == (256 + ROOM_GAP, 500 - ROOM_GAP)
    assert _room(subline, [], 5, 600) == (5, 595)
    touching = (20, 250, 140, 270)  # already reaching into the box: the box itself is the limit
    assert _room(subline, [touching], 5, 600) == (260, 595)


def test_a_button_leaves_its_rounded_ends_clear_of_the_label() -> None:
    """A 26 px pill rounds off 13 px at each end: a label 6 px from the ends read, to an OCR
    box, as text spilling onto the panel behind the button."""
    from alpaca_ads.domain.typeset import block_size
    from alpaca_ads.nn.designs import _roomy_button

    label_w = block_size("立即探索", 14, True)[0]
    box = (102, 174, 102 + label_w + 12, 200)
    x0, y0, x1, y1 = _roomy_button(box, "立即探索", 14, True, 300, 5)
    assert (y0, y1) == (174, 200) and x1 - x0 >= label_w + 26
    assert abs((x0 + x1) - (box[0] + box[2])) <= 1  # about its centre
    wide = (60, 174, 240, 200)
    assert _roomy_button(wide, "立即探索", 14, True, 300, 5) == wide
    edge = _roomy_button((5, 10, 5 + label_w, 36), "立即探索", 14, True, 300, 5)
    assert edge[0] == 5  # pushed inside the safe margin, not past it


def test_a_text_box_taller_than_its_text_gives_the_rest_back_to_the_text_below() -> None:
    from alpaca_ads.domain.typeset import block_size
    from alpaca_ads.nn.designs import _tight

    x0, y0, x1, y1 = _tight((30, 80, 232, 137), "Settees.", 26, True)
    assert (x0, x1) == (30, 232) and y1 - y0 == block_size("Settees.", 26, True)[1] + 2
    assert abs((y0 + y1) - (80 + 137)) <= 1
    assert _tight((30, 80, 232, 90), "Settees.", 26, True) == (30, 80, 232, 90)


def _panel_design(panel: str, background: str = "#111111", size: str = "300x250") -> Design:
    w, h = (300, 250) if size == "300x250" else (728, 90)
    headline = Element("headline", (40, 90, 260, 130), "#000000", text="Sofas", font_size=24)
    return Design(size, (background,), "flat",
                  (Element("decoration", (5, 5, w - 5, h - 5), panel, shape="bar"), headline))


def test_a_brand_colour_the_floors_shaded_away_comes_back_in_the_frame_or_an_edge_bar() -> None:
    """A forest green #228B22 panel under black text went to #57A757 on a near-black
    background: the banner showed no brand colour although the model had read it."""
    framed = _panel_design("#57A757")
    kept = legibility.keep_brand_colour(framed, "#228B22")
    assert kept.background == ("#228B22",) and kept.elements == framed.elements
    picture = np.asarray(render.render(kept))[:, :, :3]
    assert (picture == (0x22, 0x8B, 0x22)).all(axis=-1).mean() > 0.01
    plain = replace(framed, elements=framed.elements[1:])
    barred = legibility.keep_brand_colour(plain, "#228B22")
    assert barred.elements[0].colour == "#228B22" and barred.elements[1:] == plain.elements
    near = _panel_design("#2A9030")  # within reach of the brand: it is shown
    assert legibility.keep_brand_colour(near, "#228B22") == near
    assert legibility.keep_brand_colour(framed, None) == framed


def test_a_word_too_long_for_the_room_left_closes_the_section_instead_of_a_fragment() -> None:
    """'Consoles for you: r r r': near the headline's limit D wanted the offer or ' ready',
    neither fits, and its leftover mass picked the one-letter pieces that did."""
    from alpaca_ads.nn.decode import _drafts
    from alpaca_ads.nn.tokenizer import FIXED

    pieces = [*FIXED, "Consoles for you:", " ready", " r"]
    head, ready, r = range(len(FIXED), len(pieces))
    draft = _drafts(pieces, ["en"], [(20, 90, 15)], [(8, 0)])[0]
    draft.take(head)
    logits = torch.full((len(pieces),), -5.0)
    logits[ready], logits[PRODUCT], logits[r] = 4.0, 3.0, 0.0
    probs = torch.softmax(draft.next_logits(logits), -1)
    assert probs[SEP] > 0.9 > 0.05 > probs[r]
    assert torch.isinf(draft.mask()[ready]) and torch.isinf(draft.mask()[PRODUCT])


def test_a_line_of_copy_does_not_end_on_a_comma_or_colon() -> None:
    from alpaca_ads.model import DANGLING

    assert "Flower Bouquets:".rstrip(DANGLING) == "Flower Bouquets"
    assert "你好，".rstrip(DANGLING) == "你好"
