"""Conversions between the domain's objects and the networks' arrays (numpy, no torch).

- brief tags: per-character BIO labels of the product, offer, colour and size spans;
- copy targets: headline <sep> subline <sep> cta <eos> with <product> / <offer> placeholders;
- design targets: per role presence, normalised box, log font size, colour choices among the
  palette candidates; and back from predictions to a `Design`;
- control text: "<role> <position> <verdict>" clauses, and its parse;
- reader inputs: the downscaled banner, per-element crops and geometry.
"""

from __future__ import annotations

import math
import re

from alpaca_ads.domain.spec import SIZES, BriefSpec, Copy, Design

from .config import ISSUES, ROLES, SPANS, TAGS
from .tokenizer import BOS, EOS, OFFER, POSITIONS, PRODUCT, SEP, CharTokenizer, PieceVocab

SIZE_RE = re.compile(r"\d{2,4}\s*(?:x|×|\*|by)\s*\d{2,4}", re.I)
HEX_RE = re.compile(r"#?[0-9a-fA-F]{6}\b")
FONT_ROLES = ("headline", "subline", "cta")


def _mark(tags: list[int], text_l: str, phrase: str, span: str) -> bool:
    """Tag the first occurrence of `phrase` in the lowercased text as `span`; found or not."""
    phrase = phrase.lower().strip()
    at = text_l.find(phrase) if phrase else -1
    if at < 0 or any(tags[at: at + len(phrase)]):
        return False
    tags[at] = TAGS.index(f"B-{span}")
    for i in range(at + 1, at + len(phrase)):
        tags[i] = TAGS.index(f"I-{span}")
    return True


def brief_tags(text: str, spec: BriefSpec, offer_phrases: list[str],
               colour_phrases: list[str]) -> list[int]:
    """Per-character tag ids of `text` (the brief `spec` was worded as)."""
    tags, low = [0] * len(text), text.lower()
    _mark(tags, low, spec.product_text, "product")
    for phrase in sorted(offer_phrases, key=len, reverse=True):
        if _mark(tags, low, phrase, "offer"):
            break
    for phrase in sorted(colour_phrases, key=len, reverse=True):
        _mark(tags, low, phrase, "colour")
    for m in SIZE_RE.finditer(text):
        _mark(tags, low, m.group(0), "size")
    return tags


def spans(text: str, tag_ids: list[int]) -> dict[str, list[str]]:
    """The spans of each kind in `text` (verbatim), in order."""
    out: dict[str, list[str]] = {s: [] for s in SPANS}
    current, start = None, 0
    for i, t in enumerate([*tag_ids[: len(text)], 0]):
        name = TAGS[t]
        if current and not (name == f"I-{current}"):
            out[current].append(text[start:i].strip())
            current = None
        if name.startswith("B-") or (name.startswith("I-") and current is None):
            current, start = name[2:], i
    return out


def delex(text: str, names: list[str], offers: list[str]) -> list[tuple[str, int | None]]:
    """`text` as pieces: (chars, None) or ('', PRODUCT/OFFER) where a name or offer occurs."""
    for token, phrases in ((OFFER, offers), (PRODUCT, names)):
        for phrase in sorted((p for p in phrases if p), key=len, reverse=True):
            at = text.lower().find(phrase.lower())
            if at >= 0:
                return (delex(text[:at], names, offers) + [("", token)]
                        + delex(text[at + len(phrase):], names, offers))
    return [(text, None)] if text else []


def copy_ids(tok: CharTokenizer | PieceVocab, copy: Copy, names: list[str],
             offers: list[str]) -> list[int]:
    """<bos> headline <sep> subline <sep> cta <eos> as ids, with placeholders."""
    ids = [BOS]
    for k, part in enumerate((copy.headline, copy.subline, copy.cta)):
        for chars, token in delex(part, names, offers):
            ids += tok.encode(chars) if token is None else [token]
        ids.append(SEP if k < 2 else EOS)
    return ids


def position(box: tuple[float, float, float, float]) -> str:
    """Coarse position word of a normalised box's centre."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    col = 0 if cx < 0.36 else (2 if cx > 0.64 else 1)
    row = 0 if cy < 0.36 else (2 if cy > 0.64 else 1)
    return POSITIONS[row * 3 + col]


def control_text(design: Design, issues: dict[str, set[str]]) -> str:
    """The canonical control text of a design whose elements have `issues` (role -> names)."""
    w, h = SIZES[design.size]
    clauses = []
    for role in ROLES:
        el = design.element(role)
        if el is None:
            continue
        box = (el.box[0] / w, el.box[1] / h, el.box[2] / w, el.box[3] / h)
        found = [i for i in ISSUES if i in issues.get(role, set())]
        clauses.append(" ".join([role, position(box), *(found or ["ok"])]))
    return "; ".join(clauses)


def parse_control(text: str) -> dict[str, set[str]]:
    """role -> issues named by a control text (unknown words are ignored)."""
    out: dict[str, set[str]] = {}
    for clause in text.split(";"):
        words = clause.split()
        if words and words[0] in ROLES:
            out[words[0]] = {w for w in words[1:] if w in ISSUES}
    return out


def agreement(text: str) -> float:
    """Share of (element, check) pairs the control text finds OK; 0.0 if it names no element."""
    parsed = parse_control(text)
    if not parsed:
        return 0.0
    bad = sum(len(v) for v in parsed.values())
    return 1.0 - bad / (len(parsed) * len(ISSUES))


def norm_box(box: tuple[int, int, int, int], size: str) -> list[float]:
    w, h = SIZES[size]
    return [box[0] / w, box[1] / h, box[2] / w, box[3] / h]


def log_font(font_size: int | None, size: str) -> float:
    """The font-size target: log of the font size over the banner height."""
    return math.log(max(1, font_size or 1) / SIZES[size][1])
