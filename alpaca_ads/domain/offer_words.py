"""More ways a brief words an offer, and ways it says there is none, for training briefs.

The brief designer's base phrasings (offers.py) are also what held-out briefs are drawn from, so
they stay fixed; these extend training only: numbers spelled out ('forty percent off', 'a quarter
off'), spend-and-save in either order, the second item's counter word varied (第二杯半价,
'2nd bag half price'), free delivery said other ways (免费配送, 'shipping is on us'), and briefs
that say in words that nothing is on sale ('no discount', 不打折), which a reader of the word 折
alone took for a discount. It does not parse text.
"""

from __future__ import annotations

from alpaca_ads.domain.spec import Offer

_ONES = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_FRACTIONS = {25: ("a quarter", "quarter"), 50: ("half",), 75: ("three quarters",)}
_EN_ITEMS = ("item", "pair", "one", "bag", "box", "bottle", "piece", "unit")
_ZH_COUNTERS = "件个台杯双份瓶盒套只"

NO_OFFER: dict[str, tuple[str, ...]] = {
    "en": ("no discount", "full price", "no offer, just awareness", "not on sale",
           "brand awareness only", "no promo", "nothing on sale", "no deal this time"),
    "zh": ("不打折", "无折扣", "原价销售", "不做活动", "只做品牌曝光", "品牌宣传为主，不打折",
           "没有优惠", "正价"),
}


def spelled(number: int) -> str:
    """An English number word for 1..99: 40 -> 'forty', 25 -> 'twenty-five'."""
    if not 1 <= number <= 99:
        raise ValueError(f"{number!r} is not in 1..99")
    if number < 20:
        return _ONES[number]
    tens, ones = divmod(number, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _percent_en(offer: Offer) -> list[str]:
    v, word = offer.value, spelled(offer.value)
    if offer.up_to:
        return [f"up to {word} percent off", f"as much as {word} percent off",
                f"up to {v} pct off"]
    out = [f"{word} percent off", f"{word} per cent off", f"{v} pct off", f"{v}% off sitewide",
           f"knock {v}% off"]
    return out + [f"{f} off" for f in _FRACTIONS.get(v, ())]


def _percent_zh(offer: Offer) -> list[str]:
    v = offer.value
    if offer.up_to:
        return [f"最高{v}%折扣", f"最多省{v}%"]
    return [f"{v}% off", f"优惠{v}%", f"减{v}%"]


def _amount(offer: Offer, lang: str) -> list[str]:
    v, t = offer.value, offer.threshold
    if lang == "zh":
        return [f"每满{t}减{v}", f"消费满{t}元立减{v}元", f"满{t}省{v}"] if t else [
            f"立省{v}", f"减{v}元", f"优惠{v}元"]
    if t:
        return [f"spend {t} save {v}", f"${v} off when you spend ${t}",
                f"take ${v} off when you spend ${t} or more", f"${v} off orders of ${t}+"]
    return [f"${v} discount", f"{v} dollars off"]


def _second_half(lang: str) -> list[str]:
    if lang == "zh":
        return [f"第二{c}半价" for c in _ZH_COUNTERS] + [f"第2{c}半价" for c in _ZH_COUNTERS[:4]]
    return ([f"2nd {n} half price" for n in _EN_ITEMS] + [f"second {n} half off" for n in _EN_ITEMS]
            + ["buy one, get the second half price"])


_OTHER: dict[tuple[str, str], tuple[str, ...]] = {
    ("bogo", "en"): ("buy one, get one free", "two for the price of one", "bogo"),
    ("bogo", "zh"): ("买一送一活动", "买一件送一件", "第二件免费"),
    ("free_shipping", "en"): ("shipping is on us", "no delivery charge", "free delivery on all orders",
                              "we pay the shipping", "free shipping sitewide"),
    ("free_shipping", "zh"): ("免费配送", "免费送货", "运费全免", "包邮到家", "全国包邮", "免费送货上门"),
}


def more_phrasings(offer: Offer, lang: str) -> list[str]:
    """Further ways a training brief in `lang` may state `offer` ([] for kind 'none')."""
    if offer.kind == "percent_off":
        return _percent_en(offer) if lang == "en" else _percent_zh(offer)
    if offer.kind == "amount_off":
        return _amount(offer, lang)
    if offer.kind == "second_half_price":
        return _second_half(lang)
    return list(_OTHER.get((offer.kind, lang), ()))
