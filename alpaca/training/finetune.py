"""Fine-tune data: (text, image) pairs turned into training examples like the domain's.

The model learns from scenes (what is drawn where), so each pair needs one:
1. a text that is a canonical caption describes its scene exactly (`scene_from_caption`);
2. else the model's own reading of the image, if it parses and agrees with the text;
3. else a scene realised from the text's spec (the text is what the client wants drawn);
4. else (the text has words the parser does not know, e.g. "a crimson star") the reading of the
   image, so the generator learns the new words from what the images show.
Pairs where none applies are dropped. Each batch mixes pair examples with fresh domain examples
(`replay`) so the model does not forget the rest of the domain.
"""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from alpaca import domain
from alpaca.domain.checks import agreement
from alpaca.nn.model import Alpaca, prompt_lang
from alpaca.training.data import Batch, collate, example, layout_example

log = logging.getLogger(__name__)


def as_image(image: Any, size: int) -> np.ndarray:
    """uint8 (size, size, 3) from an array, a PIL image, PNG/JPEG bytes or a path."""
    if isinstance(image, (bytes, bytearray)):
        image = Image.open(io.BytesIO(image))
    elif isinstance(image, (str, Path)):
        image = Image.open(image)
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if not isinstance(image, Image.Image):
        raise ValueError(f"unsupported image type {type(image).__name__}")
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.NEAREST)
    return np.asarray(image, dtype=np.uint8)


def _scene_for(model: Alpaca, text: str, image: np.ndarray, rng: random.Random):
    """(spec, scene, how) for one pair, or None."""

    lang = prompt_lang(text)
    if domain.is_caption(text):
        try:
            scene = domain.scene_from_caption(text)
            return domain.parse(text), scene, "caption"
        except ValueError:
            pass
    reading = model.read(image[None], [lang])[0]
    try:
        spec = domain.parse(text)
    except ValueError:
        spec = None
    if spec is not None and agreement(text, reading) >= 1.0:
        return spec, domain.scene_from_caption(reading), "reading"
    if spec is not None:
        try:
            return spec, domain.realize(spec, rng), "prompt"
        except ValueError:
            return None
    try:
        scene = domain.scene_from_caption(reading)
        return domain.parse(domain.caption(scene, lang)), scene, "reading-new-words"
    except ValueError:
        return None


class PairSource:
    """Batches for fine-tuning, a pure function of (seed, step) once the pairs are read."""

    def __init__(self, model: Alpaca, pairs: Sequence[tuple[str, Any]], opts):
        rng = random.Random(opts.seed)
        self.cfg, self.opts, self.n_pairs = model.cfg, opts, len(pairs)
        self.items, self.how = [], {}
        was_training = model.training
        model.eval()
        for text, image in pairs:
            found = _scene_for(model, str(text), as_image(image, model.cfg.image_size), rng)
            if found is not None:
                spec, scene, how = found
                self.items.append((spec, scene, str(text), prompt_lang(str(text))))
                self.how[how] = self.how.get(how, 0) + 1
        model.train(was_training)
        if not self.items:
            raise ValueError(f"none of the {len(pairs)} pairs could be turned into a scene")
        log.info("fine-tune pairs: %d of %d usable %s", len(self.items), len(pairs), self.how)

    def batch(self, step: int) -> Batch:
        rng = random.Random(self.opts.seed * 1_000_003 + step)

        def draw():
            if rng.random() < self.opts.replay:
                return domain.sample(rng, "train")
            return rng.choice(self.items)

        rows = [example(*draw(), self.cfg, rng) for _ in range(self.opts.batch_size)]
        extra = max(0, self.opts.layout_batch - self.opts.batch_size)
        return collate(rows, [layout_example(*draw(), self.cfg) for _ in range(extra)])

    def summary(self) -> dict:
        return {"source": "fine-tune pairs", "pairs": self.n_pairs, "usable": len(self.items),
                "scenes_from": self.how, "replay": self.opts.replay}
