"""How an offer is worded: the many ways a brief may say it, and the short exact way copy states it.

Both directions start from the canonical `spec.Offer`. N折 means paying N tenths, so a percent off
of v is written as the price paid, (100 - v) tenths: 30 % off = 七折 / 7折, 25 % off = 七五折 /
7.5折, 50 % off = 五折 = 半价, up to 60 % off = 低至四折; 立减三成 = save 30 %. It knows nothing
about products, layouts or pixels, and it does not parse text (the judge has its own reader).
"""

from __future__ import annotations

from alpaca_ads.domain.offer_words import more_phrasings
from alpaca_ads.domain.spec import Offer

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_CHENG = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九"}


def _check(offer: Offer, lang: str) -> None:
    if not isinstance(offer, Offer):
        raise ValueError(f"offer {offer!r} is not an Offer")
    if lang not in ("en", "zh"):
        raise ValueError(f"language {lang!r} is not 'en' or 'zh'")


def zhe(percent_off: int, numerals: bool) -> str:
    """The N折 number for `percent_off`: 30 -> '七' / '7', 25 -> '七五' / '7.5', 95 -> '0.5'."""
    if not isinstance(percent_off, int) or not 1 <= percent_off <= 99:
        raise ValueError(f"percent off {percent_off!r} must be an int in 1..99")
    paid = 100 - percent_off
    tens, ones = divmod(paid, 10)
    if tens == 0:
        return f"0.{ones}"
    if numerals:
        return _ZH_DIGITS[tens] + (_ZH_DIGITS[ones] if ones else "")
    return f"{tens}.{ones}" if ones else str(tens)


def _money_en(amount: int) -> str:
    return f"${amount}"


def _percent_en_brief(offer: Offer) -> list[str]:
    v = offer.value
    if offer.up_to:
        out = [f"up to {v}% off", f"as much as {v}% off", f"save up to {v}%",
               f"up to {v} percent off", f"discounts up to {v}%"]
        return out + (["up to half off"] if v == 50 else [])
    out = [f"{v}% off", f"{v} percent off", f"save {v}%", f"{v}% discount", f"take {v}% off",
           f"{v}% off everything", f"{v} % off", f"a {v}% discount", f"get {v}% off"]
    return out + (["half price", "half off", "50% off everything"] if v == 50 else [])


def _percent_zh_brief(offer: Offer) -> list[str]:
    v = offer.value
    cn, num = zhe(v, True), zhe(v, False)
    if offer.up_to:
        out = [f"低至{cn}折", f"最低{cn}折", f"{num}折起", f"低至{num}折", f"低至{cn}折优惠"]
        return out + ([f"最高立减{_ZH_CHENG[v // 10]}成"] if v % 10 == 0 else [])
    out = [f"{cn}折", f"{num}折", f"打{cn}折", f"全场{cn}折", f"享{cn}折"]
    if v % 10 == 0:
        out += [f"立减{_ZH_CHENG[v // 10]}成", f"省{_ZH_CHENG[v // 10]}成"]
    return out + (["半价", "五折", "全场半价"] if v == 50 else [])


def offer_phrasings(offer: Offer, lang: str, more: bool = False) -> list[str]:
    """Ways a brief in `lang` may state `offer`, all meaning exactly it; [] for kind 'none'.
    `more`: also the training-only ones of offer_words.py."""
    _check(offer, lang)
    extra = more_phrasings(offer, lang) if more else []
    return _base_phrasings(offer, lang) + extra


def _base_phrasings(offer: Offer, lang: str) -> list[str]:
    v, t = offer.value, offer.threshold
    if offer.kind == "percent_off":
        return _percent_en_brief(offer) if lang == "en" else _percent_zh_brief(offer)
    if offer.kind == "amount_off" and lang == "en":
        if t:
            return [f"${v} off orders over ${t}", f"spend ${t}, save ${v}", f"${v} off ${t}+",
                    f"save ${v} on orders over ${t}", f"spend ${t} get ${v} off"]
        return [f"${v} off", f"save ${v}", f"take ${v} off"]
    if offer.kind == "amount_off":
        if t:
            return [f"满{t}减{v}", f"满{t}元减{v}元", f"满{t}立减{v}", f"满 {t} 减 {v}"]
        return [f"立减{v}元", f"直降{v}元", f"立省{v}元"]
    table = {
        ("bogo", "en"): ["buy one get one free", "BOGO", "buy 1 get 1 free", "2 for 1", "a BOGO deal"],
        ("bogo", "zh"): ["买一送一", "买1送1", "买一赠一"],
        ("free_shipping", "en"): ["free shipping", "free delivery", "ships free",
                                  "free shipping on all orders"],
        ("free_shipping", "zh"): ["免运费", "包邮", "全场包邮", "免邮"],
        ("second_half_price", "en"): ["second item half price", "2nd item half price",
                                      "50% off the second item", "second pair half price"],
        ("second_half_price", "zh"): ["第二件半价", "第2件半价"],
    }
    return list(table.get((offer.kind, lang), []))


def offer_renderings(offer: Offer, lang: str) -> tuple[str, ...]:
    """The short, exact ways copy states `offer` (render_offer picks one); () for kind 'none'."""
    _check(offer, lang)
    v, t = offer.value, offer.threshold
    if offer.kind == "percent_off" and lang == "en":
        if offer.up_to:
            return (f"Up to {v}% OFF", f"Save up to {v}%", f"Up to {v}% off")
        return (f"{v}% OFF", f"Save {v}%", f"{v}% off") + (("Half Price",) if v == 50 else ())
    if offer.kind == "percent_off":
        cn, num = zhe(v, True), zhe(v, False)
        if offer.up_to:
            return (f"低至{num}折", f"低至{cn}折", f"{num}折起")
        return (f"{num}折", f"{cn}折") + (("半价",) if v == 50 else ())
    if offer.kind == "amount_off" and lang == "en":
        if t:
            return (f"${v} off ${t}+", f"${v} off orders over ${t}", f"Spend ${t}, get ${v} off")
        return (f"${v} OFF", f"Save ${v}")
    if offer.kind == "amount_off":
        return (f"满{t}减{v}", f"满{t}元减{v}元") if t else (f"立减{v}元", f"直降{v}元")
    table = {
        ("bogo", "en"): ("Buy 1 Get 1 Free", "BOGO", "Buy One Get One Free"),
        ("bogo", "zh"): ("买一送一", "买1送1"),
        ("free_shipping", "en"): ("Free Shipping", "Free Delivery"),
        ("free_shipping", "zh"): ("包邮", "免运费", "全场包邮"),
        ("second_half_price", "en"): ("2nd Item Half Price", "Second One Half Price",
                                      "2nd Half Price"),
        ("second_half_price", "zh"): ("第二件半价", "第2件半价"),
    }
    return table.get((offer.kind, lang), ())


def render_offer(offer: Offer, lang: str, variant: int = 0) -> str:
    """How copy states `offer` in `lang`: '30% OFF', 'Save 30%', '7折', '七折', '满100减20'.

    `variant` picks among the renderings (modulo their number); '' for kind 'none'.
    """
    if not isinstance(variant, int) or variant < 0:
        raise ValueError(f"variant {variant!r} must be a non-negative int")
    options = offer_renderings(offer, lang)
    return options[variant % len(options)] if options else ""


def sample_offer_values(rng_choice: int, kind: str) -> Offer:
    """A realistic offer of `kind`, the `rng_choice`-th of a fixed list (wraps around)."""
    if kind == "percent_off":
        table = [(v, False) for v in (10, 15, 20, 25, 30, 40, 50, 60, 70)] + \
                [(v, True) for v in (30, 40, 50, 60, 70)]
        value, up_to = table[rng_choice % len(table)]
        return Offer("percent_off", value=value, up_to=up_to)
    if kind == "amount_off":
        table = [(20, 100), (30, 200), (50, 300), (10, 50), (100, 500), (15, None), (50, None),
                 (5, 30), (40, 199), (200, 1000)]
        value, threshold = table[rng_choice % len(table)]
        return Offer("amount_off", value=value, threshold=threshold)
    if kind not in ("bogo", "free_shipping", "second_half_price", "none"):
        raise ValueError(f"offer kind {kind!r} is not a known kind")
    return Offer(kind)
