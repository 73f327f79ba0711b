"""The judge's own offer reader: ad copy in English or Chinese -> the canonical `Offer`s it states.

Written apart from the brief designer on purpose (the judge shares only `spec.Offer` with it), so a
copy that restates an offer wrongly cannot pass by sharing the designer's mistake. N折 means paying
N tenths: 七折 -> 30 % off, 七五折 / 7.5折 -> 25 % off, 五折 = 半价 -> 50 % off, 低至四折 -> up to
60 % off. It knows nothing about pixels or layouts.
"""

from __future__ import annotations

import re
import unicodedata

from alpaca_ads.domain.spec import Offer

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUM = r"[0-9]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万]+"
_MONEY = r"(?:[$¥￥€£]\s*)?"
_UP_TO_EN = r"(?:up\s*to|as\s*much\s*as)\s*"
_UP_TO_ZH = r"(?:低至|最低|最高|最多|最高可?享?|高达)"


def cn_number(text: str) -> float | None:
    """A number written in digits or Chinese numerals ('七五' -> 75, '一百' -> 100); None if not."""
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
        return float(text)
    if not text or any(c not in _CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    if not any(c in _CN_UNITS for c in text):  # digit by digit: 七五 -> 75
        return float("".join(str(_CN_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for c in text:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        else:
            total += (digit or 1) * _CN_UNITS[c]
            digit = 0
    return float(total + digit)


def _discount_from_zhe(number: str) -> int | None:
    """Percent off for 'N折': 7 -> 30, 75 -> 25, 7.5 -> 25, 9.5 -> 5."""
    value = cn_number(number)
    if value is None or value <= 0:
        return None
    paid = value * 10 if value < 10 else value  # 7 or 7.5 tenths; 75 hundredths
    off = round(100 - paid)
    return off if 1 <= off <= 99 else None


def _int(number: str) -> int | None:
    value = cn_number(number)
    return int(value) if value is not None and value == int(value) and value > 0 else None


def normalise_copy(text: str) -> str:
    """NFKC (full-width -> half-width), casefolded, runs of whitespace collapsed to one space."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _amount_offers(text: str) -> tuple[list[Offer], str]:
    """'满100减20', 'spend $100 get $20 off', '$20 off orders over $100', '立减20元' (threshold or not)."""
    found: list[Offer] = []
    patterns = [
        (rf"满\s*({_NUM})\s*(?:元)?\s*[减立减省]+\s*({_NUM})\s*元?", (0, 1)),
        (rf"{_MONEY}({_NUM})\s*(?:dollars?|usd|元|块)?\s*off\s*(?:on\s*|your\s*|any\s*|all\s*)?"
         rf"(?:orders?|purchases?|spend)\s*(?:of\s*|over\s*|above\s*|\+\s*)?{_MONEY}({_NUM})", (1, 0)),
        (rf"{_MONEY}({_NUM})\s*off\s*{_MONEY}({_NUM})\s*\+", (1, 0)),
        (rf"(?:spend|buy|orders?\s*over)\s*{_MONEY}({_NUM})\+?\s*(?:,\s*)?(?:get|save|take)\s*"
         rf"{_MONEY}({_NUM})\s*off", (0, 1)),
        (rf"(?:save|get)\s*{_MONEY}({_NUM})\s*(?:on|off)\s*(?:orders?\s*)?(?:over|of|above)\s*"
         rf"{_MONEY}({_NUM})", (1, 0)),
    ]
    for pattern, (t_idx, v_idx) in patterns:
        for m in re.finditer(pattern, text):
            threshold, value = _int(m.group(t_idx + 1)), _int(m.group(v_idx + 1))
            if threshold and value:
                found.append(Offer("amount_off", value=value, threshold=threshold))
        text = re.sub(pattern, " ", text)
    for m in re.finditer(rf"(?:立减|直降|立省|减)\s*({_NUM})\s*(?:元|块)|"
                         rf"(?:[$¥￥€£]\s*({_NUM})\s*off|save\s*[$¥￥€£]\s*({_NUM}))", text):
        value = _int(next(g for g in m.groups() if g))
        if value:
            found.append(Offer("amount_off", value=value))
    text = re.sub(rf"(?:立减|直降|立省|减)\s*({_NUM})\s*(?:元|块)|[$¥￥€£]\s*({_NUM})\s*off|"
                  rf"save\s*[$¥￥€£]\s*({_NUM})", " ", text)
    return found, text


def _percent_offers(text: str) -> list[Offer]:
    """'30% off', 'save 30%', '30 percent off', 'half price', 七折, 低至四折, 立减三成, 3折起."""
    found: list[Offer] = []
    for m in re.finditer(rf"({_UP_TO_ZH})?\s*(?:打|享)?\s*({_NUM})\s*折(起)?", text):
        off = _discount_from_zhe(m.group(2))
        if off:
            found.append(Offer("percent_off", value=off, up_to=bool(m.group(1) or m.group(3))))
    for m in re.finditer(rf"({_UP_TO_ZH})?\s*(?:立减|减|省|优惠)?\s*({_NUM})\s*成", text):
        value = _int(m.group(2))
        if value and 1 <= value <= 9:
            found.append(Offer("percent_off", value=value * 10, up_to=bool(m.group(1))))
    for m in re.finditer(r"(?P<pre>(?:save|take|get|extra|enjoy)\s*)?(?P<up>(?:up\s*to|as\s*much"
                         r"\s*as)\s*)?(?P<n>[0-9]+)\s*(?:%|percent|pct|per\s*cent)\s*"
                         r"(?P<off>off|discount|savings?)?", text):
        value = int(m.group("n"))
        if 1 <= value <= 99 and (m.group("pre") or m.group("off")):
            found.append(Offer("percent_off", value=value, up_to=bool(m.group("up"))))
    if re.search(r"half\s*(?:price|off)|半价|五折优惠", text):
        found.append(Offer("percent_off", value=50, up_to=bool(re.search(
            rf"{_UP_TO_EN}half|{_UP_TO_ZH}半价", text))))
    return found


def read_offers(copy_text: str) -> list[Offer]:
    """Every offer the text states, canonical and de-duplicated, in a stable order."""
    text = normalise_copy(copy_text)
    found: list[Offer] = []
    if re.search(r"第\s*(?:二|2)\s*件\s*(?:半价|五折|5折)|(?:second|2nd)\s*(?:[a-z]+\s*)?"
                 r"(?:at\s*|is\s*)?(?:half\s*(?:price|off)|50\s*%\s*off)|50\s*%\s*off\s*(?:the\s*|your\s*)?"
                 r"(?:second|2nd)", text):
        found.append(Offer("second_half_price"))
        text = re.sub(r"第\s*(?:二|2)\s*件\s*(?:半价|五折|5折)|(?:second|2nd)\s*(?:[a-z]+\s*)?"
                      r"(?:at\s*|is\s*)?(?:half\s*(?:price|off)|50\s*%\s*off)|50\s*%\s*off\s*"
                      r"(?:the\s*|your\s*)?(?:second|2nd)\s*\w*", " ", text)
    if re.search(r"\bbogo\b|buy\s*(?:one|1)\s*,?\s*get\s*(?:one|1)\s*(?:free|on\s*us)|买\s*[一1]\s*"
                 r"[送赠]\s*[一1]|2\s*for\s*1|two\s*for\s*one", text):
        found.append(Offer("bogo"))
    if re.search(r"free\s*(?:shipping|delivery|postage)|ships?\s*free|免\s*(?:运费|邮费?)|包邮|"
                 r"免费配送|免配送费", text):
        found.append(Offer("free_shipping"))
    amounts, text = _amount_offers(text)
    found.extend(amounts)
    found.extend(_percent_offers(text))
    unique: list[Offer] = []
    for offer in found:
        if offer not in unique:
            unique.append(offer)
    return unique


def describe(offer: Offer) -> str:
    """A short English rendering for reasons: '30% off', 'up to 60% off', '20 off over 100'."""
    if offer.kind == "percent_off":
        return f"{'up to ' if offer.up_to else ''}{offer.value}% off"
    if offer.kind == "amount_off":
        over = f" over {offer.threshold}" if offer.threshold else ""
        return f"{offer.value} off{over}"
    return offer.kind.replace("_", " ")
