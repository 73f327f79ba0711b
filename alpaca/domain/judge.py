"""The pixel judge: scores an image against a creative-domain prompt from the pixels alone.

How it reads an image: every pixel is classified to the nearest palette colour (a lookup table
over 5-bit RGB, so mild colour noise is harmless); the background is the majority colour of the
top two rows and of the bottom two rows (a gradient when they differ), and pixels of those
colours are background; the rest is cut into 8-connected components of one colour; components
under `min_area` pixels (half the smallest sprite) are stray pixels and ignored; each remaining
component is matched by IoU against the (shape, size, style) sprites at this image size whose
bounding box is within 2 pixels of its own, allowing a one-pixel shift; no candidate, or a best
IoU under MIN_IOU, makes it an "unknown" object (it still counts, so counts and totals fail);
its cell is that of its bounding-box centre. The detected Scene is then checked against the
parsed prompt (`alpaca.checks`): all-or-nothing per image, with GenEval-style reasons.
Scores per category are pass rates; "overall" is their mean, as in GenEval.
Does not know: any model, checkpoint or control text; it never renders the prompt to compare.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from functools import lru_cache

import numpy as np

from .checks import check
from .parser import parse
from .scene import COLOUR_NAMES, SHAPES, SIZES, STYLES, Placed, Scene, cell_of
from .shapes import PALETTE, sprite

MIN_IOU = 0.55  # a component matching no sprite this well is an "unknown" object
UNKNOWN = "unknown"
_SHIFTS = tuple(itertools.product((-1, 0, 1), repeat=2))


@lru_cache(maxsize=1)
def _palette_lut() -> np.ndarray:
    """Nearest palette index for each 5-bit-per-channel RGB bin (32768 entries)."""
    centres = (np.arange(32) * 8 + 4).astype(np.float32)
    rgb = np.stack(np.meshgrid(centres, centres, centres, indexing="ij"), -1).reshape(-1, 1, 3)
    dist = ((rgb - PALETTE[None].astype(np.float32)) ** 2).sum(-1)
    return dist.argmin(1).astype(np.int16)


def classify_pixels(image: np.ndarray) -> np.ndarray:
    """(H, W) int16 nearest-palette index of every pixel of an (H, W, 3) uint8 image."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    q = (image >> 3).astype(np.int32)
    return _palette_lut()[(q[..., 0] << 10) | (q[..., 1] << 5) | q[..., 2]]


def _majority(values: np.ndarray) -> int:
    return int(np.bincount(values.ravel(), minlength=len(PALETTE)).argmax())


def background_of(classes: np.ndarray) -> tuple[int, int | None]:
    """(top colour, bottom colour or None) from the top and bottom two rows."""
    top, bottom = _majority(classes[:2]), _majority(classes[-2:])
    return top, (None if bottom == top else bottom)


def _runs(fg: np.ndarray):
    """Horizontal runs of equal non-negative values: lists of row, x0, x1 (exclusive), colour."""
    h, w = fg.shape
    padded = np.full((h, w + 1), -1, dtype=np.int16)
    padded[:, :w] = fg
    flat = padded.ravel()
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [flat.size]))
    keep = flat[starts] >= 0
    starts, ends = starts[keep], ends[keep]
    rows = starts // (w + 1)
    return (rows.tolist(), (starts - rows * (w + 1)).tolist(), (ends - rows * (w + 1)).tolist(),
            flat[starts].tolist())


def _union_runs(rows: list, x0: list, x1: list, colour: list) -> list[int]:
    """Root run of each run, joining same-colour runs that touch (8-connectivity)."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first = {}
    for i, r in enumerate(rows):
        first.setdefault(r, i)
    for i, r in enumerate(rows):
        k = first.get(r + 1, len(rows))
        while k < len(rows) and rows[k] == r + 1 and x0[k] <= x1[i]:
            if x1[k] >= x0[i] and colour[k] == colour[i]:
                parent[find(k)] = find(i)
            k += 1
    return [find(i) for i in range(len(rows))]


def components(classes: np.ndarray, background: set[int]) -> list[tuple[int, int, int, np.ndarray]]:
    """(colour index, top, left, boolean crop) of each 8-connected one-colour component."""
    fg = classes.astype(np.int16)
    fg[np.isin(classes, list(background))] = -1
    rows, x0, x1, colour = _runs(fg)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, root in enumerate(_union_runs(rows, x0, x1, colour)):
        groups[root].append(i)
    out = []
    for members in groups.values():
        top, left = min(rows[i] for i in members), min(x0[i] for i in members)
        bottom, right = max(rows[i] for i in members), max(x1[i] for i in members)
        crop = np.zeros((bottom - top + 1, right - left), dtype=bool)
        for i in members:
            crop[rows[i] - top, x0[i] - left:x1[i] - left] = True
        out.append((colour[members[0]], top, left, crop))
    return out


@lru_cache(maxsize=8)
def _sprite_bank(image_size: int):
    """Sprites at one image size: keys, canvas side, (T, side*side) float32 centred masks,
    (T,) areas and (T, 2) mask heights and widths."""
    keys = list(itertools.product(SHAPES, SIZES, STYLES))
    masks = [sprite(*k, image_size) for k in keys]
    side = max(max(m.shape) for m in masks) + 6
    stack = np.stack([_centred(m, side) for m in masks]).reshape(len(keys), -1)
    dims = np.array([m.shape for m in masks])
    return keys, side, stack.astype(np.float32), stack.sum(1).astype(np.float32), dims


def _centred(mask: np.ndarray, side: int) -> np.ndarray:
    canvas = np.zeros((side, side), dtype=bool)
    h, w = mask.shape
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top:top + h, left:left + w] = mask
    return canvas


def match_sprite(crop: np.ndarray, image_size: int) -> tuple[tuple[str, str, str] | None, float]:
    """Best (shape, size, style) for a component crop and its IoU (None when too large).

    Only sprites whose height and width are within 2 pixels of the crop's are compared.
    """
    keys, side, stack, areas, dims = _sprite_bank(image_size)
    if crop.shape[0] > side - 2 or crop.shape[1] > side - 2:
        return None, 0.0
    near = np.flatnonzero((np.abs(dims - crop.shape) <= 2).all(1))
    if near.size == 0:
        return None, 0.0
    canvas = _centred(crop, side)
    shifted = np.stack([np.roll(canvas, s, axis=(0, 1)) for s in _SHIFTS]).reshape(len(_SHIFTS), -1)
    inter = shifted.astype(np.float32) @ stack[near].T  # (shifts, candidates)
    iou = (inter / (areas[near][None] + crop.sum() - inter)).max(0)
    best = int(iou.argmax())
    return keys[near[best]], float(iou[best])


def min_area(image_size: int) -> int:
    """Components smaller than this (half the smallest sprite) are stray pixels."""
    areas = _sprite_bank(image_size)[3]
    return max(2, int(areas.min()) // 2)


def _placed(colour: int, top: int, left: int, crop: np.ndarray, size: int) -> Placed:
    key, iou = match_sprite(crop, size)
    shape, size_name, style = key if key and iou >= MIN_IOU else (UNKNOWN,) * 3
    cy = (top + crop.shape[0] / 2) / size
    cx = (left + crop.shape[1] / 2) / size
    return Placed(shape, COLOUR_NAMES[colour], size_name, style, cell_of(cx, cy), cx, cy)


def detect(image: np.ndarray, min_pixels: int | None = None) -> Scene:
    """The scene an image shows, read from its pixels (objects in reading order)."""
    h, w = image.shape[:2]
    if h != w:
        raise ValueError(f"expected a square tile, got {h}x{w}")
    classes = classify_pixels(image)
    top, bottom = background_of(classes)
    floor = min_area(h) if min_pixels is None else min_pixels
    objects = [_placed(c, t, l, crop, h) for c, t, l, crop in
               components(classes, {top, bottom} - {None}) if crop.sum() >= floor]
    objects.sort(key=lambda o: (o.cell, o.cy, o.cx))
    background = (COLOUR_NAMES[top], None if bottom is None else COLOUR_NAMES[bottom])
    return Scene(background, tuple(objects))


def score(image: np.ndarray, prompt: str) -> dict:
    """{"pass", "category", "reason", "constraints", "objects"} for one image and its prompt."""
    try:
        spec = parse(prompt)
    except ValueError as err:
        return {"pass": False, "category": "unparsed", "reason": str(err), "constraints": [],
                "objects": []}
    scene = detect(image)
    results = check(scene, spec)
    failed = [reason for _, ok, reason in results if not ok]
    return {
        "pass": not failed,
        "category": spec.category,
        "reason": "; ".join(failed) if failed else "all constraints met",
        "constraints": [{"name": n, "ok": ok, "reason": r} for n, ok, r in results],
        "objects": [_object_dict(o) for o in scene.objects],
    }


def _object_dict(obj: Placed) -> dict:
    return {"shape": obj.shape, "colour": obj.colour, "size": obj.size, "style": obj.style,
            "cell": list(obj.cell), "cx": round(obj.cx, 4), "cy": round(obj.cy, 4)}


def evaluate(images, prompts: list[str]) -> dict:
    """GenEval-style scores: {"overall", "categories": {name: pass rate}, "counts", "n",
    "results"}; overall is the mean of the category pass rates."""
    if len(images) != len(prompts):
        raise ValueError(f"{len(images)} images but {len(prompts)} prompts")
    results = [score(np.asarray(img), p) for img, p in zip(images, prompts)]
    passes: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        passes[r["category"]].append(r["pass"])
    categories = {c: sum(v) / len(v) for c, v in sorted(passes.items())}
    overall = sum(categories.values()) / len(categories) if categories else 0.0
    return {"overall": overall, "categories": categories,
            "counts": {c: len(v) for c, v in sorted(passes.items())}, "n": len(results),
            "results": results}
