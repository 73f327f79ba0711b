"""Training data: domain samples (or fine-tune pairs) turned into the tensors the losses need.

For each example: the prompt, its language, the scene's render and canonical caption, the
generator's target layout (slots in the scene's object order), one sprite mask per object (cut
from a render of that object alone, in the painter's frame), and for the interactor a corrupted
copy of the scene (one or two attributes changed) with its render, its caption (the control text
it should produce) and the per-cell layout the interactor should return: the true scene if the
corruption breaks the prompt, the corrupted scene itself if it still satisfies it.
The renderer is used here, to make training data, and nowhere at inference.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import numpy as np
import torch

from alpaca import domain
from alpaca.domain.repair import at_cell
from alpaca.nn.config import AlpacaConfig
from alpaca.nn.layout import Layout


@dataclass
class Batch:
    prompts: list[str]  # L >= B prompts: the B full examples first, then layout-only ones
    langs: list[str]  # languages of the B full examples
    layout: Layout  # (L, K) generator targets, slot k = k-th object of the scene
    weights: dict[str, torch.Tensor]  # (L, K) generator loss weights per field (stated_weights)
    sprites: torch.Tensor  # (N, S, S) float masks of the present slots, in (b, k) order
    bg_mask: torch.Tensor  # (B, H, W) 1 where a gradient background shows its second colour
    has_grad: torch.Tensor  # (B,) bool
    bad_images: np.ndarray  # uint8 (B, H, W, 3) renders of the corrupted scenes
    bad_captions: list[str]  # captions of the corrupted scenes (the ideal control texts)
    fixed: Layout  # interactor targets, slot k = cell k
    bad_layout: Layout  # the corrupted scenes as layouts, slot k = k-th object
    bad_cells: Layout  # the corrupted scenes per cell (what their images show), slot k = cell k
    true_cells: Layout  # the scenes per cell, slot k = cell k (on-policy interactor targets)
    paint_attrs: torch.Tensor  # (M, 3) long shape, size, style of extra painter-only sprites
    paint_centres: torch.Tensor  # (M, 2) float their centres in pixels (x, y)
    paint_masks: torch.Tensor  # (M, S, S) float their masks, in the painter's frame


def scene_layout(scene, cfg: AlpacaConfig, per_cell: bool) -> dict[str, np.ndarray]:
    """One scene as layout arrays; slots in object order, or one slot per grid cell."""
    k = cfg.n_cells if per_cell else cfg.max_objects
    out = {name: np.zeros(k, np.int64) for name in ("shape", "colour", "size", "style", "cell")}
    out["present"], out["offset"] = np.zeros(k, bool), np.zeros((k, 2), np.float32)
    bg, grad = scene.background
    out["bg"] = np.int64(cfg.colours.index(bg))
    out["grad"] = np.int64(len(cfg.colours) if grad is None else cfg.colours.index(grad))
    for i, obj in enumerate(scene.objects[:k]):
        cell = obj.cell[0] * cfg.grid + obj.cell[1]
        slot = cell if per_cell else i
        out["present"][slot] = True
        for name, names in (("shape", cfg.shapes), ("colour", cfg.colours), ("size", cfg.sizes),
                            ("style", cfg.styles)):
            out[name][slot] = names.index(getattr(obj, name))
        out["cell"][slot] = cell
        out["offset"][slot] = (obj.cx * cfg.grid - obj.cell[1] - 0.5,
                               obj.cy * cfg.grid - obj.cell[0] - 0.5)
    return out


OPEN_WEIGHT = 0.1  # loss weight of attributes the prompt leaves open (their targets are noise)


def stated_weights(spec, cfg: AlpacaConfig) -> dict[str, np.ndarray]:
    """Per-slot loss weights of the generator's targets: 1 where the prompt states the
    attribute (or a relation pins the cell), OPEN_WEIGHT where the seed decides."""
    k = cfg.max_objects
    fields = ("shape", "colour", "size", "style", "cell")
    out = {name: np.full(k, OPEN_WEIGHT, np.float32) for name in fields}
    pinned = set() if spec.relation is None else {spec.relation.subject, spec.relation.object}
    slot = 0
    for j, obj in enumerate(spec.objects):
        for _ in range(obj.count):
            if slot >= k:
                break
            out["shape"][slot] = 1.0
            for name in ("colour", "size", "style"):
                out[name][slot] = 1.0 if getattr(obj, name) is not None else OPEN_WEIGHT
            out["cell"][slot] = 1.0 if obj.cell is not None or j in pinned else OPEN_WEIGHT
            slot += 1
    out["bg"] = np.float32(1.0 if spec.background is not None else OPEN_WEIGHT)
    out["grad"] = out["bg"]
    return out


def layout_scene(layout: Layout, i: int, cfg: AlpacaConfig):
    """Row i of a layout as a domain Scene (names from the config, centres from cell + offset);
    the inverse of scene_layout. Objects may lie partly off the tile (the scene is not drawn)."""

    def name(names: tuple[str, ...], index: torch.Tensor) -> str | None:
        return names[int(index)] if int(index) < len(names) else None

    objects = []
    for k in layout.present[i].nonzero()[:, 0].tolist():
        row, col = divmod(int(layout.cell[i, k]), cfg.grid)
        dx, dy = (float(v) for v in layout.offset[i, k])
        objects.append(domain.Placed(
            cfg.shapes[int(layout.shape[i, k])], cfg.colours[int(layout.colour[i, k])],
            cfg.sizes[int(layout.size[i, k])], cfg.styles[int(layout.style[i, k])], (row, col),
            (col + 0.5 + dx) / cfg.grid, (row + 0.5 + dy) / cfg.grid))
    background = (cfg.colours[int(layout.bg[i])], name(cfg.colours, layout.grad[i]))
    return domain.Scene(background, tuple(objects))


def stack_layouts(rows: list[dict[str, np.ndarray]]) -> Layout:
    return Layout(**{name: torch.from_numpy(np.stack([r[name] for r in rows]))
                     for name in rows[0]})


def sprite_target(obj, cfg: AlpacaConfig) -> np.ndarray:
    """(S, S) float mask of one object in the painter's frame (top-left = floor(centre) - S/2)."""

    backdrop = "black" if obj.colour != "black" else "white"
    size, s = cfg.image_size, cfg.sprite_size
    alone = domain.render(domain.Scene((backdrop, None), (obj,)), size)
    mask = np.all(alone == np.array(domain.COLOURS[obj.colour], np.uint8), -1)
    top, left = math.floor(obj.cy * size) - s // 2, math.floor(obj.cx * size) - s // 2
    padded = np.pad(mask, s)
    return padded[top + s : top + 2 * s, left + s : left + 2 * s].astype(np.float32)


def background_target(scene, cfg: AlpacaConfig) -> np.ndarray:
    """(H, W) 1 where the render shows the gradient colour (all 0 for a solid background)."""

    bg, grad = scene.background
    if grad is None:
        return np.zeros((cfg.image_size, cfg.image_size), np.float32)
    plain = domain.render(domain.Scene(scene.background, ()), cfg.image_size)
    return np.all(plain == np.array(domain.COLOURS[grad], np.uint8), -1).astype(np.float32)


# -- corruptions for the interactor -------------------------------------------------------
def _free_cells(scene, grid: int) -> list[tuple[int, int]]:
    used = {o.cell for o in scene.objects}
    return [(r, c) for r in range(grid) for c in range(grid) if (r, c) not in used]


def _corrupt_once(scene, cfg: AlpacaConfig, rng: random.Random):
    objs, grid = list(scene.objects), cfg.grid
    bgs = set(scene.background)
    i = rng.randrange(len(objs))
    kind = rng.choice(["colour", "colour", "shape", "shape", "size", "style", "move", "swap",
                       "swap_colour", "remove", "add", "background"])
    if kind == "colour":
        objs[i] = replace(objs[i], colour=rng.choice([c for c in cfg.colours
                                                      if c not in bgs | {objs[i].colour}]))
    elif kind == "shape":
        objs[i] = replace(objs[i], shape=rng.choice([s for s in cfg.shapes if s != objs[i].shape]))
    elif kind == "size":
        objs[i] = replace(objs[i], size=rng.choice([s for s in cfg.sizes if s != objs[i].size]))
    elif kind == "style":
        objs[i] = replace(objs[i], style=rng.choice([s for s in cfg.styles if s != objs[i].style]))
    elif kind == "move" and _free_cells(scene, grid):
        objs[i] = at_cell(objs[i], rng.choice(_free_cells(scene, grid)))
    elif kind == "swap" and len(objs) > 1:
        j = rng.choice([j for j in range(len(objs)) if j != i])
        a, b = objs[i], objs[j]
        objs[i], objs[j] = at_cell(a, b.cell), at_cell(b, a.cell)
    elif kind == "swap_colour" and len(objs) > 1:
        j = rng.choice([j for j in range(len(objs)) if j != i])
        a, b = objs[i], objs[j]
        objs[i], objs[j] = replace(a, colour=b.colour), replace(b, colour=a.colour)
    elif kind == "remove" and len(objs) > 1:
        objs.pop(i)
    elif kind == "add" and len(objs) < cfg.max_objects and _free_cells(scene, grid):
        new = replace(objs[i], colour=rng.choice([c for c in cfg.colours if c not in bgs]),
                      shape=rng.choice(cfg.shapes))
        objs.append(at_cell(new, rng.choice(_free_cells(scene, grid))))
    elif kind == "background":
        used = {o.colour for o in objs}
        new_bg = rng.choice([c for c in cfg.colours if c not in used | bgs])
        return replace(scene, background=(new_bg, scene.background[1]))
    return replace(scene, objects=tuple(objs))


def corrupt(scene, spec, cfg: AlpacaConfig, rng: random.Random):
    """(corrupted scene, the scene the interactor should return)."""

    if rng.random() < 0.1:
        return scene, scene
    bad = scene
    for _ in range(1 + (rng.random() < 0.3)):
        bad = _corrupt_once(bad, cfg, rng)
    if any((o.colour, o.shape) in domain.HELDOUT_PAIRS for o in bad.objects):
        return scene, scene  # training never shows a held-out (colour, shape) pair
    fine = all(ok for _, ok, _ in domain.check(bad, spec))
    return bad, (bad if fine else scene)


# -- batches ------------------------------------------------------------------------------
def _render(scene, cfg: AlpacaConfig) -> np.ndarray | None:
    try:
        return domain.render(scene, cfg.image_size)
    except ValueError:  # a corruption pushed an object off the tile
        return None


def layout_example(spec, scene, prompt: str, lang: str, cfg: AlpacaConfig) -> dict:
    """What the generator's layout loss needs of one example (cheap: no rendering)."""
    return {"prompt": prompt, "lang": lang, "layout": scene_layout(scene, cfg, per_cell=False),
            "weights": stated_weights(spec, cfg)}


def example(spec, scene, prompt: str, lang: str, cfg: AlpacaConfig, rng: random.Random) -> dict:
    """Everything one training example needs, as numpy/str values."""

    bad, fixed = corrupt(scene, spec, cfg, rng)
    bad_image = _render(bad, cfg)
    if bad_image is None:
        bad, fixed, bad_image = scene, scene, domain.render(scene, cfg.image_size)
    return {
        **layout_example(spec, scene, prompt, lang, cfg),
        "sprites": [sprite_target(o, cfg) for o in scene.objects[: cfg.max_objects]],
        "bg_mask": background_target(scene, cfg), "has_grad": scene.background[1] is not None,
        "bad_image": bad_image, "bad_caption": domain.caption(bad, lang),
        "bad_layout": scene_layout(bad, cfg, False), "bad_cells": scene_layout(bad, cfg, True),
        "fixed": scene_layout(fixed, cfg, per_cell=True),
        "true_cells": scene_layout(scene, cfg, per_cell=True),
    }


def painter_examples(rng: random.Random, cfg: AlpacaConfig, n: int) -> list[tuple]:
    """n sprites for the painter alone, (shape, size, style) drawn uniformly so the rare
    combinations (a large striped star) are seen as often as any: (attrs, centre, mask)."""

    out = []
    for _ in range(n):
        shape, size, style = rng.choice(cfg.shapes), rng.choice(cfg.sizes), rng.choice(cfg.styles)
        cx, cy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
        obj = domain.Placed(shape, cfg.colours[0], size, style, domain.cell_of(cx, cy), cx, cy)
        attrs = (cfg.shapes.index(shape), cfg.sizes.index(size), cfg.styles.index(style))
        out.append((attrs, (cx * cfg.image_size, cy * cfg.image_size), sprite_target(obj, cfg)))
    return out


def collate(rows: list[dict], extra: list[dict] = (), paint: list[tuple] = ()) -> Batch:
    """A batch of full examples `rows`, plus `extra` layout-only examples for the generator and
    `paint` sprites for the painter (painter_examples)."""
    every = [*rows, *extra]
    sprites = [s for r in rows for s in r["sprites"]]
    return Batch(
        prompts=[r["prompt"] for r in every], langs=[r["lang"] for r in rows],
        layout=stack_layouts([r["layout"] for r in every]),
        weights={k: torch.from_numpy(np.stack([r["weights"][k] for r in every]))
                 for k in rows[0]["weights"]},
        sprites=torch.from_numpy(np.stack(sprites)) if sprites else torch.zeros(0, 1, 1),
        bg_mask=torch.from_numpy(np.stack([r["bg_mask"] for r in rows])),
        has_grad=torch.tensor([r["has_grad"] for r in rows]),
        bad_images=np.stack([r["bad_image"] for r in rows]),
        bad_captions=[r["bad_caption"] for r in rows],
        fixed=stack_layouts([r["fixed"] for r in rows]),
        bad_layout=stack_layouts([r["bad_layout"] for r in rows]),
        bad_cells=stack_layouts([r["bad_cells"] for r in rows]),
        true_cells=stack_layouts([r["true_cells"] for r in rows]),
        paint_attrs=torch.tensor([p[0] for p in paint], dtype=torch.long).view(-1, 3),
        paint_centres=torch.tensor([p[1] for p in paint], dtype=torch.float32).view(-1, 2),
        paint_masks=(torch.from_numpy(np.stack([p[2] for p in paint])) if paint
                     else torch.zeros(0, 1, 1)),
    )


def domain_batch(seed: int, step: int, n: int, cfg: AlpacaConfig, n_layout: int = 0,
                 n_paint: int = 0) -> Batch:
    """A training batch from the domain's training split: n full examples, n_layout more for
    the generator's layout alone and n_paint sprites for the painter alone; a pure function of
    (seed, step)."""

    rng = random.Random(seed * 1_000_003 + step)
    rows = [example(*domain.sample(rng, "train"), cfg, rng) for _ in range(n)]
    extra = [layout_example(*domain.sample(rng, "train"), cfg) for _ in range(n_layout)]
    return collate(rows, extra, painter_examples(rng, cfg, n_paint))
