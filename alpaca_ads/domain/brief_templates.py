"""Phrasing templates for briefs and the words for ad sizes, in English and Chinese.

A template is a string with the slots {product}, {offer}, {size}, {colour}, {tone} and {event};
a part in square brackets is optional and is dropped when its slot has nothing to say. Product and
size are always said. Which templates are held out of training is fixed here (every fifth one per
language). It knows nothing about sampling, products or offers.
"""

from __future__ import annotations

EN_TEMPLATES: tuple[str, ...] = (
    "[{event} — ]{product}[, {offer}][, brand colour {colour}], {size}[, {tone} style]",
    "[{event}: ][{offer} on ]{product}[, brand colour {colour}], {size}[, {tone}]",
    "Banner for {product}[, {offer}], size {size}[, colours {colour}][, make it {tone}][, for {event}]",
    "Need a {size} ad for {product}[ — {offer}][. Brand colour: {colour}][. Tone: {tone}][. Campaign: {event}]",
    "{size} banner: {product}[ {offer}][, {tone} look][, use {colour}]",
    "Make an ad for our {product}[ ({offer})], {size}[, {tone} feel][, brand color {colour}][, {event} campaign]",
    "[{tone} ]{size} ad, {product}[, {offer}][, brand colour {colour}][, {event}]",
    "Create a {size} display ad promoting {product}[. Offer: {offer}][. Colours: {colour}][. Style: {tone}]",
    "{product}[ - {offer}] - {size}[ - {colour}][ - {tone}]",
    "[{event} promo, ]{product}[, {offer}], {size}[, {tone} tone][, our colour is {colour}]",
    "Please design a {size} banner. Product: {product}.[ Offer: {offer}.][ Brand colour: {colour}.][ Tone: {tone}.]",
    "We sell {product}[ and are running {offer}][ for {event}]. Size {size}.[ Brand colour {colour}.][ Keep it {tone}.]",
    "[{offer} ]{product} ad at {size}[ in {colour}][, {tone}]",
    "ad: {product}[; {offer}]; {size}[; {colour}][; {tone}][; {event}]",
    "Promote {product}[ with {offer}][ this {event}] — {size}[, {tone} vibe][, brand colors {colour}]",
    "{size}, {product}[, {offer}][, {colour}][, {tone}]",
    "Hey, can you do a {size} for {product}?[ {offer}.][ Use {colour}.][ Something {tone}.]",
    "[{event}! ]{product}[, now {offer}]. Format: {size}.[ Palette: {colour}.][ Mood: {tone}.]",
    "I need a banner ad ({size}) for {product}[, offering {offer}][, {tone} design][, brand colour {colour}]",
    "Design brief — product: {product}; size: {size}[; offer: {offer}][; colour: {colour}][; tone: {tone}][; occasion: {event}]",
    "[{tone} ]banner for {product}[ with {offer}] in {size}[, primary colour {colour}]",
    "{product} promo[: {offer}], {size}[, {colour} brand colour][, {tone}]",
    "Looking for a {size} ad that sells {product}[. Deal: {offer}][. Colour {colour}][. {tone} please]",
    "[{event}: ]{size} creative for {product}[ ({offer})][, brand colour {colour}]",
    "Quick one: {product}[, {offer}], {size}[, {tone}][, brand colour {colour}]",
    "Ad for {product}[ at {offer}][ for {event}], size {size}[, go {tone}][, colours: {colour}]",
    "{size} | {product}[ | {offer}][ | {colour}][ | {tone}]",
    "Write and design a {size} banner about {product}[, highlight {offer}][, use brand colour {colour}][, {tone} style]",
    "[{offer} — ]{product}. {size}.[ {tone}.][ {colour}.]",
    "new banner pls: {product}[ {offer}] {size}[ {colour}][ {tone}]",
    "Target size {size}. Advertise {product}[ with the {offer} deal][ during {event}].[ Brand colour is {colour}.]",
    "[{event} campaign — ]{product}[ {offer}], {size}[, colour scheme {colour}][, {tone} style]",
    "Banner ad, {size}, for {product}[. Message: {offer}][. {tone} tone][. Brand: {colour}]",
    "{product} promo[ ({offer})] at {size}[ — {tone}][, brand colour {colour}]",
    "Display ad for {product} in {size}[; mention {offer}][; {tone} aesthetic][; brand colours {colour}]",
    "We're planning a [{event} ]push for {product}[: {offer}]. Need {size}.[ Colours {colour}.][ {tone}.]",
    "size={size}, product={product}[, offer={offer}][, colour={colour}][, tone={tone}]",
    "{product}! [{offer}! ]{size}[, {tone}][, {colour}]",
    "Make me a [{tone} ]{size} banner for {product}[ — {offer}][, brand colour {colour}]",
    "Advert: {product}[ {offer}][, {event}], dimensions {size}[, {colour}]",
    "Display creative, {size}: {product}[ at {offer}].[ Brand colour {colour}.][ Tone {tone}.]",
    "Help me promote {product}[ ({offer})] with a {size} banner[ in {colour}][, {tone} please]",
    "{product} + [{offer} + ]{size}[ + {colour}][ + {tone}]",
    "Just a {size} for {product}[, {offer}][ - {colour}][, {tone}]",
    "Campaign[ ({event})]: {product}. Size: {size}.[ Offer: {offer}.][ Brand colour: {colour}.][ Tone: {tone}.]",
)

ZH_TEMPLATES: tuple[str, ...] = (
    "[{event}]{product}[{offer}]，[品牌色{colour}，]{size}[，{tone}风格]",
    "帮我做一个{size}的{product}广告[，{offer}][，品牌色{colour}][，风格{tone}]",
    "[{event}活动：]{product}[，{offer}]，尺寸{size}[，主色{colour}][，{tone}]",
    "{product}[{offer}]广告，{size}[，{tone}一点][，用{colour}]",
    "做个{size}的图，推{product}[，{offer}][，颜色{colour}][，要{tone}]",
    "需要一张{size}的广告图：{product}[，{offer}][，品牌色是{colour}][，{tone}风格]",
    "{size}，{product}[，{offer}][，{colour}][，{tone}]",
    "[{event}]{product}促销[，{offer}]，{size}[，{tone}风格][，品牌色{colour}]",
    "产品：{product}；尺寸：{size}[；优惠：{offer}][；品牌色：{colour}][；风格：{tone}][；活动：{event}]",
    "请设计一个{product}的广告，尺寸{size}[，{offer}][，{tone}风][，主色调{colour}]",
    "[{tone}风格的]{size}广告，{product}[，{offer}][，{colour}]",
    "{product}[，{offer}]，{size}[，品牌色{colour}]",
    "给{product}做张广告图，{size}[，{offer}][，{colour}为主色][，{tone}]",
    "[{event}大促：]{product}[，{offer}]，{size}",
    "{size}尺寸，{product}[，{offer}][，{tone}][，品牌色：{colour}]",
    "投放用的{size}广告：{product}[，{offer}][，{event}]",
    "{product}的{size}广告图[，{offer}][，{tone}风格][，配色{colour}]",
    "我们的{product}[{offer}]，要一个{size}的广告[，{tone}一点][，品牌色{colour}]",
    "广告需求：{product}[ {offer}] {size}[ {colour}][ {tone}]",
    "{product}｜[{offer}｜]{size}[｜{colour}][｜{tone}]",
    "[{event}，]{product}[打折：{offer}]，{size}",
    "[{event}]上新：{product}[，{offer}]，{size}[，{tone}风格]",
    "来一张{product}的{size}banner[，{offer}][，品牌色{colour}]",
    "麻烦做个{size}，主推{product}[，{offer}][，颜色用{colour}][，{tone}]",
    "{product}广告[（{offer}）]，尺寸：{size}[，风格：{tone}][，颜色：{colour}]",
    "[{tone}的]{product}广告[，{offer}]，{size}",
    "推广{product}[，{offer}]，{size}[，{event}期间][，品牌色{colour}]",
    "{size}的{product}推广图[，写上{offer}][，{tone}调性]",
    "[{event}]{product}[{offer}]！{size}[！{tone}]",
    "设计要求：{size}；{product}[；{offer}][；{colour}][；{tone}]",
    "{product}[，{offer}]，{size}，[{tone}风格，][品牌色{colour}]",
    "请按{size}尺寸出一版{product}广告[，突出{offer}][，{tone}]",
    "[{event}：]{size}，{product}[，优惠{offer}]",
    "做{product}的广告，[{offer}，]{size}[，主色{colour}]",
    "[{colour}品牌色，]{size}，{product}[，{offer}]",
    "{product}[ {offer}]，{size}[，整体{tone}][，品牌色 {colour}]",
    "帮忙出个图：{product}[，{offer}][，{event}]，{size}",
    "新一期广告：{product}[，{offer}]，规格{size}[，{tone}风格]",
    "{product}[，{offer}][，{event}]，要{size}的",
    "[{event}专题：]{product}[，{offer}]，尺寸为{size}[，色调{colour}][，{tone}]",
    "广告位{size}，商品{product}[，活动{offer}][，品牌色{colour}]",
    "主题：{product}[{offer}]；尺寸{size}[；{tone}风格]",
    "一张{size}的{product}广告[，{offer}][，要{tone}][，用品牌色{colour}]",
    "{size}｜{product}[｜{offer}][｜{event}]",
    "{product}特惠[：{offer}]，{size}[，{colour}]",
)

# Clauses appended when a template has no place for a fact the brief must state.
EN_SUFFIXES: dict[str, tuple[str, ...]] = {
    "offer": (", {offer}", ". Offer: {offer}", " ({offer})"),
    "colour": (", brand colour {colour}", ", colour {colour}", ". Brand color: {colour}"),
    "tone": (", {tone} style", ", keep it {tone}", ". Tone: {tone}"),
    "event": (", for {event}", ", {event} campaign", ". Occasion: {event}"),
}
EN_SENTENCE_SUFFIXES: dict[str, str] = {
    "offer": "Offer: {offer}.", "colour": "Brand colour: {colour}.", "tone": "Tone: {tone}.",
    "event": "Occasion: {event}.",
}
ZH_SUFFIXES: dict[str, tuple[str, ...]] = {
    "offer": ("，{offer}", "，优惠：{offer}", "（{offer}）"),
    "colour": ("，品牌色{colour}", "，主色{colour}", "，颜色：{colour}"),
    "tone": ("，{tone}风格", "，风格{tone}", "，要{tone}"),
    "event": ("，{event}活动", "，{event}期间", "，配合{event}"),
}

# Field lists: a brief written as its facts in any order, each with or without a label, joined by
# any separator ("藏蓝｜实木床｜1200x628", "tone - bold / product: mugs / 300x250"). Training mixes
# them in so that the tagger reads a span by what it says, not by where a template put it.
FIELD_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"product": ("product", "item", "selling", "what"), "offer": ("offer", "deal", "promo"),
           "size": ("size", "format", "dimensions", "slot"),
           "colour": ("colour", "color", "colours", "brand colour", "brand color", "palette",
                      "main colour", "brand"),
           "tone": ("tone", "style", "mood", "feel", "look"),
           "event": ("occasion", "campaign", "event", "timing")},
    "zh": {"product": ("产品", "商品", "品类", "主推"), "offer": ("优惠", "折扣", "促销", "福利"),
           "size": ("尺寸", "规格", "版位", "大小"),
           "colour": ("颜色", "主色", "品牌色", "色调", "配色", "主色调", "用色"),
           "tone": ("风格", "调性", "感觉", "氛围"), "event": ("节日", "档期", "节点")},
}
FIELD_SEPARATORS: dict[str, tuple[str, ...]] = {
    "en": (", ", "; ", " | ", " / ", " - ", ". ", " · ", " + "),
    "zh": ("，", "；", "｜", "、", " ", "/", "。", " | ", "，　"),
}
FIELD_JOINERS: dict[str, tuple[str, ...]] = {"en": (": ", " ", "=", " - "),
                                             "zh": ("：", "", ":", " ", "是")}

# Names a brief may use for a size instead of its numbers (each names exactly one size).
SIZE_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "300x250": {"en": ("medium rectangle", "MPU", "IAB medium rectangle"), "zh": ("中矩形", "画中画")},
    "728x90": {"en": ("leaderboard", "IAB leaderboard"), "zh": ("通栏", "横幅通栏")},
    "160x600": {"en": ("wide skyscraper", "skyscraper"), "zh": ("宽幅摩天楼", "摩天楼")},
    "320x50": {"en": ("mobile banner", "mobile leaderboard"), "zh": ("移动端横幅", "移动横幅条")},
    "300x600": {"en": ("half page", "half-page ad"), "zh": ("半页", "半屏竖幅")},
    "1080x1080": {"en": ("square", "1080 square", "Instagram square"),
                  "zh": ("方形", "正方形", "1080方图")},
    "1200x628": {"en": ("landscape link ad", "1.91:1 landscape", "link ad"),
                 "zh": ("横版", "1.91:1横图", "链接广告图")},
}
# How the numbers of a size may be written: {w} and {h} filled in.
SIZE_FORMS: dict[str, tuple[str, ...]] = {
    "en": ("{w}x{h}", "{w}×{h}", "{w} x {h}", "{w} by {h}", "{w}X{h}", "{w}x{h}px", "{w} x {h} px",
           "{w}*{h}"),
    "zh": ("{w}x{h}", "{w}×{h}", "{w}*{h}", "{w}x{h}像素", "{w} x {h}", "宽{w}高{h}"),
}


def heldout_templates(templates: tuple[str, ...]) -> frozenset[int]:
    """Indices of the templates held out of training: every fifth (exactly 20 %, rounded down)."""
    return frozenset(i for i in range(len(templates)) if i % 5 == 4)
