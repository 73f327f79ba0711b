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

from .data import Batch
from .model import Alpaca


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
    paint = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(2.0))
    bg = torch.zeros((), device=logits.device)
    if batch.has_grad.any():
        maps = model.background()[None].expand(int(batch.has_grad.sum()), -1, -1)
        bg = F.binary_cross_entropy_with_logits(maps, batch.bg_mask[batch.has_grad].to(maps))
    return layout + 4.0 * paint + bg


def losses(model: Alpaca, batch: Batch, gen: torch.Generator, painted: bool) -> dict:
    """All three losses of one batch. The reader (vision + text decoder) and the interactor see
    the same images: renders of the corrupted scenes, half of them repainted by the painter
    once `painted` (so both learn to read generated images)."""
    prompt = model.encode_text(batch.prompts, fixed=False, chunk=16)
    img_loss = image_loss(model, batch, prompt)
    views = model.to_float(batch.bad_images)  # (B, 3, H, W)
    b, half = views.shape[0], views.shape[0] // 2
    if painted and half:
        with torch.no_grad():
            drawn = model.compose(batch.bad_layout.index(slice(0, half)))
        views = torch.cat([drawn, views[half:]])
    mem = model.vision(augment(views, gen))  # (B, 1+C, d)
    ids = model.caption_ids(batch.bad_captions, batch.langs)
    text_loss = caption_loss(model, mem, ids, batch.bad_cells.present)
    text_loss = text_loss + model.vision.probe_loss(mem, batch.bad_cells)
    control = model.encode_text(batch.bad_captions, fixed=False, chunk=16)
    out = model.interactor(mem, tuple(t[:b] for t in prompt), control)
    inter_loss = model.interactor.loss(out, batch.fixed)
    return {"text": text_loss, "image": img_loss, "interactor": inter_loss}


def caption_loss(model: Alpaca, mem: torch.Tensor, ids: torch.Tensor, occupied: torch.Tensor,
                 chunk: int = 32) -> torch.Tensor:
    """The text decoder's loss over captions grouped by length (less padding); token-weighted."""
    pad = model.tokenizer.pad_id
    lengths = (ids != pad).sum(1)
    order = lengths.argsort()
    total, count = mem.new_zeros(()), 0
    for lo in range(0, ids.shape[0], chunk):
        idx = order[lo : lo + chunk]
        sub = ids[idx, : int(lengths[idx].max())]
        n = int((sub[:, 2:] != pad).sum())  # predicted tokens (after BOS and language tag)
        total = total + model.text_decoder(mem[idx], sub, occupied[idx])[1] * n
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
