"""The three losses of joint training (loss = text loss + image loss + interactor loss).

- text loss: the text decoder's cross-entropy on canonical captions of real renders, of corrupted
  renders and (later in training) of the painter's own images, blurred and jittered, so that it
  reads generated images as well as renders;
- image loss: the generator's layout cross-entropy (teacher forcing on the scene's known
  attributes) + the painter's per-sprite ink loss + the background map's loss;
- interactor loss: per-cell cross-entropy of the scene the interactor should return for an image
  of a corrupted scene, given the prompt and the corrupted scene's caption as control text.
Also the learning-rate schedule and the optimizer. Knows the model and batches, not the loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from alpaca import domain
from alpaca.domain.repair import repair
from alpaca.nn.model import Alpaca
from alpaca.nn.painter import sprite_frac
from alpaca.training.data import Batch, layout_scene, scene_layout, stack_layouts


@dataclass(frozen=True)
class TrainOptions:
    batch_size: int = 64  # full examples per step (reader, painter, interactor)
    layout_batch: int = 192  # prompts per step for the generator's layout (cheap, slow to learn)
    lr: float = 2e-3  # peak AdamW learning rate
    min_lr_frac: float = 0.05  # cosine decay ends at lr * min_lr_frac
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.01  # AdamW weight decay (matrices only)
    clip: float = 1.0  # gradient-norm clip
    seed: int = 0  # data and initialisation seed
    eval_every: int = 500  # judge evaluation + checkpoint every this many steps (0 = only at end)
    eval_n: int = 128  # held-out prompts per periodic evaluation
    log_every: int = 25  # progress line every this many steps
    painted_after: float = 0.25  # fraction of training after which painted images join the data
    time_limit_s: float = 0.0  # also end (schedule and run) after this many seconds; 0 = no limit
    painter_batch: int = 128  # extra sprites per step for the painter alone (uniform attributes)
    on_policy: int = 24  # examples per step on which the interactor corrects G's own drafts
    replay: float = 0.5  # fine-tuning: share of each batch drawn from the domain (no forgetting)
    data_workers: int = 0  # background processes making batches (the CLI uses 1)


def augment(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Blur and jitter (B, 3, H, W) images so the reader does not depend on exact pixels."""
    b = images.shape[0]
    shift = torch.randint(-1, 2, (2,), generator=gen).tolist()
    out = torch.roll(images, shifts=shift, dims=(2, 3))
    blur = torch.rand(b, 1, 1, 1, generator=gen) < 0.3
    blurred = 0.5 * out + 0.5 * F.avg_pool2d(F.pad(out, (1, 1, 1, 1), mode="replicate"), 3, 1)
    out = torch.where(blur.to(images.device), blurred, out)
    noise = torch.randn(out.shape, generator=gen).to(images) * 0.02
    return (out + noise).clamp(0, 1)


def image_loss(model: Alpaca, batch: Batch, prompt: tuple) -> torch.Tensor:
    """Generator loss: layout (all L prompts) + painter sprites and background (first B)."""
    layout = model.layout(prompt, batch.layout, batch.weights)
    b = batch.bg_mask.shape[0]
    logits = model.sprite_logits(batch.layout.index(slice(0, b)))  # (N, S, S)
    target = batch.sprites.to(logits)
    if batch.paint_masks.shape[0]:
        shape, size, style = batch.paint_attrs.to(logits.device).unbind(1)
        frac = sprite_frac(batch.paint_centres.to(logits))
        logits = torch.cat([logits, model.painter(shape, size, style, frac)])
        target = torch.cat([target, batch.paint_masks.to(logits)])
    paint = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(2.0))
    bg = torch.zeros((), device=logits.device)
    if batch.has_grad.any():
        maps = model.background()[None].expand(int(batch.has_grad.sum()), -1, -1)
        bg = F.binary_cross_entropy_with_logits(maps, batch.bg_mask[batch.has_grad].to(maps))
    return layout + 4.0 * paint + bg


def losses(model: Alpaca, batch: Batch, gen: torch.Generator, painted: bool,
           on_policy: int = 0) -> dict:
    """All three losses of one batch. The reader (vision + text decoder) and the interactor see
    the same images: renders of the corrupted scenes, half of them repainted by the painter
    once `painted` (so both learn to read generated images). Once `painted`, the interactor
    also corrects G's own drafts of the first `on_policy` prompts (`draft_targets`)."""
    prompt = model.encode_text(batch.prompts, fixed=False, chunk=16)
    img_loss = image_loss(model, batch, prompt)
    views = model.to_float(batch.bad_images)  # (B, 3, H, W)
    b, half = views.shape[0], views.shape[0] // 2
    if painted and half:
        with torch.no_grad():
            drawn = model.compose(batch.bad_layout.index(slice(0, half)))
        views = torch.cat([drawn, views[half:]])
    mem, facts = model.vision.read(augment(views, gen))  # (B, 1+C, d), (B, 1+C, A)
    ids = model.caption_ids(batch.bad_captions, batch.langs)
    text_loss = caption_loss(model, mem, facts, ids, batch.bad_cells.present)
    text_loss = text_loss + model.vision.probe_loss(mem, batch.bad_cells)
    text_loss = text_loss + model.vision.facts_loss(facts, batch.bad_cells)
    control = model.encode_text(batch.bad_captions, fixed=False, chunk=16)
    out = model.interactor(mem, tuple(t[:b] for t in prompt), control)
    inter_loss = model.interactor.loss(out, batch.fixed)
    drafts = draft_targets(model, batch, prompt, gen, min(on_policy, b)) if painted else None
    if drafts is not None:
        rows, images, captions, target = drafts
        with torch.no_grad():  # the reader learns from the batch's views; this trains I alone
            draft_mem = model.vision(augment(images, gen))
        draft_prompt = tuple(t[rows] for t in prompt)
        control = model.encode_text(captions, fixed=False, chunk=16)
        out = model.interactor(draft_mem, draft_prompt, control)
        inter_loss = 0.5 * (inter_loss + model.interactor.loss(out, target))
    return {"text": text_loss, "image": img_loss, "interactor": inter_loss}


def draft_targets(model: Alpaca, batch: Batch, prompt: tuple, gen: torch.Generator, n: int):
    """G's drafts of the first n prompts, for the interactor to correct: (rows, images
    (N, 3, H, W), the drafts' canonical captions as control texts, per-cell targets). A draft
    that meets its prompt is its own target (leave it); one that does not is repaired by the
    fixed rules of repair.py. Drafts or targets showing a held-out (colour, shape) pair, and
    prompts the parser cannot read, are left out. None when nothing is left."""

    if n <= 0:
        return None
    seeds = torch.randint(0, 2**62, (n,), generator=gen).tolist()
    with torch.no_grad():
        draft = model.first_draft(tuple(t[:n] for t in prompt),
                                  [torch.Generator().manual_seed(s) for s in seeds], cache=True)
    rows, captions, targets = [], [], []
    on_cpu = draft.to("cpu")
    for i in range(n):
        scene = layout_scene(on_cpu, i, model.cfg)
        try:
            spec = domain.parse(batch.prompts[i])
        except ValueError:
            continue
        fine = all(ok for _, ok, _ in domain.check(scene, spec))
        target = scene if fine else repair(scene, spec, layout_scene(batch.true_cells, i,
                                                                     model.cfg))
        if any((o.colour, o.shape) in domain.HELDOUT_PAIRS
               for o in (*scene.objects, *target.objects)):
            continue
        targets.append(scene_layout(target, model.cfg, per_cell=True))
        captions.append(domain.caption(scene, batch.langs[i]))
        rows.append(i)
    if not rows:
        return None
    with torch.no_grad():
        images = model.compose(draft.index(rows))
    return (torch.tensor(rows, device=images.device), images, captions,
            stack_layouts(targets).to(images.device))



def caption_loss(model: Alpaca, mem: torch.Tensor, facts: torch.Tensor, ids: torch.Tensor,
                 occupied: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """The text decoder's loss over captions grouped by length (less padding); token-weighted."""
    pad = model.tokenizer.pad_id
    lengths = (ids != pad).sum(1)
    order = lengths.argsort()
    total, count = mem.new_zeros(()), 0
    for lo in range(0, ids.shape[0], chunk):
        idx = order[lo : lo + chunk]
        sub = ids[idx, : int(lengths[idx].max())]
        n = int((sub[:, 2:] != pad).sum())  # predicted tokens (after BOS and language tag)
        total = total + model.text_decoder(mem[idx], sub, occupied[idx], facts[idx])[1] * n
        count += n
    return total / max(1, count)


def lr_at(step: int, progress: float, opts: TrainOptions) -> float:
    """Linear warm-up over `opts.warmup` steps, then cosine decay over progress in [0, 1]."""
    if step < opts.warmup:
        return opts.lr * (step + 1) / opts.warmup
    t = min(1.0, max(0.0, progress))
    return opts.lr * (opts.min_lr_frac + (1 - opts.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def make_optimizer(model: Alpaca, opts: TrainOptions) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": opts.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=opts.lr, betas=(0.9, 0.98))
