"""Typesetting with the real font: measuring, wrapping and fitting text into boxes.

A text element's `text` holds the lines the designer chose, joined by '\\n'. In English a line
break stands for a space; in Chinese it is inserted between characters (`unwrap` undoes either).
Lines are `line_height(size)` apart (at least MIN_LEADING px of leading). The font file has one
weight, so a bold look strikes each glyph again `bold_shift(size)` px to its right, and widens
each word gap by as much (see `bold_shift`).
Both the designer and the renderer measure through here, so what fits here fits in the picture.
It knows nothing about colours or layouts.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from alpaca_ads.domain.assets import font

LINE_SPACING = 1.32
MIN_LEADING = 6  # px between lines at least, whatever the size
TRACKED_BELOW = 24  # px: smaller type is set 1 px apart per character (`tracking`)
_TOKEN_ZH = re.compile(r"[A-Za-z0-9$¥%.+\-:·/]+|\s+|.", re.S)
_NO_LINE_START = set("，。！？、；：）》」』%.,!?;:)·—-|")
_BREAK_AFTER = set("，。！？；：,.!?;:·—|")


def bold_shift(size: int, bold: bool) -> int:
    """How far to the right the bold look strikes each glyph again: about size / 25 (1 px from
    16 px up); 0 when regular. A second strike thickens the stems and leaves the counters open:
    a stroke around the glyphs closed them, and the OCR read 'o' as '0' in 10 of 336 bold
    headlines at 16-44 px, against 0 struck twice (docs/ads.md, ninth pass)."""
    if not bold or size < 16:
        return 0
    return max(1, round(size / 25))


def line_height(size: int) -> int:
    """Distance between the tops of two lines of `size` px type: LINE_SPACING times the size,
    and at least MIN_LEADING px more than the size (small type needs relatively more room
    between lines, or the lines of a block read as one)."""
    return max(1, round(size * LINE_SPACING), size + MIN_LEADING)


def tracking(size: int) -> int:
    """Extra pixels between characters: 1 below TRACKED_BELOW px, where the font's own spacing
    lets letters touch ('rn' reads 'm'), else 0."""
    return 1 if size < TRACKED_BELOW else 0


@lru_cache(maxsize=262144)
def advance(char: str, size: int) -> float:
    """How far the pen moves after `char` at `size` px (tracking included)."""
    return font(size).getlength(char) + tracking(size)


@lru_cache(maxsize=65536)
def line_width(line: str, size: int, bold: bool = False) -> int:
    """Pixel width of one line of text at `size` px (tracking, the bold look's second strike and
    its wider word gaps included, with `bold_shift` px to spare on either side).

    The sum of the characters' advances: kerning only ever tightens Latin pairs of this font, so
    the drawn line is at most this wide (and measuring per character is ~20x faster).
    """
    pen = sum(advance(c, size) for c in line) - (tracking(size) if line else 0)
    shift = bold_shift(size, bold)
    return math.ceil(pen) + shift * line.count(" ") + 2 * shift


def block_size(text: str, size: int, bold: bool = False) -> tuple[int, int]:
    """(width, height) of `text` (lines split on '\\n') at `size` px."""
    lines = text.split("\n")
    width = max(line_width(line, size, bold) for line in lines)
    return width, line_height(size) * (len(lines) - 1) + round(size * 1.16) + 2 * bold_shift(size, bold)


def unwrap(text: str, lang: str) -> str:
    """The copy a wrapped element text stands for: line breaks become spaces (en) or nothing (zh)."""
    return text.replace("\n", " " if lang == "en" else "")


def tokens(text: str, lang: str) -> list[str]:
    """Pieces a line may break between: words (en); characters and Latin/digit runs (zh)."""
    if lang == "en":
        return text.split(" ")
    return [t for t in _TOKEN_ZH.findall(text) if t]


def _join(parts: list[str], lang: str) -> str:
    return (" " if lang == "en" else "").join(parts).strip()


def _break_points(parts: list[str], lang: str) -> list[int]:
    return [i for i in range(1, len(parts)) if parts[i] and parts[i][0] not in _NO_LINE_START
            and not parts[i].isspace()]


def _inside_keep(parts: list[str], lang: str, text: str, keep: tuple[str, ...]) -> set[int]:
    """Break points that would split one of the `keep` phrases (a product name, an offer)."""
    spans = [(m, m + len(k)) for k in keep if k for m in _find_all(text, k)]
    out, offset = set(), 0
    for i in range(1, len(parts)):
        offset += len(parts[i - 1]) + (1 if lang == "en" else 0)
        at = offset - (1 if lang == "en" else 0)
        if any(a < at < b for a, b in spans):
            out.add(i)
    return out


def _find_all(text: str, sub: str) -> list[int]:
    found, start = [], text.find(sub)
    while start >= 0:
        found.append(start)
        start = text.find(sub, start + 1)
    return found


def wrap(text: str, lang: str, size: int, max_width: int, max_lines: int,
         bold: bool = False, keep: tuple[str, ...] = (), strict: bool = False) -> str | None:
    """`text` broken into at most `max_lines` lines no wider than `max_width`; None if impossible.

    One line if it fits; otherwise the most balanced two-line break, preferring breaks after
    punctuation and never splitting a `keep` phrase if it can be helped (never, if `strict`);
    otherwise greedy lines.
    """
    if line_width(text, size, bold) <= max_width:
        return text
    if max_lines < 2:
        return None
    parts = tokens(text, lang)
    points = _break_points(parts, lang)
    bad = _inside_keep(parts, lang, text, keep)
    best: tuple[tuple[int, float], str] | None = None
    for i in points:
        a, b = _join(parts[:i], lang), _join(parts[i:], lang)
        widest = max(line_width(a, size, bold), line_width(b, size, bold))
        if widest > max_width:
            continue
        score = (int(i in bad), widest - (0.25 * max_width if a[-1:] in _BREAK_AFTER else 0))
        if best is None or score < best[0]:
            best = (score, f"{a}\n{b}")
    if best is not None and best[0][0] == 0:
        return best[1]
    if max_lines > 2:
        greedy = _greedy(parts, lang, size, max_width, max_lines, bold, set(points) - bad)
        if greedy is not None:
            return greedy
    if strict:
        return None
    if best is None and max_lines > 2:
        return _greedy(parts, lang, size, max_width, max_lines, bold, set(points))
    return best[1] if best is not None else None


def _greedy(parts: list[str], lang: str, size: int, max_width: int, max_lines: int,
            bold: bool, allowed: set[int]) -> str | None:
    lines: list[list[str]] = [[]]
    for i, part in enumerate(parts):
        trial = lines[-1] + [part]
        if lines[-1] and i in allowed and line_width(_join(trial, lang), size, bold) > max_width:
            lines.append([part.lstrip()])
        else:
            lines[-1] = trial
    out = [_join(line, lang) for line in lines]
    if len(out) > max_lines or any(line_width(line, size, bold) > max_width for line in out):
        return None
    return "\n".join(out)


def fit(text: str, lang: str, max_width: int, max_height: int, sizes: tuple[int, int],
        max_lines: int, bold: bool = False, keep: tuple[str, ...] = ()) -> tuple[str, int] | None:
    """The largest size in `sizes` = (smallest, largest) at which `text` wraps into the box.

    Returns (wrapped text, font size), or None if it does not fit even at the smallest size.
    """
    low, high = sizes
    if low < 1 or high < low:
        raise ValueError(f"font sizes {sizes!r} must be (smallest, largest) with 1 <= smallest")
    for strict in (True, False) if keep else (False,):
        size = high
        while size >= low:
            wrapped = wrap(text, lang, size, max_width, max_lines, bold, keep, strict)
            if wrapped is not None and block_size(wrapped, size, bold)[1] <= max_height:
                return wrapped, size
            size -= 1 if size <= 40 else 2
    return None
