"""The offer of a brief from the encoder's offer heads and its tagged offer spans (no torch).

The heads say which kind of offer it is (and guess a percent and whether it is "up to"); the
numbers are read as the brief writes them, from the tagged spans widened to the whole numbers
they cut: a tagger often misses a digit, never adds one. N折 means paying N tenths (七五折 = 25 %
off). Written apart from the judge's offer reader (alpaca_ads/judge/offers.py) on purpose.
"""

from __future__ import annotations

import re
from dataclasses import replace

from alpaca_ads.domain.spec import OFFER_KINDS, Offer

from .codec import HEX_RE, SIZE_RE
from .tokenizer import normalise

Span = tuple[int, int]  # (start, end) of a span in the brief

def _numbers(span: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", normalise(span))]


_NUMERAL = "0123456789０１２３４５６７８９.．零〇一二两三四五六七八九十百千"
_AMOUNT_JOINERS = "满减元立省$¥￥"  # what holds a Chinese amount offer's numbers together
_CN_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


def whole_numbers(text: str, start: int, end: int) -> Span:
    """The offer span text[start:end] widened at either end to the whole numbers it cuts and
    the amount offer they belong to ('000减30' in '满3000减300' -> '满3000减300', '2' in
    '满299减50' -> '满299减50'): the tagger often misses a digit, never adds one."""
    def joins(i: int) -> bool:  # a full stop joins only as a decimal point
        if text[i] in ".．":
            return i + 1 < len(text) and text[i + 1].isdigit()
        return text[i] in _NUMERAL or text[i] in _AMOUNT_JOINERS

    while 0 < start < len(text) and joins(start - 1) and joins(start):
        start -= 1
    while 0 < end < len(text) and joins(end - 1) and joins(end):
        end += 1
    return start, end


def _zhe_percent(digits: str) -> int | None:
    """Percent off of an N折 number: '7' / '七' -> 30, '7.5' / '七五' -> 25."""
    if all(c in _CN_DIGIT for c in digits):
        digits = "".join(str(_CN_DIGIT[c]) for c in digits)
        digits = digits if len(digits) == 1 else f"{digits[0]}.{digits[1:]}"
    try:
        tenths = float(digits)
    except ValueError:
        return None
    return round(100 - 10 * tenths) if 0 < tenths < 10 else None


def spelled_percent(span: str) -> int | None:
    """The percent off an offer span spells out ('30% off', '七五折', '6.5折'), else None: the
    number is read as written, the head only says which kind of offer it is."""
    text = normalise(span)
    m = re.search(r"(\d+(?:\.\d+)?)\s*(?:%|percent)", text)
    if m and 0 < float(m.group(1)) < 100:
        return round(float(m.group(1)))
    m = re.search(r"(\d(?:\.\d)?|[一二三四五六七八九]{1,2})折", text)
    return _zhe_percent(m.group(1)) if m else None


def read_offer(head: dict[str, int], offer_spans: list[str]) -> Offer:
    """The offer from the heads' argmaxes and the digits of the longest offer span that has
    any (a stray digit tagged elsewhere, the 6 of '618 sale', is not the offer)."""
    kind = OFFER_KINDS[head["offer_kind"]]
    up_to = bool(head["up_to"])
    with_digits = sorted((s for s in offer_spans if _numbers(s) or spelled_percent(s)),
                         key=len, reverse=True)
    if kind == "percent_off":
        spelled = spelled_percent(with_digits[0]) if with_digits else None
        return Offer(kind, value=spelled or max(1, head["percent"]), up_to=up_to)
    if kind == "amount_off":
        nums = _numbers(with_digits[0]) if with_digits else []
        if not nums:
            return Offer("none")
        if head["has_threshold"] and len(nums) >= 2:
            value, threshold = (nums[1], nums[0]) if head["amount_order"] else (nums[0], nums[1])
            return Offer(kind, value=max(1, value), threshold=threshold)
        return Offer(kind, value=max(1, nums[0]))
    return Offer(kind)


UP_TO_RE = re.compile(r"up\s*to|as much as|低至|最低|最高|高达|\d折起|[一二三四五六七八九]折起|%\s*起")
UP_TO_REACH = 12  # characters before an offer span where its "up to" may stand


def up_to_as_written(text: str, start: int, end: int) -> bool:
    """Whether the brief says "up to" (低至, 起) of the offer at text[start:end]: the head's guess
    is wrong both ways on phrasings it never saw ('the deal is 30% off' read as up to)."""
    return bool(UP_TO_RE.search(normalise(text[max(0, start - UP_TO_REACH): end + 2])))


SECOND_ITEM_RE = re.compile(r"second|2nd|第二|第2")


def half_or_second_half(offer: Offer, text: str) -> Offer:
    """Half price and the second item at half price as the brief writes them: the second
    item's offer needs the brief to name a second item ('2nd', 第二), and half price where it
    does is that offer. The heads of the refitted encoder read 'half price' as the second
    item's half price (training briefs say '2nd bag half price') and 第二个半价 as 50 % off."""
    second = bool(SECOND_ITEM_RE.search(normalise(text).lower()))
    if offer.kind == "second_half_price" and not second:
        return Offer("percent_off", value=50)
    if offer == Offer("percent_off", value=50) and second:
        return Offer("second_half_price")
    return offer


HALF_PRICE_RE = re.compile(r"half[\s-]*(?:price|off)|半价|半價")


def whole_half_price(text: str, start: int, end: int) -> Span:
    """The offer span text[start:end] widened to a half price it cuts ('半' of '沙发半价' ->
    '半价'): the tagger often marks part of the phrase."""
    for m in HALF_PRICE_RE.finditer(normalise(text)):
        if m.start() < end and start < m.end():
            start, end = min(start, m.start()), max(end, m.end())
    return start, end


def half_price_as_written(offer: Offer, spans: list[str]) -> Offer:
    """No offer read where a tagged offer span spells half price ('半价', 'half off') is 50 %
    off: the kind head reads no offer in wordings it never saw ('香薰蜡烛半价'), the span names
    the offer by itself (whether the second item's: `half_or_second_half`)."""
    if offer.kind == "none" and any(HALF_PRICE_RE.search(normalise(s)) for s in spans):
        return Offer("percent_off", value=50)
    return offer


OFFER_GAP = 3  # characters a tagger leaves out inside one offer ('5 percen|t |discount', 五|五|折)
CURRENCY_RE = re.compile(r"[$¥￥€£元]")


def joined(spans: list[Span], gap: int = OFFER_GAP) -> list[Span]:
    """Tagged offer runs at most `gap` characters apart joined into one span: the tagger often
    drops a character or a short word inside an offer ('take $100 off wh|e|n you spend $800'),
    and read apart, neither piece holds the whole offer."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start - out[-1][1] <= gap:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def percent_as_written(offer: Offer, span: str) -> Offer:
    """An amount off whose offer span spells a percent and names no currency is that percent
    off ('5 percent discount'): the kind head confuses the two numeric kinds on wordings it
    never saw, the span says which it is."""
    percent = spelled_percent(span)
    if offer.kind == "amount_off" and percent and not CURRENCY_RE.search(span):
        return Offer("percent_off", value=percent)
    return offer


def untagged_amount(text: str) -> str:
    """The brief less its sizes and colour codes, where it holds one or two numbers (else ''):
    the numbers of an amount off the heads are sure of but the tagger left untagged
    ('猫粮满30减5，方图1080x1080'). More numbers than that are not read blind."""
    rest = HEX_RE.sub(" ", SIZE_RE.sub(" ", normalise(text)))
    return rest if 1 <= len(_numbers(rest)) <= 2 else ""


def read_brief_offer(text: str, head: dict[str, int], tagged: list[Span]) -> Offer:
    """`read_offer` over the tagged offer spans (start, end), joined where a few characters
    apart and widened to whole numbers and half prices (an amount off with no number tagged:
    the brief's own numbers, `untagged_amount`); a percent the span spells is a percent off
    (and "up to" exactly where the brief says so), a half price it spells is an offer even where
    the heads read none; half price and the second item's half price as the brief names (or
    does not name) a second item."""
    widened = [whole_half_price(text, *whole_numbers(text, start, end))
               for start, end in joined(tagged)]
    texts = [text[a:b] for a, b in widened]
    with_digits = [t for t in texts if _numbers(t) or spelled_percent(t)]
    if OFFER_KINDS[head["offer_kind"]] == "amount_off" and not with_digits:
        texts = [untagged_amount(text)]
    offer = read_offer(head, texts)
    if with_digits:
        offer = percent_as_written(offer, max(with_digits, key=len))
    offer = half_or_second_half(half_price_as_written(offer, texts), text)
    spelled = [(a, b) for a, b in widened if spelled_percent(text[a:b])]
    if offer.kind == "percent_off" and spelled:
        longest = max(spelled, key=lambda span: span[1] - span[0])
        return replace(offer, up_to=up_to_as_written(text, *longest))
    return offer
