"""Reading a banner's text with RapidOCR (PP-OCRv4, Chinese and English), robust on small banners.

The engine loads once per process, lazily, with the detector capped at 960 px on the long side
(RapidOCR's default blows every banner up to 736 px on the short side: a 320x50 became 4710x736,
5 s). Measured on 98 synthetic banners at every size (10-16 px type included): at 1x 98/98
headlines and CTAs read back; upscaled 2x or 3x, 96/98 ("30%" read as "3096" at 10 px) and slower.
So nothing is upscaled by default; boxes come back in the banner's own pixel coordinates.
Fragments of one line that the detector split ("Running s" + "shoes") are merged. This module
knows nothing about copy, offers or layout rules.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

UPSCALE_BELOW = 400  # banners whose short side is under this many pixels are read upscaled
UPSCALE = 1  # the factor; 2x and 3x measured worse on 10 px type (see above) and slower
DET_LIMIT_SIDE = 960  # the detector's input, long side at most
MIN_SCORE = 0.5  # RapidOCR's own default floor for a recognised line

_lock = threading.Lock()
_engine: Any = None


def engine() -> Any:
    """The process's RapidOCR instance, built on first use."""
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR(det_limit_type="max", det_limit_side_len=DET_LIMIT_SIDE)
    return _engine


@dataclass(frozen=True)
class OcrLine:
    """One line of text as read: its text, its box (x0, y0, x1, y1) in banner pixels, its score."""

    text: str
    box: tuple[int, int, int, int]
    score: float

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def upscale_factor(width: int, height: int) -> int:
    """How much a banner of this size is enlarged before OCR."""
    return UPSCALE if min(width, height) < UPSCALE_BELOW else 1


def _raw_lines(rgb: np.ndarray) -> list[OcrLine]:
    h, w, _ = rgb.shape
    factor = upscale_factor(w, h)
    image = Image.fromarray(rgb)
    if factor > 1:
        image = image.resize((w * factor, h * factor), Image.LANCZOS)
    bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
    result, _ = engine()(bgr, use_cls=False)
    lines = []
    for quad, text, score in result or []:
        pts = np.asarray(quad, dtype=np.float64) / factor
        box = (int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
               int(np.ceil(pts[:, 0].max())), int(np.ceil(pts[:, 1].max())))
        box = (max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3]))
        if float(score) >= MIN_SCORE and text.strip() and box[2] > box[0] and box[3] > box[1]:
            lines.append(OcrLine(text.strip(), box, float(score)))
    return lines


def _same_line(a: OcrLine, b: OcrLine) -> bool:
    """b continues a on one line: they share most of their height and the gap is small."""
    overlap = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    height = min(a.height, b.height)
    gap = b.box[0] - a.box[2]
    return overlap > 0.6 * height and -0.6 * max(a.height, b.height) < gap < 0.8 * height


def _join(a: OcrLine, b: OcrLine) -> OcrLine:
    """Two fragments as one line; a letter read twice where the boxes overlap is dropped."""
    text = a.text
    if b.box[0] < a.box[2]:
        for k in range(min(3, len(a.text), len(b.text)), 0, -1):
            if a.text.replace(" ", "")[-k:] == b.text[:k]:
                text = a.text.rstrip()[:-k]
                break
    box = (min(a.box[0], b.box[0]), min(a.box[1], b.box[1]), max(a.box[2], b.box[2]),
           max(a.box[3], b.box[3]))
    return OcrLine(f"{text.rstrip()} {b.text}".strip(), box, min(a.score, b.score))


def merge_fragments(lines: list[OcrLine]) -> list[OcrLine]:
    """Join left-to-right fragments of the same text line; result in reading order."""
    pending = sorted(lines, key=lambda line: (line.box[0], line.box[1]))
    merged: list[OcrLine] = []
    for line in pending:
        for i, kept in enumerate(merged):
            if _same_line(kept, line):
                merged[i] = _join(kept, line)
                break
        else:
            merged.append(line)
    return sorted(merged, key=lambda line: (line.box[1], line.box[0]))


def read_lines(rgb: np.ndarray) -> list[OcrLine]:
    """The banner's text lines in reading order (top to bottom, then left to right)."""
    return merge_fragments(_raw_lines(rgb))
