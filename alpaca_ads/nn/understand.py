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

from alpaca_ads.domain.spec import LANGUAGES, OFFER_KINDS, SIZES, Offer

from .codec import HEX_RE, SIZE_RE, spans
from .config import SIZE_CLASSES, TAGS, AdsConfig
from .tokenizer import normalise

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
    colour_spans: list[str] = field(default_factory=list)
    brand_colors: tuple[str, ...] = ()
    default_colour: str = "#333A44"  # stands in for a missing brand colour (the seed picks it)
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"product": self.product, "offer": self.offer.__dict__, "size": self.size,
                "language": self.language, "tone": self.tone,
                "brand_colors": list(self.brand_colors)}


def _numbers(span: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", normalise(span))]


def read_offer(head: dict[str, int], offer_spans: list[str]) -> Offer:
    """The offer from the heads' argmaxes and the offer span's digits."""
    kind = OFFER_KINDS[head["offer_kind"]]
    up_to = bool(head["up_to"])
    if kind == "percent_off":
        return Offer(kind, value=max(1, head["percent"]), up_to=up_to)
    if kind == "amount_off":
        nums = [n for s in offer_spans for n in _numbers(s)]
        if not nums:
            return Offer("none")
        if head["has_threshold"] and len(nums) >= 2:
            value, threshold = (nums[1], nums[0]) if head["amount_order"] else (nums[0], nums[1])
            return Offer(kind, value=max(1, value), threshold=threshold)
        return Offer(kind, value=max(1, nums[0]))
    return Offer(kind)


def unplaced_words(text: str, placeable: np.ndarray, tags: np.ndarray) -> list[str]:
    """Words of `text` whose characters are mostly unplaceable and untagged."""
    out = []
    for m in WORD_RE.finditer(text):
        lo, hi = m.start(), min(m.end(), len(placeable))
        if hi > lo and placeable[lo:hi].mean() < 0.5 and not tags[lo:hi].any():
            out.append(m.group(0))
    return out


def read_colour(span: str, named_logits: np.ndarray, cfg: AdsConfig) -> str:
    """A hex colour from a colour span: its hex code if it has one, else the named colour."""
    m = HEX_RE.search(normalise(span))
    if m:
        return "#" + m.group(0).lstrip("#").upper()
    return cfg.colour_hexes[int(named_logits.argmax())]


def soft_span(text: str, tag_logits: np.ndarray, kind: str, floor: float = 0.15) -> str:
    """The most likely span of `kind` when no character's best tag starts one: the character
    most likely to begin it (at least `floor`), extended while the next is likely inside it."""
    z = np.exp(tag_logits - tag_logits.max(-1, keepdims=True))
    p = z / z.sum(-1, keepdims=True)  # (T, n_tags)
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


def widen_cjk(text: str, start: int, end: int, left: int = 2, right: int = 1) -> tuple[int, int]:
    """A Chinese span widened to the Chinese word it sits in: to the phrase's start when at most
    `left` Chinese characters lie before it, to its end when at most `right` lie after it (the
    tagger often misses a product's first or last character: 唇[膏], [键]盘 -> 键盘)."""
    if not (0 <= start < end <= len(text)) or not _cjk(text[start]) or not _cjk(text[end - 1]):
        return start, end
    lo = start
    while lo > 0 and _cjk(text[lo - 1]):
        lo -= 1
    hi = end
    while hi < len(text) and _cjk(text[hi]):
        hi += 1
    return (lo if start - lo <= left else start), (hi if hi - end <= right else end)


def best_span(text: str, tag_logits: np.ndarray, kind: str) -> str:
    """The span of `kind` with the largest total of (P(inside) - 0.5) over its characters
    (inside = B or I), widened to whole Latin words and to the Chinese word it sits in
    (`widen_cjk`); '' if no character is more likely inside than not. More robust than reading
    the argmax tags one by one."""
    z = np.exp(tag_logits - tag_logits.max(-1, keepdims=True))
    p = z / z.sum(-1, keepdims=True)
    gain = p[:, TAGS.index(f"B-{kind}")] + p[:, TAGS.index(f"I-{kind}")] - 0.5
    best, best_at, run, run_start = 0.0, (0, 0), 0.0, 0
    for i, g in enumerate(gain):  # maximum-sum run (Kadane)
        if run <= 0:
            run, run_start = 0.0, i
        run += float(g)
        if run > best:
            best, best_at = run, (run_start, i + 1)
    start, end = best_at
    if best <= 0:
        return ""
    while start > 0 and _latin(text[start - 1]) and _latin(text[start]):
        start -= 1
    while end < len(text) and _latin(text[end - 1]) and _latin(text[end]):
        end += 1
    start, end = widen_cjk(text, start, end)
    return text[start:end].strip(" ,，.;；:：、")


def unknown_sizes(text: str) -> list[str]:
    """Sizes the brief spells out as W x H that are no ad format (empty when one of them is)."""
    spelled = [m.group(0) for m in SIZE_RE.finditer(normalise(text))]
    dims = ["x".join(re.findall(r"\d+", s)[:2]) for s in spelled]
    if any(d in SIZES for d in dims):
        return []
    return spelled


def understand_one(text: str, out: dict[str, np.ndarray], cfg: AdsConfig) -> Understood:
    """One brief's reading. `out`: this item's encoder outputs as numpy (tags (T, n), placeable
    (T,) probabilities, head logits)."""
    tags = out["tags"][: len(text)].argmax(-1)
    found = spans(text, list(tags))
    head = {k: int(out[k].argmax()) for k in ("offer_kind", "percent", "amount_order",
                                              "has_threshold", "up_to", "language", "tone",
                                              "size", "understood")}
    size = SIZE_CLASSES[head["size"]]
    if unknown_sizes(text):
        size = "unknown"
    product = best_span(text, out["tags"][: len(text)], "product") or soft_span(
        text, out["tags"][: len(text)], "product")
    unplaced = unplaced_words(text, out["placeable"][: len(text)], tags)
    ok = bool(head["understood"]) and bool(product) and size != "unknown"
    if not ok and not unplaced:
        unplaced = (found["size"] or unknown_sizes(text)) if size == "unknown" else []
        if not product:
            unplaced = unplaced or ["(no product named)"]
    return Understood(text=text, understood=ok, unplaced=unplaced,
                      language=LANGUAGES[head["language"]], tone=cfg.tones[head["tone"]],
                      size=size, product=product, offer=read_offer(head, found["offer"]),
                      colour_spans=found["colour"])
