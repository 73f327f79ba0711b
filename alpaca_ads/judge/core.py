"""`judge(png, truth, copy) -> Verdict`: every check of a banner, from its pixels and its copy.

Reads the PNG's pixels (size, OCR readback, contrast, overlap, margin, brand colour) and the copy's
words (offer, product); contrast, overlap and margin hold every line the OCR read to them but
stray reads of icons (`readback.copy_lines`). Never reads the design JSON, the renderer or the
model.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import numpy as np
from PIL import Image

from alpaca_ads.domain.spec import SIZES, Copy
from alpaca_ads.judge import layout, offers, pixels
from alpaca_ads.judge.ocr import read_lines
from alpaca_ads.judge.readback import copy_lines, readback_reason
from alpaca_ads.judge.verdict import BriefTruth, Check, Verdict

BRAND_TOLERANCE = 40.0  # Euclidean RGB distance that still counts as the brand colour
BRAND_SHARE = 0.01  # of the banner's pixels


def load_rgb(png: bytes | Image.Image | str | Path) -> np.ndarray:
    """An RGB uint8 array from PNG bytes, a path or an image (alpha flattened onto white)."""
    if isinstance(png, (bytes, bytearray)):
        png = Image.open(io.BytesIO(png))
    elif isinstance(png, (str, Path)):
        png = Image.open(png)
    image = png
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.split()[-1])
        image = flat
    return np.asarray(image.convert("RGB"))


def check_size(rgb: np.ndarray, truth: BriefTruth) -> Check:
    h, w = rgb.shape[:2]
    want = SIZES[truth.size]
    if (w, h) == want:
        return Check(True, f"{w}x{h} as asked")
    return Check(False, f"banner is {w}x{h}, the brief asked for {want[0]}x{want[1]}")


def check_brand(rgb: np.ndarray, truth: BriefTruth) -> Check:
    if not truth.brand_colors:
        return Check(True, "the brief named no brand colour")
    shares = {c: pixels.colour_share(rgb, c, BRAND_TOLERANCE) for c in truth.brand_colors}
    best = max(shares, key=shares.__getitem__)
    listed = ", ".join(f"{c} {100 * s:.1f}%" for c, s in shares.items())
    if shares[best] >= BRAND_SHARE:
        return Check(True, f"brand colour present: {listed}")
    return Check(False, f"brand colour under {100 * BRAND_SHARE:.0f}% of pixels: {listed}")


def check_offer(truth: BriefTruth, copy: Copy) -> Check:
    text = " ".join((copy.headline, copy.subline, copy.cta))
    found = offers.read_offers(text)
    said = ", ".join(offers.describe(o) for o in found) or "no offer"
    if truth.offer.kind == "none":
        if found:
            return Check(False, f"copy states {said} but the brief gave no offer")
        return Check(True, "no offer asked, none stated")
    want = offers.describe(truth.offer)
    if found == [truth.offer]:
        return Check(True, f"copy states {want} as asked")
    return Check(False, f"copy states {said}, the brief asked for {want}")


def _mentions(text: str, word: str) -> bool:
    word = offers.normalise_copy(word)
    if not word:
        return False
    if re.search(r"[\u3000-\u9fff]", word):
        return word.replace(" ", "") in text.replace(" ", "")
    pattern = r"(?<![a-z0-9])" + re.escape(word).replace(r"\ ", r"[\s-]*") + r"(?:e?s)?(?![a-z0-9])"
    return re.search(pattern, text) is not None


def check_product(truth: BriefTruth, copy: Copy) -> Check:
    if not truth.product_words:
        return Check(True, "the brief named no product words")
    text = offers.normalise_copy(" ".join((copy.headline, copy.subline, copy.cta)))
    hit = next((w for w in truth.product_words if _mentions(text, w)), None)
    if hit:
        return Check(True, f"copy names the product as {hit!r}")
    return Check(False, f"copy names none of {list(truth.product_words)}")


def judge(png: bytes | Image.Image | str | Path, truth: BriefTruth, copy: Copy) -> Verdict:
    """Every check of one banner against its brief; `Verdict.passed` when all pass."""
    start = time.perf_counter()
    rgb = load_rgb(png)
    lines = read_lines(rgb)
    scene = layout.build_scene(rgb, copy_lines(lines, [copy.headline, copy.subline, copy.cta]))
    checks = {
        "size": check_size(rgb, truth),
        "headline_readback": Check(*readback_reason("headline", copy.headline, lines)),
        "cta_readback": Check(*readback_reason("CTA", copy.cta, lines)),
        "contrast": Check(*layout.contrast(scene)),
        "overlap": Check(*layout.overlap(scene)),
        "margin": Check(*layout.margin(scene)),
        "brand_colour": check_brand(rgb, truth),
        "offer": check_offer(truth, copy),
        "product": check_product(truth, copy),
    }
    return Verdict(checks, time.perf_counter() - start)


def judge_file(png_path: str | Path, truth_json: str | Path | dict) -> Verdict:
    """Judge a PNG on disk against a JSON truth: a path or a dict holding the brief's fields
    (size, language, offer, product_words, brand_colors) and `copy` {headline, subline, cta}."""
    data = truth_json if isinstance(truth_json, dict) else json.loads(Path(truth_json).read_text())
    c = data["copy"]
    copy = Copy(c["headline"], c.get("subline", ""), c["cta"], c.get("language", data["language"]))
    return judge(png_path, BriefTruth.from_json(data), copy)
