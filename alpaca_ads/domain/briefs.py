"""The brief designer: draws what a brief asks for (a BriefSpec) and words it as a person would.

It samples product x offer x tone x size x brand colours x language x event from the catalog, then
writes the brief with one of many templates per language (brief_templates.py), in varied order,
with synonyms, named or hex colours, size names or numbers, English typos and Chinese full-width
noise. A fixed 20 % of templates per language and a fixed ~10 % of (product, size, tone)
combinations are held out: split="train" never produces them, split="heldout" only produces them.
It also writes briefs a model must refuse (negative_brief), and on request English training
briefs whose product is one the catalog does not sell (`novel_products`). Deterministic given the numpy
Generator. It knows nothing about copy, layout or pixels.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import replace

import numpy as np

from alpaca_ads.domain import brief_templates as bt
from alpaca_ads.domain import catalog
from alpaca_ads.domain.novel_products import novel_product_text
from alpaca_ads.domain.offer_words import NO_OFFER
from alpaca_ads.domain.offers import offer_phrasings, sample_offer_values
from alpaca_ads.domain.spec import LANGUAGES, SIZES, BriefSpec

SPLITS: tuple[str, ...] = ("train", "heldout")
NEGATIVE_REASONS: tuple[str, ...] = ("gibberish", "no_product", "unknown_size")
OFFER_WEIGHTS: dict[str, float] = {"percent_off": 0.45, "amount_off": 0.14, "bogo": 0.09,
                                   "free_shipping": 0.09, "second_half_price": 0.08, "none": 0.15}
TYPO_RATE = 0.15
FIELD_LIST_RATE = 0.25  # share of training briefs written as a field list, not a template
FIELD_LIST = -1  # the "template index" of a field list
NO_OFFER_SAID = 0.4  # share of training briefs without an offer that say so in words
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {SPLITS}")


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def is_heldout_combo(product: str, size: str, tone: str) -> bool:
    """Whether (product, size, tone) is held out of training (a fixed ~10 % of combinations)."""
    return zlib.crc32(f"{product}|{size}|{tone}".encode()) % 10 == 0


def templates(lang: str, split: str) -> tuple[int, ...]:
    """Indices of the templates of `lang` that `split` may use."""
    _check_split(split)
    table = _templates_of(lang)
    held = bt.heldout_templates(table)
    return tuple(i for i in range(len(table)) if (i in held) == (split == "heldout"))


def _templates_of(lang: str) -> tuple[str, ...]:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {LANGUAGES}")
    return bt.EN_TEMPLATES if lang == "en" else bt.ZH_TEMPLATES


def _brand_colours(rng: np.random.Generator) -> tuple[str, ...]:
    count = int(rng.choice(3, p=[0.3, 0.55, 0.15]))
    out: list[str] = []
    while len(out) < count:
        if rng.random() < 0.6:
            colour = _pick(rng, catalog.COLOURS).hex
        else:
            hue, sat, val = rng.random(), 0.45 + 0.55 * rng.random(), 0.3 + 0.7 * rng.random()
            colour = _hsv_hex(hue, sat, val)
        if colour not in out:
            out.append(colour)
    return tuple(out)


def _hsv_hex(h: float, s: float, v: float) -> str:
    i, f = int(h * 6) % 6, h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return "#" + "".join(f"{round(c * 255):02X}" for c in rgb)


def sample_spec(rng: np.random.Generator, split: str = "train") -> BriefSpec:
    """A BriefSpec; its (product, size, tone) is held out exactly when split == 'heldout'."""
    _check_split(split)
    lang = _pick(rng, LANGUAGES)
    for _ in range(1000):
        product = _pick(rng, catalog.PRODUCTS)
        size = _pick(rng, tuple(SIZES))
        tone = _pick(rng, catalog.TONE_KEYS)
        if is_heldout_combo(product.key, size, tone) == (split == "heldout"):
            break
    kinds = tuple(OFFER_WEIGHTS)
    kind = kinds[int(rng.choice(len(kinds), p=list(OFFER_WEIGHTS.values())))]
    offer = sample_offer_values(int(rng.integers(1000)), kind)
    event = None
    if rng.random() < 0.35:
        names = _pick(rng, catalog.EVENTS).names(lang)
        event = names[0]
    return BriefSpec(product=product.key, product_text=_pick(rng, product.names(lang)),
                     offer=offer, language=lang, size=size, brand_colors=_brand_colours(rng),
                     tone=tone, event=event)


def _size_words(size: str, lang: str, rng: np.random.Generator) -> str:
    w, h = SIZES[size]
    roll = rng.random()
    names = bt.SIZE_NAMES[size][lang]
    if roll < 0.18:
        return _pick(rng, names)
    numbers = _pick(rng, bt.SIZE_FORMS[lang]).format(w=w, h=h)
    if roll < 0.26:
        return f"{_pick(rng, names)} ({numbers})" if lang == "en" else f"{_pick(rng, names)}（{numbers}）"
    return numbers


def _one_colour_words(colour: str, lang: str, rng: np.random.Generator) -> str:
    named = next((c for c in catalog.COLOURS if c.hex == colour), None)
    hex_text = colour if rng.random() < 0.7 else colour.lower()
    if named is None:
        return hex_text
    name = _pick(rng, named.en if lang == "en" else named.zh)
    roll = rng.random()
    if roll < 0.55:
        return name
    if roll < 0.85:
        return hex_text
    return f"{name} ({hex_text})" if lang == "en" else f"{name}（{hex_text}）"


def _colour_words(colours: tuple[str, ...], lang: str, rng: np.random.Generator) -> str:
    words = [_one_colour_words(c, lang, rng) for c in colours]
    if len(words) < 2:
        return "".join(words)
    joiner = _pick(rng, (" and ", " / ", " + ") if lang == "en" else ("和", "、", "+", "配"))
    return joiner.join(words)


def _tone_words(tone: str, lang: str, rng: np.random.Generator) -> str:
    if tone == "neutral" and rng.random() < 0.6:
        return ""
    t = catalog.tone(tone)
    return _pick(rng, t.en if lang == "en" else t.zh)


def _event_words(spec: BriefSpec, rng: np.random.Generator) -> str:
    if not spec.event:
        return ""
    found = catalog.event_for_name(spec.event)
    if found is None:
        return spec.event
    names = found.names(spec.language)
    return _pick(rng, names) if names else spec.event


def _offer_words(spec: BriefSpec, rng: np.random.Generator, train: bool) -> str:
    """How the brief states its offer: a phrasing of it; for none, '' or (training briefs, at
    NO_OFFER_SAID) words that say nothing is on sale."""
    phrasings = offer_phrasings(spec.offer, spec.language, more=train)
    if phrasings:
        return _pick(rng, phrasings)
    if train and rng.random() < NO_OFFER_SAID:
        return _pick(rng, NO_OFFER[spec.language])
    return ""


def slot_values(spec: BriefSpec, rng: np.random.Generator,
                train: bool = False) -> dict[str, str]:
    """The words for each slot of a template ('' where the brief says nothing about it);
    `train`: offers may also be worded in the training-only ways of offer_words.py."""
    lang = spec.language
    return {
        "product": spec.product_text,
        "offer": _offer_words(spec, rng, train),
        "size": _size_words(spec.size, lang, rng),
        "colour": _colour_words(spec.brand_colors, lang, rng),
        "tone": _tone_words(spec.tone, lang, rng),
        "event": _event_words(spec, rng),
    }


def fill_template(template: str, values: dict[str, str], lang: str,
                  rng: np.random.Generator) -> str:
    """`template` with its slots filled, empty optional parts dropped, missing facts appended."""
    def keep(match: re.Match) -> str:
        slots = _SLOT.findall(match.group(1))
        return match.group(1) if all(values.get(s) for s in slots) else ""

    text = _SEGMENT.sub(keep, template)
    present = set(_SLOT.findall(text))
    suffixes = bt.EN_SUFFIXES if lang == "en" else bt.ZH_SUFFIXES
    missing = [s for s in suffixes if values.get(s) and s not in present]
    for index in rng.permutation(len(missing)):
        slot = missing[int(index)]
        if lang == "en" and text.rstrip().endswith((".", "?", "!")):
            text = text.rstrip() + " " + bt.EN_SENTENCE_SUFFIXES[slot]
        else:
            text += _pick(rng, suffixes[slot])
    return text.format(**values)


def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(3))
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def add_typos(text: str, rng: np.random.Generator, count: int = 1) -> str:
    """`text` with `count` words of 4+ letters misspelled (a letter swapped, dropped or doubled)."""
    words = [m for m in re.finditer(r"\b[A-Za-z]{4,}\b", text)]
    if not words:
        return text
    chosen = sorted({int(i) for i in rng.choice(len(words), size=min(count, len(words)),
                                                replace=False)}, reverse=True)
    for i in chosen:
        m = words[i]
        text = text[:m.start()] + _typo(m.group(0), rng) + text[m.end():]
    return text


_FULL_WIDTH = str.maketrans("0123456789x:,", "０１２３４５６７８９ｘ：，")


def zh_noise(text: str, rng: np.random.Generator) -> str:
    """Occasional full-width digits, half-width commas or full-width spaces in a Chinese brief."""
    roll = rng.random()
    if roll < 0.08:  # full-width digits, but never inside a hex colour
        parts = re.split(r"(#[0-9A-Fa-f]{6})", text)
        return "".join(p if p.startswith("#") else p.translate(_FULL_WIDTH) for p in parts)
    if roll < 0.16:
        return text.replace("，", ", ")
    if roll < 0.22:
        return text.replace("，", "，　", 1)
    if roll < 0.27:
        return text.replace("，", " ")
    return text


def field_list(values: dict[str, str], lang: str, rng: np.random.Generator) -> str:
    """The brief's facts in a random order, each labelled or bare, joined by one separator."""
    said = [slot for slot in sorted(bt.FIELD_LABELS[lang]) if values.get(slot)]
    fields = []
    for index in rng.permutation(len(said)):
        slot = said[int(index)]
        value = values[slot]
        if rng.random() < 0.5:
            label = _pick(rng, bt.FIELD_LABELS[lang][slot])
            value = label + _pick(rng, bt.FIELD_JOINERS[lang]) + value
        fields.append(value)
    return _pick(rng, bt.FIELD_SEPARATORS[lang]).join(fields)


def brief_text_and_template(spec: BriefSpec, rng: np.random.Generator,
                            split: str = "train") -> tuple[str, int]:
    """The brief's wording and the index of the template it used (in its language's list;
    FIELD_LIST for a training brief written as a field list)."""
    lang = spec.language
    train = split == "train"
    if train and rng.random() < FIELD_LIST_RATE:
        index, text = FIELD_LIST, field_list(slot_values(spec, rng, train), lang, rng)
    else:
        index = _pick(rng, templates(lang, split))
        text = fill_template(_templates_of(lang)[index], slot_values(spec, rng, train), lang, rng)
    if lang == "en":
        if rng.random() < TYPO_RATE:
            text = add_typos(text, rng, 1 + int(rng.random() < 0.3))
        if rng.random() < 0.08:
            text = text.lower()
    else:
        text = zh_noise(text, rng)
    return text, index


def brief_text(spec: BriefSpec, rng: np.random.Generator, split: str = "train") -> str:
    """`spec` worded as a brief in its language, with a template `split` may use."""
    return brief_text_and_template(spec, rng, split)[0]


def sample_brief(rng: np.random.Generator, split: str = "train",
                 novel_share: float = 0.0) -> tuple[BriefSpec, str]:
    """A spec and its brief; split='heldout' gives only held-out templates and combinations.
    With `novel_share`, that share of the English training briefs words its product as a thing
    the catalog does not sell (`novel_product_text`; the spec keeps its catalog product, so
    only the brief's reading may train on them)."""
    spec = sample_spec(rng, split)
    if novel_share and split == "train" and spec.language == "en" and rng.random() < novel_share:
        spec = replace(spec, product_text=novel_product_text(rng))
    return spec, brief_text(spec, rng, split)


_NO_PRODUCT = {
    "en": ("{offer}, {size}, brand colour {colour}", "Need a {size} banner[, {offer}][, {tone}]",
           "make an ad, {size}[, {colour}][, {offer}]", "{size} ad[ - {offer}][ - {tone} style]",
           "Banner please. Size {size}.[ Colours {colour}.]", "[{tone} ]{size}[, {offer}] for our sale"),
    "zh": ("{offer}，{size}，品牌色{colour}", "帮我做个{size}的广告[，{offer}]", "{size}[，{tone}风格][，{offer}]",
           "要一张广告图，{size}[，主色{colour}]", "[{event}]大促[，{offer}]，尺寸{size}",
           "做个{size}的banner[，{colour}]", "{filler}来袭[，{offer}]，{size}",
           "[{event}]{filler}，尺寸{size}[，{colour}]", "全场{filler}[，{offer}]，{size}[，{tone}]"),
}
# Words a brief with no product leans on instead: moods, occasions, the campaign itself. The
# reading had taken 'vibes' of 'summer sale vibes, 1200x628' for a product (tagged 0.92) and
# made a banner of nothing; the templates above wrote only 'banner', 'ad' and 'sale'. Nouns
# only: with 'new' and 'big' among them the refit doubted 'new socks banner 1080x1080'.
_NO_PRODUCT_FILLERS = {
    "en": ("vibes", "mood", "feels", "energy", "deals", "savings", "bargains", "specials",
           "offers", "discounts", "prices", "event", "season", "campaign", "launch", "promo",
           "promotion", "celebration", "party", "festival", "anniversary", "opening",
           "clearance", "collection", "drop", "range", "lineup", "arrivals", "edition",
           "moments", "fun", "magic", "goodies", "surprises", "treats", "love", "style",
           "looks", "trends", "weekend", "countdown", "everything", "stuff", "things", "items",
           "products", "brand", "store"),
    "zh": ("氛围", "氛围感", "活动", "福利", "狂欢", "盛典", "惊喜", "专场", "好运", "心情",
           "优惠季", "折扣季", "派对", "庆典", "限时活动", "宠粉节", "会员日", "开学季", "特惠",
           "优惠", "折扣", "清仓", "周年庆", "店庆", "开业", "新品", "爆款", "好物", "全场",
           "限时", "周末", "惊喜价", "品牌日", "大促", "秒杀", "团购", "上新"),
}
_NO_PRODUCT["en"] += ("{filler}, {size}[, {offer}]", "[{event} ]{filler}[ - {offer}] - {size}",
                      "all the {filler}! {size}[ {colour}]", "{filler} banner {size}[, {tone}]")


def _gibberish(rng: np.random.Generator, lang: str) -> str:
    if lang == "zh":
        n = int(rng.integers(3, 15))
        return "".join(chr(int(c)) for c in rng.integers(0x4E00, 0x9FA5, size=n))
    letters = "bcdfghjklmnpqrstvwxzaeiouy"
    words = ["".join(letters[int(i)] for i in rng.integers(0, 26, size=int(rng.integers(2, 7))))
             for _ in range(int(rng.integers(2, 6)))]
    return " ".join(words)


def _unknown_size(rng: np.random.Generator) -> str:
    supported = set(SIZES.values())
    while True:
        w, h = int(rng.integers(10, 2000)), int(rng.integers(10, 2000))
        if (w, h) not in supported:
            return f"{w}x{h}"


def _no_product(values: dict[str, str], lang: str, rng: np.random.Generator) -> str:
    """A brief with an offer, size and colour but no product at all."""
    values = {**values, "product": ""}
    if not values["offer"]:
        values["offer"] = _pick(rng, offer_phrasings(sample_offer_values(
            int(rng.integers(100)), "percent_off"), lang))
    if not values["colour"]:
        values["colour"] = _one_colour_words(_pick(rng, catalog.COLOURS).hex, lang, rng)
    values["filler"] = _pick(rng, _NO_PRODUCT_FILLERS[lang])
    template = _pick(rng, _NO_PRODUCT[lang])
    text = _SEGMENT.sub(lambda m: m.group(1) if all(values.get(s) for s in _SLOT.findall(
        m.group(1))) else "", template)
    return text.format(**values)


def negative_brief(rng: np.random.Generator, lang: str) -> tuple[str, str]:
    """A brief to refuse and why: 'gibberish', 'no_product' or 'unknown_size'."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {LANGUAGES}")
    reason = _pick(rng, NEGATIVE_REASONS)
    if reason == "gibberish":
        return _gibberish(rng, lang), reason
    spec = sample_spec(rng, "train")
    spec = BriefSpec(**{**spec.__dict__, "language": lang,
                        "product_text": _pick(rng, catalog.product(spec.product).names(lang))})
    values = slot_values(spec, rng)
    if reason == "no_product":
        return _no_product(values, lang, rng), reason
    values["size"] = _unknown_size(rng)
    index = _pick(rng, templates(lang, "train"))
    return fill_template(_templates_of(lang)[index], values, lang, rng), reason
