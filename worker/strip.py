"""An item's rounds side by side: the round-by-round strip the gallery shows.

The worker keeps each round's image of an item while the item runs (worker/rounds.py: the rounds
the item went through; after it exits early its image is fixed and nothing more is kept). An
item whose rounds all drew the same pixels (one round, the stub model's unchanging pictures, a
round that changed nothing) gets no strip: its final image stands for it. Otherwise the strip is
one image: every round's image at its own size, left to right, GAP pixels apart on white, under
a LABEL_HEIGHT band naming the round ("round 0", or only "0" over a panel too narrow for the
words). The labels are ASCII, set in Pillow's built-in font: the worker does not reach for the
API's CJK font.

Knows numpy and Pillow only; the engine (worker/engine.py) stores the strip beside the final
images, in the same durable write.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GAP = 4  # pixels of white between two panels
LABEL_HEIGHT = 14  # the band above the panels that names each round
LABEL_SIZE = 11
BACKGROUND = 255
INK = (64, 64, 64)


def needs_strip(images: Sequence[np.ndarray]) -> bool:
    """Whether the rounds' images differ: only then does a strip show more than the image."""
    last = images[-1] if images else None
    return any(image is not last and not np.array_equal(image, last) for image in images[:-1])


def round_strip(images: Sequence[np.ndarray]) -> np.ndarray:
    """The rounds' uint8 (H, W, 3) images side by side under their labels: (LABEL_HEIGHT +
    tallest H, sum of W + GAP between each two, 3). Round r's image sits at rows LABEL_HEIGHT..,
    columns sum of the widths before it (plus their gaps) onward, pixel for pixel."""
    if not images:
        raise ValueError("a strip needs at least one round's image")
    panels = [np.asarray(image) for image in images]
    for panel in panels:
        if panel.dtype != np.uint8 or panel.ndim != 3 or panel.shape[2] != 3:
            raise ValueError(f"expected uint8 (H, W, 3) images, got {panel.dtype} {panel.shape}")
    width = sum(panel.shape[1] for panel in panels) + GAP * (len(panels) - 1)
    height = LABEL_HEIGHT + max(panel.shape[0] for panel in panels)
    strip = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    x = 0
    for number, panel in enumerate(panels):
        h, w = panel.shape[:2]
        strip[:LABEL_HEIGHT, x:x + w] = _label(number, w)
        strip[LABEL_HEIGHT:LABEL_HEIGHT + h, x:x + w] = panel
        x += w + GAP
    return strip


def _label(number: int, width: int) -> np.ndarray:
    """The band over one panel: "round N" if it fits the panel's width, else "N" (clipped)."""
    font = _font()
    text = f"round {number}"
    if font.getlength(text) > width - 2:
        text = str(number)
    band = Image.new("RGB", (width, LABEL_HEIGHT), (BACKGROUND,) * 3)
    ImageDraw.Draw(band).text((1, LABEL_HEIGHT // 2), text, fill=INK, font=font, anchor="lm")
    return np.asarray(band)


@functools.lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(LABEL_SIZE)
