"""Good ad copy for a BriefSpec: headline, subline and call to action in the brief's language.

The headline names the product as the brief worded it (`spec.product_text`) and, when there is an
offer, states it exactly via `offers.render_offer`; a variant (0-7, the decoder's seed-chosen
style) picks its template and the offer's wording, so different seeds write different
headlines (`variant_order`, `_headline`); sublines never restate or invent an offer
(no numbers, no 'free'), they carry tone and the event. English headlines use only punctuation
that OCR reads back (: , . ! ?). Limits: English headline <= 30 characters, subline <= 90,
CTA <= 15; Chinese headline <= 14, subline <= 40, CTA <= 6. The 320x50 banner gets shorter
headlines and CTAs. If the offer does not fit the headline, the subline states it (on small
sizes the subline is then only the offer, so the layout can always keep it). It knows nothing about layout, colours or pixels.
"""

from __future__ import annotations

import math

import numpy as np

from alpaca_ads.domain import catalog
from alpaca_ads.domain.offers import offer_renderings
from alpaca_ads.domain.spec import BriefSpec, Copy

LIMITS: dict[str, dict[str, int]] = {
    "en": {"headline": 30, "subline": 90, "cta": 15},
    "zh": {"headline": 14, "subline": 40, "cta": 6},
}
SHORT_SIZES = ("320x50", "728x90", "160x600")
VARIANTS = 8  # headline variants a copy draws from (the decoder's seed-chosen styles)

# Headlines with an offer ({p}: product, {o}: the offer as copy states it).
_EN_HEAD_OFFER: dict[str, tuple[str, ...]] = {
    "bold": ("{o} {P}", "{P}: {o}", "{P}! {o}"),
    "minimal": ("{P}. {o}", "{P}: {o}", "{P}, {o}"),
    "playful": ("Yay! {P} {o}", "{P}? {o}!", "Hello {P}, {o}"),
    "elegant": ("{P}, {o}", "Refined {P}, {o}", "{P}. {o}"),
    "urgent": ("Hurry! {P} {o}", "Last call: {P} {o}", "{P}: {o} now"),
    "friendly": ("{P} for you: {o}", "Treat yourself: {o}", "{P}, {o}"),
    "premium": ("Premium {P}, {o}", "{P}, {o}", "{P}. {o}"),
    "neutral": ("{P} {o}", "{P}: {o}", "{o} {P}"),
}
_EN_HEAD_PLAIN: dict[str, tuple[str, ...]] = {
    "bold": ("Meet {P}", "{P}. Big time.", "All about {P}", "All new {P}"),
    "minimal": ("{P}.", "Simply {P}", "{P}, simply", "Quality {P}"),
    "playful": ("Hello, {P}!", "{P} time!", "Say yes to {P}", "{P}: fun for all"),
    "elegant": ("The art of {P}", "{P}, refined", "Timeless {P}", "Refined {P}"),
    "urgent": ("{P}: act fast", "Get {P} today", "{P} won't wait", "Last call: {P}"),
    "friendly": ("{P} you'll love", "Say hi to {P}", "Your new {P}", "{P}, just for you"),
    "premium": ("Premium {P}", "The finest {P}", "{P}, elevated", "Exceptional {P}"),
    "neutral": ("Shop {P}", "Discover {P}", "{P} for everyone", "Great {P}"),
}
_EN_SUB: dict[str, tuple[str, ...]] = {
    "bold": ("Big style, bigger savings. Don't miss out.", "Made to stand out. Get yours today.",
             "Loud, proud and ready for you."),
    "minimal": ("Less noise. Just what you need.", "Simple, honest, well made.",
                "Clean design for everyday life."),
    "playful": ("Because every day deserves a little fun.", "Go on, treat yourself. You've earned it.",
                "Happy days start here."),
    "elegant": ("Crafted with care for those who notice the details.", "Quiet luxury, made to last.",
                "Elegance in every detail."),
    "urgent": ("Limited time only. While stocks last.", "Ends soon. Don't wait.",
               "Hurry, this deal won't last long."),
    "friendly": ("Picked with care, just for you.", "Everything you love, all in one place.",
                 "Come on in, we saved you a spot."),
    "premium": ("Exceptional quality, uncompromising design.", "For those who expect the best.",
                "Crafted from the finest materials."),
    "neutral": ("Quality you can count on, every day.", "Find your favourite today.",
                "Great products, great prices."),
}
_EN_CTA: dict[str, tuple[str, ...]] = {
    "bold": ("Shop Now", "Get Yours", "Grab It"), "minimal": ("Shop", "Shop Now", "View"),
    "playful": ("Let's Go!", "Grab Yours", "Dive In"), "elegant": ("Discover", "Explore", "Shop Now"),
    "urgent": ("Buy Now", "Shop Now", "Grab It Now"), "friendly": ("Take a Look", "Shop Now", "Say Hi"),
    "premium": ("Explore", "Discover", "Shop Now"), "neutral": ("Shop Now", "Learn More", "Buy Now"),
}
_ZH_HEAD_OFFER: dict[str, tuple[str, ...]] = {
    "bold": ("{p}{o}", "{p}狂欢{o}", "{o}！{p}"), "minimal": ("{p}：{o}", "{p}·{o}", "{p}{o}"),
    "playful": ("{p}嗨购{o}", "{p}{o}啦", "{p}{o}！"), "elegant": ("臻选{p}·{o}", "{p}·{o}", "{p}：{o}"),
    "urgent": ("{p}限时{o}", "{p}{o}抢", "抢{p}{o}"), "friendly": ("{p}{o}", "好{p}{o}", "{p}{o}哦"),
    "premium": ("尊享{p}{o}", "{p}·{o}", "臻品{p}{o}"), "neutral": ("{p}{o}", "{p}·{o}", "{p}，{o}"),
}
_ZH_HEAD_PLAIN: dict[str, tuple[str, ...]] = {
    "bold": ("{p}燃爆登场", "就要{p}", "{p}，够大胆", "大胆选{p}"),
    "minimal": ("{p}，刚刚好", "简单{p}", "{p}，就好", "简约{p}"),
    "playful": ("{p}来啦", "嗨，{p}", "{p}好好玩", "一起玩{p}"),
    "elegant": ("优雅{p}", "{p}之美", "精致{p}", "{p}，优雅之选"),
    "urgent": ("{p}速抢", "{p}抢先购", "{p}限时抢", "抢{p}，手慢无"),
    "friendly": ("你的{p}", "好{p}等你", "{p}，为你准备", "一起来选{p}"),
    "premium": ("臻品{p}", "尊享{p}", "{p}·品质之选", "匠心{p}"),
    "neutral": ("精选{p}", "{p}上新", "好物{p}", "{p}推荐"),
}
_ZH_SUB: dict[str, tuple[str, ...]] = {
    "bold": ("够大胆，才够出彩", "就是这么有态度", "惊艳登场，不容错过"),
    "minimal": ("少即是多，回归本真", "简单，也可以很好", "干净利落，刚刚好"),
    "playful": ("每天都要开开心心", "快乐加倍，惊喜不停", "好玩又好用"),
    "elegant": ("细节之处见品质", "优雅，从不张扬", "精致生活，从此开始"),
    "urgent": ("限时抢购，手慢无", "数量有限，先到先得", "错过再等一年"),
    "friendly": ("用心挑选，只为你", "温暖相伴每一天", "好物分享给你"),
    "premium": ("匠心品质，值得拥有", "甄选好料，品质之选", "献给懂生活的你"),
    "neutral": ("品质好物，放心选购", "好物推荐，等你来挑", "实用好物，天天用得上"),
}
_ZH_CTA: dict[str, tuple[str, ...]] = {
    "bold": ("立即购买", "马上抢"), "minimal": ("去看看", "立即选购"), "playful": ("冲呀", "马上抢"),
    "elegant": ("立即探索", "了解更多"), "urgent": ("立即抢购", "马上抢"), "friendly": ("去看看", "立即选购"),
    "premium": ("立即探索", "立即选购"), "neutral": ("立即购买", "了解更多"),
}


def _title(text: str) -> str:
    """First letter of each word upper-cased unless the word already has capitals (TVs stays)."""
    return " ".join(w if any(c.isupper() for c in w) else w[:1].upper() + w[1:]
                    for w in text.split(" "))


def _choose(rng: np.random.Generator, options: list[str], limit: int) -> str | None:
    fitting = [o for o in options if len(o) <= limit]
    return fitting[int(rng.integers(len(fitting)))] if fitting else None


def _first_fitting(options: list[str], limit: int) -> str | None:
    return next((o for o in options if len(o) <= limit), None)


def variant_order(variant: int, n_templates: int, n_renderings: int = 1) -> list[tuple[int, int]]:
    """Every (template, rendering) pair, in the order variant `variant` prefers them.

    Its own pair first: rendering `variant % n_renderings` (the one `offers.render_offer` gives
    that variant, so the model fills in the wording the copy was written with) and template
    `variant % n_templates`, moved on by one each time the pairs come round, so consecutive
    variants name different pairs for as long as there are pairs. Then its template with the
    other renderings, then the next templates: where the offer's wording is too long, the
    template still tells variants apart."""
    period = math.lcm(n_templates, n_renderings)
    own_t, own_r = (variant + variant // period) % n_templates, variant % n_renderings
    every = [(t, r) for t in range(n_templates) for r in range(n_renderings)]
    return sorted(every, key=lambda p: ((p[0] - own_t) % n_templates,
                                        (p[1] - own_r) % n_renderings))


def _headline(spec: BriefSpec, variant: int, prefer: int, limit: int) -> tuple[str, bool]:
    """(headline, whether it states the offer): the product always, the offer where it fits.

    The variant's own template with the offer (its own rendering first, `variant_order`)
    within `prefer` characters, else within `limit`; else its plain template (the offer left
    to the subline) within `prefer`; else the other templates with the offer, then
    '{product} {offer}', within `prefer`, else within `limit`; else the product alone. So a
    variant whose own template is too long for the format still writes a headline of its own.
    """
    lang, tone, p = spec.language, spec.tone, spec.product_text
    offers = list(offer_renderings(spec.offer, lang))
    if lang == "en":
        offer_tpl, plain_tpl, name = _EN_HEAD_OFFER[tone], _EN_HEAD_PLAIN[tone], _title(p)
    else:
        offer_tpl, plain_tpl, name = _ZH_HEAD_OFFER[tone], _ZH_HEAD_PLAIN[tone], p
    plain = [(plain_tpl[t].format(P=name, p=name), False)
             for t, _ in variant_order(variant, len(plain_tpl))]
    if not offers:
        tiers = [(plain, prefer), (plain, limit)]
    else:
        named = [t for t in offer_tpl if "{P}" in t or "{p}" in t]
        with_offer = [(named[t].format(o=offers[r], P=name, p=name), True)
                      for t, r in variant_order(variant, len(named), len(offers))]
        sep = " " if lang == "en" else ""
        rest = with_offer[len(offers):] + [(f"{name}{sep}{min(offers, key=len)}", True)]
        own = with_offer[:len(offers)]  # the own template's pairs come first
        tiers = [(own, prefer), (own, limit), (plain[:1], prefer), (rest, prefer), (rest, limit)]
    for candidates, room in tiers:
        chosen = next((c for c in candidates if len(c[0]) <= room), None)
        if chosen:
            return chosen
    return name, False


def _subline(spec: BriefSpec, rng: np.random.Generator, limit: int, offer_said: bool) -> str:
    """A tone line, led by the event when there is one, and by the offer if the headline lacks it."""
    lang, tone = spec.language, spec.tone
    base = (_EN_SUB if lang == "en" else _ZH_SUB)[tone]
    line = base[int(rng.integers(len(base)))]
    event = _event_name(spec)
    if event and rng.random() < 0.7:
        lead = f"{event[:1].upper() + event[1:]} special. " if lang == "en" else f"{event}特惠，"
        if len(lead + line) <= limit:
            line = lead + line
    offers = offer_renderings(spec.offer, lang)
    if offers and not offer_said:
        lead = min(offers, key=len) + (". " if lang == "en" else "，")
        short = spec.size not in ("300x600", "1080x1080", "1200x628") or len(lead + line) > limit
        line = lead.rstrip(". ，") if short else lead + line
    return line[:limit]


def _event_name(spec: BriefSpec) -> str | None:
    if not spec.event:
        return None
    found = catalog.event_for_name(spec.event)
    names = found.names(spec.language) if found else ()
    return names[0] if names else spec.event


def format_limits(lang: str, size: str) -> dict[str, int]:
    """The copy's character limits at an ad size: LIMITS, with the one-line 320x50 banner's
    shorter headline and CTA."""
    limits = dict(LIMITS[lang])
    if size == "320x50":
        limits["headline"], limits["cta"] = (24, 9) if lang == "en" else (10, 4)
    return limits


def good_copy(spec: BriefSpec, rng: np.random.Generator, variant: int | None = None) -> Copy:
    """Headline, subline and CTA for `spec`, in its language, within the length limits.
    `variant` (a non-negative int; drawn from `rng` when None) picks the headline's template
    and offer rendering (`variant_order`): the decoder is trained with it as its style, so
    different seeds write different headlines."""
    lang = spec.language
    limits = format_limits(lang, spec.size)
    prefer = limits["headline"]
    if spec.size in SHORT_SIZES:
        prefer = min(prefer, 26 if lang == "en" else 12)
    if variant is None:
        variant = int(rng.integers(VARIANTS))
    headline, offer_said = _headline(spec, variant, prefer, limits["headline"])
    subline = _subline(spec, rng, limits["subline"], offer_said)
    ctas = (_EN_CTA if lang == "en" else _ZH_CTA)[spec.tone]
    cta = _choose(rng, list(ctas), limits["cta"]) or ("Shop" if lang == "en" else "购买")
    return Copy(headline=headline, subline=subline, cta=cta, language=lang)
