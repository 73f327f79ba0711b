"""Where a brief names its colours (no torch): every '#RRGGBB' code, read exactly, and the words
that both the tagger and the named-colour head take for a colour.

Either signal alone is wrong in ways the other is not. The tagger misses colours in frames it
never saw (米白 and 藏青 between '｜' got a colour probability of 0.1-0.2) and marks words that only
sit where colours sat ('vibe', 'look'); the named-colour head, asked about any word, is sure of
many that are no colour ('with', '俏皮'). A word is a colour where both agree: the head gives one
named colour at least `SURE` of its probability and the tagger gives the word's characters at
least `HINT` of colour probability on average (or `VERY_SURE` and `FAINT_HINT`, or `TAG_SURE`
and `HEAD_FAINT`, or the two probabilities' product reaches `JOINT`). Candidates are runs of
2-5 Chinese characters and of 1-2 Latin words; of overlapping ones the likeliest is kept. A
name written just before a code ('sky blue (#38bdf8)', 'red #D62828') says which colour the
code is, so the code alone is kept.
"""

from __future__ import annotations

import re

import numpy as np

from .tokenizer import normalise
from .understand import inside as inside_of

SURE = 0.92  # the named-colour head's probability of its best colour that makes a word a colour
# (0.9 before the reading refit; the refitted encoder's head gives 'vibe' 0.91-0.92 for white:
# colours read wrong held-out 500 15 -> 12, unseen 21 -> 18, typed 0 -> 0)
HINT = 0.15  # the tagger's mean colour probability over the word that it must reach too
# A word the head is all but certain of needs less from the tagger, which reads frames it never
# saw weakly: 米白, 淡紫, 浅蓝 between '｜' and 橙色 after 品牌色 got 0.06-0.15 from it.
VERY_SURE, FAINT_HINT = 0.97, 0.08
# And the other way round: a word the tagger all but certainly marks as a colour needs less from
# the head, which spreads its probability over neighbouring shades ('dark blue' 0.85 navy,
# 'burgundy' 0.84, each tagged 0.9+ and never read).
TAG_SURE, HEAD_FAINT = 0.9, 0.6
# Between those corners: both signals well up but neither sure, their product at least JOINT.
# The colour refit spread the head over a plain colour and its new shades ('green' of 'deep
# green' 0.83 green, tagged 0.89; 'salmon' 0.92, tagged 0.90), and such briefs lost their colour.
JOINT = 0.7
MOST = 4  # colours read from one brief

HEX_CODE_RE = re.compile(r"#[0-9a-f]{6}(?![0-9a-z])")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_BEFORE_CODE = re.compile(r"\s*[(（]?\s*")

Span = tuple[int, int]


def inside_colour(tag_logits: np.ndarray) -> np.ndarray:
    """Per character, the tagger's probability that it is inside a colour span."""
    return inside_of(tag_logits, "colour")


def hex_codes(text: str) -> list[Span]:
    """Where the brief writes '#RRGGBB' codes (full-width digits read as digits)."""
    return [m.span() for m in HEX_CODE_RE.finditer(normalise(text))]


def candidates(text: str, codes: list[Span]) -> list[Span]:
    """Every place a brief may name a colour, outside its hex codes: runs of 2-5 Chinese
    characters and of 1-2 Latin words."""
    out: list[Span] = []
    for run in _CJK_RUN.finditer(text):
        a0, n = run.start(), len(run.group(0))
        out += [(a0 + a, a0 + b) for a in range(n) for b in range(a + 2, min(n, a + 5) + 1)]
    words = [w.span() for w in _LATIN_WORD.finditer(text)]
    out += [(words[i][0], words[j][1]) for i in range(len(words))
            for j in range(i, min(len(words), i + 2))]
    return [c for c in out if not any(c[0] < y and x < c[1] for x, y in codes)]


def pick(text: str, inside: np.ndarray, cands: list[Span], sure: np.ndarray,
         codes: list[Span], colours: np.ndarray | None = None) -> list[Span]:
    """The colour spans of the brief in order: its hex codes, and the candidates both signals
    take for a colour (`sure[k]`: the head's probability of candidate k's best colour,
    `colours[k]` that colour), the likeliest of any overlapping ones, each widened to the shade
    its words name (`_shade`), less a name written just before a code."""
    scored = []
    for k, ((a, b), p) in enumerate(zip(cands, sure)):
        hint = inside[a:b].mean()
        if (p >= SURE and hint >= HINT) or (p >= VERY_SURE and hint >= FAINT_HINT) \
                or (hint >= TAG_SURE and p >= HEAD_FAINT) or hint * p >= JOINT:
            a, b = _shade(k, inside, cands, sure, colours) if colours is not None else (a, b)
            scored.append((float(hint * p), a, b))
    found = list(codes)
    for _, a, b in sorted(scored, reverse=True):
        if not any(a < y and x < b for x, y in found) and not _names_code(text, b, codes):
            found.append((a, b))
    return sorted(found)[:MOST]


def _shade(k: int, inside: np.ndarray, cands: list[Span], sure: np.ndarray,
           colours: np.ndarray) -> Span:
    """Candidate k, or the candidate around it that names another colour (`HINT` and
    `HEAD_FAINT` of it): a word in front makes a shade of its own ('forest green', 'hot pink',
    'dark blue'), which the tagger marks less surely than the plain colour word inside it."""
    a, b = cands[k]
    around = [j for j, (x, y) in enumerate(cands) if x <= a and b <= y and (x, y) != (a, b)
              and colours[j] != colours[k] and sure[j] >= HEAD_FAINT
              and inside[x:y].mean() >= HINT]
    return max((cands[j] for j in around), key=lambda span: span[1] - span[0], default=(a, b))


def _names_code(text: str, end: int, codes: list[Span]) -> bool:
    """Whether a hex code follows `end`, maybe in brackets ('sky blue (#38bdf8)')."""
    return any(x >= end and _BEFORE_CODE.fullmatch(text[end:x]) for x, _ in codes)
