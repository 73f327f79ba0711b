"""Does a piece of copy appear, exactly, in what the OCR read? Text normalisation and line chains.

OCR drops spaces and may split or wrap a headline: both sides are normalised (NFKC so full-width
becomes half-width, casefold, no whitespace, no punctuation) and the copy must appear inside one
line or inside a chain of lines stacked in reading order (a wrapped headline).
"""

from __future__ import annotations

import difflib
import unicodedata

from alpaca_ads.judge.ocr import OcrLine

MAX_CHAIN = 4  # a wrapped headline spans at most this many lines
STRAY_CHARS = 3  # a read this short that is nowhere in the copy is the OCR reading an icon


def normalise(text: str) -> str:
    """NFKC, casefolded, without whitespace or punctuation: 'Shop now!' -> 'shopnow'."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in text if not c.isspace() and not unicodedata.category(c).startswith("P"))


def copy_lines(lines: list[OcrLine], texts: list[str]) -> list[OcrLine]:
    """The lines that can be the banner's own text: all but the stray reads, lines of at most
    STRAY_CHARS characters (punctuation only included) found nowhere in the copy. The OCR
    reads icons as '。', 'C' or 'A/C'; checked as text, an icon failed contrast and overlap
    with itself (3 of 29 failures on the first 500 held-out briefs)."""
    copy = normalise("".join(texts))

    def stray(line: OcrLine) -> bool:
        read = normalise(line.text)
        return len(read) <= STRAY_CHARS and (not read or read not in copy)
    return [line for line in lines if not stray(line)]


def _follows(upper: OcrLine, lower: OcrLine) -> bool:
    """`lower` is the next line of a block that `upper` starts: just below and overlapping in x."""
    height = max(upper.height, lower.height)
    gap = lower.box[1] - upper.box[3]
    x_overlap = min(upper.box[2], lower.box[2]) - max(upper.box[0], lower.box[0])
    return lower.box[1] > upper.box[1] + upper.height // 2 and gap < height and x_overlap > 0


def chains(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Every single line and every run of up to MAX_CHAIN lines that read on from each other."""
    found: list[list[OcrLine]] = []

    def extend(chain: list[OcrLine]) -> None:
        found.append(chain)
        if len(chain) < MAX_CHAIN:
            for line in lines:
                if _follows(chain[-1], line):
                    extend([*chain, line])

    for line in lines:
        extend([line])
    return found


def appears(copy_text: str, lines: list[OcrLine]) -> bool:
    """The copy, normalised, is inside one line or one chain of lines."""
    target = normalise(copy_text)
    if not target:
        return True
    return any(target in normalise("".join(line.text for line in chain)) for chain in chains(lines))


def closest(copy_text: str, lines: list[OcrLine]) -> str:
    """The read text nearest to the copy, for a reason ('' when nothing was read)."""
    target = normalise(copy_text)
    best, best_score = "", -1.0
    for chain in chains(lines):
        read = " / ".join(line.text for line in chain)
        score = difflib.SequenceMatcher(None, target, normalise(read)).ratio()
        if score > best_score:
            best, best_score = read, score
    return best


def readback_reason(role: str, copy_text: str, lines: list[OcrLine]) -> tuple[bool, str]:
    """(passed, reason) for one piece of copy."""
    if appears(copy_text, lines):
        return True, f"{role} read back as {copy_text!r}"
    if not lines:
        return False, f"no text read on the banner; expected {role} {copy_text!r}"
    return False, f"{role} read back as {closest(copy_text, lines)!r} expected {copy_text!r}"
