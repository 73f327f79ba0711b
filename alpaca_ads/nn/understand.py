"""From the text encoder's outputs to what the model understood of a brief (no torch).

Spans come from the per-character tags (copied verbatim from the brief), the rest from the
sequence heads; amounts are read from the digits of the offer span. A brief is refused when the
"understood" head says so, when no product span is found, or when the size class is
"unknown"; the refusal names the words it could not place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alpaca_ads.domain.spec import LANGUAGES, SIZES, Offer

from .codec import HEX_RE, SIZE_RE, spans
from .config import SIZE_CLASSES, TAGS, AdsConfig
from .offer_reading import read_brief_offer
from .tokenizer import normalise

SPAN_ENDS = " ,，.;；:：、"  # punctuation a product span does not begin or end with
WORD_RE = re.compile(r"[^\s,，。;；:：、|/()（）\-—+]+")


@dataclass
class Understood:
    """What the model read in one brief."""

    text: str
    understood: bool
    unplaced: list[str]
    language: str
    tone: str
    size: str  # a key of SIZES, or "unknown"
    product: str  # the product span, verbatim
    offer: Offer
    product_runs: list[str] = field(default_factory=list)  # every tagged product run, widened
    sure: float = 0.0  # the "understood" head's probability that the brief can be made
    tagged: float = 0.0  # the tagger's mean probability that the product's characters are one
    offer_tagged: float = 0.0  # ... and that they are part of the offer ('price' of 'half price')
    colour_spans: list[tuple[int, int]] = field(default_factory=list)  # set by the model
    brand_colors: tuple[str, ...] = ()
    default_colour: str = "#333A44"  # stands in for a missing brand colour (the seed picks it)
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"product": self.product, "offer": self.offer.__dict__, "size": self.size,
                "language": self.language, "tone": self.tone,
                "brand_colors": list(self.brand_colors)}


def unplaced_words(text: str, placeable: np.ndarray, tags: np.ndarray) -> list[str]:
    """Words of `text` whose characters are mostly unplaceable and untagged."""
    out = []
    for m in WORD_RE.finditer(text):
        lo, hi = m.start(), min(m.end(), len(placeable))
        if hi > lo and placeable[lo:hi].mean() < 0.5 and not tags[lo:hi].any():
            out.append(m.group(0))
    return out


def _tag_runs(tags: np.ndarray, kind: str) -> list[tuple[int, int]]:
    """(start, end) of each run of characters whose best tag is B- or I-`kind`."""
    names = {TAGS.index(f"B-{kind}"), TAGS.index(f"I-{kind}")}
    runs, start = [], None
    for i, t in enumerate([*tags.tolist(), -1]):
        if t in names and start is None:
            start = i
        elif t not in names and start is not None:
            runs.append((start, i))
            start = None
    return runs


def untagged_words(text: str, tags: np.ndarray) -> list[str]:
    """Words of `text` the tagger mostly leaves outside every span (what a refusal names when
    no word is unplaceable as such)."""
    out = []
    for m in WORD_RE.finditer(text):
        lo, hi = m.start(), min(m.end(), len(tags))
        if hi > lo and (tags[lo:hi] > 0).mean() < 0.5:
            out.append(m.group(0))
    return out


def read_colour(span: str, named_logits: np.ndarray, cfg: AdsConfig) -> str:
    """A hex colour from a colour span: its hex code if it has one, else the named colour."""
    m = HEX_RE.search(normalise(span))
    if m:
        return "#" + m.group(0).lstrip("#").upper()
    return cfg.colour_hexes[int(named_logits.argmax())]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits over the last axis."""
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def inside(tag_logits: np.ndarray, kind: str) -> np.ndarray:
    """Per character, the tagger's probability that it is inside a span of `kind` (B or I)."""
    p = softmax(tag_logits)
    return p[:, TAGS.index(f"B-{kind}")] + p[:, TAGS.index(f"I-{kind}")]


def soft_span(text: str, tag_logits: np.ndarray, kind: str, floor: float = 0.15) -> str:
    """The most likely span of `kind` when no character's best tag starts one: the character
    most likely to begin it (at least `floor`), extended while the next is likely inside it."""
    p = softmax(tag_logits)  # (T, n_tags)
    b, i = p[:, TAGS.index(f"B-{kind}")], p[:, TAGS.index(f"I-{kind}")]
    start = int(b.argmax()) if len(b) else 0
    if not len(b) or b[start] < floor:
        return ""
    end = start + 1
    while end < len(text) and i[end] >= 0.3:
        end += 1
    return text[start:end].strip()


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def widen_latin(text: str, start: int, end: int) -> tuple[int, int]:
    """A span widened to the whole Latin words it cuts, hyphenated ones included ('shirts' in
    't-shirts' -> 't-shirts', 'ar' in 'earbuds' -> 'earbuds')."""
    def joined(i: int) -> bool:  # text[i - 1] and text[i] belong to one word
        a, b = text[i - 1], text[i]
        if a == "-":
            return i >= 2 and _latin(text[i - 2]) and _latin(b)
        if b == "-":
            return i + 1 < len(text) and _latin(a) and _latin(text[i + 1])
        return _latin(a) and _latin(b)

    while 0 < start < len(text) and joined(start):
        start -= 1
    while end < len(text) and joined(end):
        end += 1
    return start, end


def latin_onset(text: str, start: int) -> int:
    """`start` moved back over the Latin letters written onto the Chinese word that begins there
    (T恤, U盘, iPhone手机壳: the letters are part of the word); `start` where there are none."""
    if not (0 <= start < len(text)) or not _cjk(text[start]):
        return start
    while start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
        start -= 1
    return start


_LATIN_ONSET = re.compile(r"[A-Za-z]*")


def _chinese_word(span: str) -> bool:
    """Whether a span is Chinese, maybe with Latin letters written onto its start (T恤)."""
    core = span[_LATIN_ONSET.match(span).end():]
    return bool(core) and _cjk(core[0]) and _cjk(span[-1])


def widen_cjk(text: str, start: int, end: int, left: int = 2, right: int = 1) -> tuple[int, int]:
    """A Chinese span widened to the Chinese word it sits in: to the phrase's start when at most
    `left` Chinese characters lie before it, to its end when at most `right` lie after it (the
    tagger often misses a product's first or last character: 唇[膏], [键]盘 -> 键盘), and to the
    Latin letters written onto its start (纯棉T[恤] -> T恤)."""
    if not (0 <= start < end <= len(text)) or not _cjk(text[start]) or not _cjk(text[end - 1]):
        return start, end
    lo = start
    while lo > 0 and _cjk(text[lo - 1]):
        lo -= 1
    hi = end
    while hi < len(text) and _cjk(text[hi]):
        hi += 1
    lo = latin_onset(text, lo if start - lo <= left else start)
    return lo, (hi if hi - end <= right else end)


def cjk_candidates(text: str, span: str, reach: int = 3, longest: int = 4) -> list[str]:
    """Chinese words a product span may stand for, the span itself first: every run of up to
    `longest` Chinese characters of the phrase it sits in that overlaps the span and starts and
    ends within `reach` characters of it ('镜' in '一个镜子的广告' -> '镜子', '个镜', ...), with
    the Latin letters written onto its start where there are any ('T恤这' -> 'T恤', `latin_onset`)."""
    found = text.find(span) if span else -1
    if found < 0 or not _chinese_word(span):
        return [span] if span else []
    at = found + _LATIN_ONSET.match(span).end()
    end = found + len(span)
    lo, hi = at, end
    while lo > max(0, at - reach) and _cjk(text[lo - 1]):
        lo -= 1
    while hi < min(len(text), end + reach) and _cjk(text[hi]):
        hi += 1
    out = [span]
    for a in range(lo, end):
        for b in range(max(a + 1, at + 1), min(hi, a + longest) + 1):
            for word in (text[a:b], text[latin_onset(text, a):b]):
                if word not in out:
                    out.append(word)
    return out


def product_candidates(text: str, span: str) -> list[str]:
    """Words a product span may stand for, the span itself first: the Chinese words around a
    Chinese span (`cjk_candidates`), the runs of whole words inside any other ('kids toys' ->
    'kids', 'toys'; '！瑜伽垫' -> '瑜伽垫')."""
    if span and _chinese_word(span):
        return cjk_candidates(text, span)
    words = [w for w in re.split(r"[^\w\-]+", span) if w]
    runs = [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)]
    return list(dict.fromkeys([span, *runs])) if span else []


def word_candidates(text: str, longest_cjk: int = 4, longest_latin: int = 3) -> list[str]:
    """Every word a brief may name its product with, where the tagger marked none: each run of 2
    to `longest_cjk` Chinese characters (and of 1 or more with the Latin letters written onto
    its start: T恤, `latin_onset`) and of 1 to `longest_latin` Latin words."""
    out = []
    for m in re.finditer(r"[\u4e00-\u9fff]+", text):
        run, onset = m.group(0), text[latin_onset(text, m.start()):m.start()]
        out += [run[a:b] for a in range(len(run))
                for b in range(a + 2, min(len(run), a + longest_cjk) + 1)]
        out += [onset + run[:b] for b in range(1, min(len(run), longest_cjk) + 1) if onset]
    words = re.findall(r"[A-Za-z][A-Za-z\-']*", text)
    out += [" ".join(words[i:j]) for i in range(len(words))
            for j in range(i + 1, min(len(words), i + longest_latin) + 1)]
    return list(dict.fromkeys(out))


TRAILING_TAGGED = 0.2  # an English product span's last word the tagger gives less is cut off


def _trimmed(text: str, span: str, tag_logits: np.ndarray) -> str:
    """An English product `span` less the words at its end that the tagger gives under
    TRAILING_TAGGED on average: the name's last word is the thing, and the tagger runs on into
    'deal' ('Black Friday books deal', 0.03) or 'now'."""
    at = text.find(span)
    words = list(re.finditer(r"\S+", span))
    while at >= 0 and span.isascii() and len(words) > 1 and _tagged(
            text, text[at + words[-1].start(): at + words[-1].end()], tag_logits, "product",
            at + words[-1].start()) < TRAILING_TAGGED:
        words.pop()
    return span[: words[-1].end()] if words and at >= 0 and span.isascii() else span


def _tagged(text: str, span: str, tag_logits: np.ndarray, kind: str, at: int | None = None) -> float:
    """Mean probability (B or I) of `kind` over the characters of `span` at `at` in `text`
    (default: its first place); 0 where it is not there."""
    at = (text.find(span) if span else -1) if at is None else at
    if at < 0:
        return 0.0
    return float(inside(tag_logits[at:at + len(span)], kind).mean())


def best_span(text: str, tag_logits: np.ndarray, kind: str) -> str:
    """The span of `kind` with the largest total of (P(inside) - 0.5) over its characters
    (inside = B or I), widened to whole Latin words and to the Chinese word it sits in
    (`widen_cjk`); '' if no character is more likely inside than not. More robust than reading
    the argmax tags one by one."""
    gain = inside(tag_logits, kind) - 0.5
    best, best_at, run, run_start = 0.0, (0, 0), 0.0, 0
    for i, g in enumerate(gain):  # maximum-sum run (Kadane)
        if run <= 0:
            run, run_start = 0.0, i
        run += float(g)
        if run > best:
            best, best_at = run, (run_start, i + 1)
    start, end = best_at
    return widened_span(text, start, end) if best > 0 else ""


def widened_span(text: str, start: int, end: int) -> str:
    """text[start:end] widened to the whole Latin words it cuts (`widen_latin`) and the Chinese
    word it sits in (`widen_cjk`), less the punctuation at its ends."""
    start, end = widen_cjk(text, *widen_latin(text, start, end))
    return text[start:end].strip(SPAN_ENDS)


def product_runs(text: str, tags: np.ndarray) -> list[str]:
    """Every run the tagger marks as product (argmax tags), widened (`widened_span`), in the
    brief's order: where it marks several ('Holiday gift guide - pizza'), the span it weighs
    most (`best_span`) may not be the product."""
    wide = [widen_cjk(text, *widen_latin(text, start, end))
            for start, end in _tag_runs(tags, "product")]
    runs = (text[start:end].strip(SPAN_ENDS) for start, end in _joined(text, wide))
    return list(dict.fromkeys(r for r in runs if r))


def _joined(text: str, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`runs` with Latin runs only spaces apart joined into one: the tagger marks each word of
    'dog leashes' as a product of its own, and 'dog' alone was named. A capitalised word is not
    joined to a lowercase one after it: a name before a thing ('Black Friday coffee beans')."""
    out: list[tuple[int, int]] = []
    for start, end in runs:
        before, this = text[out[-1][0]:out[-1][1]].rstrip() if out else "", text[start:end].lstrip()
        proper = before[:1].isupper() and this[:1].islower()
        if before and this and _latin_letter(before[-1]) and _latin_letter(this[0]) and \
                not proper and not text[out[-1][1]:start].strip():
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _latin_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def whole_run(span: str, runs: list[str]) -> str:
    """The product run (`product_runs`) an English `span` ends, else `span`: the words in front
    of a name's last word belong to it ('dog' of 'dog leashes'), those after it seldom do (the
    tagger also marks 'w' of 'yoga mats w/', 'now', 'second', 'BOGO')."""
    words = span.lower().split()
    for run in runs:
        run_words = run.lower().split()
        if span.isascii() and len(run_words) > len(words) and run_words[-len(words):] == words:
            return run
    return span


def _spelled_sizes(text: str) -> list[tuple[str, str]]:
    """(as written, 'WxH') of every size the brief spells out as W x H."""
    spelled = [m.group(0) for m in SIZE_RE.finditer(normalise(text))]
    return [(s, "x".join(re.findall(r"\d+", s)[:2])) for s in spelled]


def unknown_sizes(text: str) -> list[str]:
    """Sizes the brief spells out as W x H that are no ad format (empty when one of them is)."""
    spelled = _spelled_sizes(text)
    if any(d in SIZES for _, d in spelled):
        return []
    return [s for s, _ in spelled]


PLAIN_NUMBER_RE = re.compile(r"(?<![\d$¥￥€£.满减])\d{2,4}(?![\d%％元折.])")


def spelled_format(text: str) -> str | None:
    """The first ad format the brief spells out as W x H (it is read exactly), else the format
    two plain numbers in a row name ('728 wide 90 tall', 'width 160, height 600'; no price or
    percent), else None."""
    spelled = next((d for _, d in _spelled_sizes(text) if d in SIZES), None)
    if spelled:
        return spelled
    numbers = PLAIN_NUMBER_RE.findall(normalise(text))
    return next((f"{w}x{h}" for w, h in zip(numbers, numbers[1:]) if f"{w}x{h}" in SIZES), None)


def understand_one(text: str, out: dict[str, np.ndarray], cfg: AdsConfig) -> Understood:
    """One brief's reading. `out`: this item's encoder outputs as numpy (tags (T, n), placeable
    (T,) probabilities, head logits)."""
    tag_logits = out["tags"][: len(text)]
    tags = tag_logits.argmax(-1)
    found = spans(text, list(tags))
    head = {k: int(out[k].argmax()) for k in ("offer_kind", "percent", "amount_order",
                                              "has_threshold", "up_to", "language", "tone",
                                              "size", "understood")}
    size = spelled_format(text) or SIZE_CLASSES[head["size"]]
    if unknown_sizes(text):
        size = "unknown"
    runs = product_runs(text, tags)
    product = best_span(text, tag_logits, "product") or soft_span(
        text, tag_logits, "product")
    product = whole_run(_trimmed(text, product, tag_logits), runs) if product else product
    unplaced = unplaced_words(text, out["placeable"][: len(text)], tags)
    ok = bool(head["understood"]) and bool(product) and size != "unknown"
    if not ok and not unplaced:
        unplaced = (unknown_sizes(text) or found["size"]) if size == "unknown" else []
        if not product:
            unplaced = unplaced or ["(no product named)"]
        unplaced = unplaced or untagged_words(text, tags) or [text.strip()]
    return Understood(text=text, understood=ok, unplaced=unplaced,
                      language=LANGUAGES[head["language"]], tone=cfg.tones[head["tone"]],
                      size=size, product=product,
                      offer=read_brief_offer(text, head, _tag_runs(tags, "offer")),
                      product_runs=runs, sure=float(softmax(out["understood"])[1]),
                      tagged=_tagged(text, product, tag_logits, "product"),
                      offer_tagged=_tagged(text, product, tag_logits, "offer"))
