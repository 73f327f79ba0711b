"""The reading refit: a trained checkpoint's text encoder fine-tuned on today's training briefs,
with what the rest of the model reads from it held where it was.

`python -m alpaca_ads.train.refit --checkpoint alpaca_ads/checkpoints/default --out out/ads-refit`

Why a second stage: the copy decoder, the layout generator and the interactor all read the
encoder's memory, and a checkpoint trained from scratch on new briefs reads the briefs better
but lays out banners differently (docs/ads.md, fourth pass: one such checkpoint read offers
right on 149 of 154 typed briefs and judged worse on banners). The refit trains the encoder
alone on the brief designer's training briefs (the encoder's own loss: tags, heads, placeable
flags), plus two terms that hold it to the checkpoint it started from (the teacher, frozen):
the mean squared change of its memory, so the decoder and the layout see nearly what they were
trained on, and of each character's colour-tag probability, which the colour reading's
thresholds (nn/colour_reading.py) were set on. The named-colour head is frozen for the same
reason. Everything outside the encoder is bit for bit the checkpoint's.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load, save
from ..model import AdsModel
from ..nn.config import TAGS
from ..nn.tokenizer import PAD
from .cli import add_options, read_options
from .data import BatchMaker, DataOptions
from .loop import to_torch
from .losses import encoder_loss

log = logging.getLogger(__name__)
STAGE_RECORDS = ("refit", "copy_refit", "colour_refit")  # JSON keys of the fine-tuning stages' records
COLOUR_TAGS = [TAGS.index("B-colour"), TAGS.index("I-colour")]


@dataclass(frozen=True)
class RefitOptions:
    steps: int = 1000  # brief batches (32 briefs each, `DataOptions.brief_batch`)
    lr: float = 5e-4  # AdamW learning rate, held until the last `decay_share` of the steps
    decay_share: float = 0.3  # the lr falls linearly to 0 over this last share of the steps
    memory_weight: float = 10.0  # weight of the memory's mean squared change
    colour_weight: float = 20.0  # weight of the colour-tag probability's mean squared change
    seed: int = 99  # the briefs' seed (not the base run's, so the briefs are new ones)
    log_every: int = 100
    novel_product_share: float = 0.0  # `DataOptions.novel_product_share` of the briefs


def _colour_prob(tag_logits: torch.Tensor) -> torch.Tensor:
    return tag_logits.softmax(-1)[..., COLOUR_TAGS].sum(-1)


def train_only(model: AdsModel, module: torch.nn.Module,
               held: torch.nn.Module | None = None) -> list[torch.nn.Parameter]:
    """The parameters of `module` (less those of `held`, a part of it), the only ones left
    trainable: every other parameter of `model` is frozen."""
    for p in model.parameters():
        p.requires_grad_(False)
    for p in module.parameters():
        p.requires_grad_(True)
    for p in held.parameters() if held is not None else ():
        p.requires_grad_(False)
    return [p for p in module.parameters() if p.requires_grad]


def record_stage(model: AdsModel, key: str, options: Any, seconds: float) -> None:
    """Note a fine-tuning stage in `model.meta[key]` (where it started, its options and
    seconds), keeping an earlier record of the same stage under 'after'."""
    earlier = {"after": model.meta[key]} if key in model.meta else {}
    model.meta = {**model.meta, key: {"from": model.version, **asdict(options),
                                      "seconds": seconds, **earlier}}


def refit_loss(model: AdsModel, teacher: torch.nn.Module, batch: dict[str, torch.Tensor],
               o: RefitOptions) -> tuple[torch.Tensor, dict[str, float]]:
    """The encoder's own loss plus the memory's and the colour reading's drift from `teacher`."""
    loss, out = encoder_loss(model, batch)
    with torch.no_grad():
        old = teacher(batch["brief"])
    chars = batch["brief"] != PAD
    memory = ((out["memory"] - old["memory"]) ** 2).mean(-1)[~out["memory_pad"]].mean()
    colour = ((_colour_prob(out["tags"]) - _colour_prob(old["tags"])) ** 2)[chars].mean()
    total = loss + o.memory_weight * memory + o.colour_weight * colour
    return total, {k: float(v.detach()) for k, v in (("encoder", loss), ("memory", memory),
                                                    ("colour", colour))}


def fine_tune(model: AdsModel, params: list[torch.nn.Parameter],
              step_loss: Callable[[int], tuple[torch.Tensor, dict[str, float]]], steps: int,
              lr: float, decay_share: float, log_every: int, label: str) -> float:
    """AdamW over `params` for `steps` steps of `step_loss(step)`, the lr held, then falling
    linearly to 0 over the last `decay_share` of the steps; every parameter trainable again
    after. Returns the seconds it took."""
    model.train()
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    t0, decay_from = time.monotonic(), steps * (1 - decay_share)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (steps - step) / max(1.0, steps - decay_from))
        loss, parts = step_loss(step)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if (step + 1) % log_every == 0:
            log.info("%s step %d %s %.0fs", label, step + 1,
                     {k: round(v, 4) for k, v in parts.items()}, time.monotonic() - t0)
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return round(time.monotonic() - t0, 1)


def refit(model: AdsModel, options: RefitOptions | None = None,
          data: DataOptions | None = None) -> AdsModel:
    """Refit `model`'s encoder in place (see the module docstring); returns it in eval mode."""
    o = options or RefitOptions()
    d = replace(data or DataOptions(), novel_product_share=o.novel_product_share)
    teacher = copy.deepcopy(model.enc).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    maker = BatchMaker(model.tokenizer, model.pieces, model.cfg, d, o.seed)
    seconds = fine_tune(
        model, train_only(model, model.enc, held=model.enc.colour),
        lambda step: refit_loss(model, teacher, to_torch(maker.brief_batch(step)), o),
        o.steps, o.lr, o.decay_share, o.log_every, "refit")
    record_stage(model, "refit", o, seconds)
    return model


def run_stage(argv: Sequence[str] | None, prog: str, description: str, options: type,
              stage: Callable[[AdsModel, Any], AdsModel], key: str) -> int:
    """The command line of a fine-tuning stage: --checkpoint, --out, --threads and a flag per
    field of `options`; the stage's record is saved in the checkpoint's JSON under `key`, next
    to those of the stages the checkpoint it started from went through."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--checkpoint", default=None, help="checkpoint to start from (default: shipped)")
    p.add_argument("--out", required=True, help="folder of the new checkpoint")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    add_options(p, options)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = stage(load(args.checkpoint), read_options(args, options))
    records = {k: model.meta[k] for k in STAGE_RECORDS if k in model.meta}
    version = save(model, Path(args.out), **records)
    log.info("done: %s version %s (%.0f s)", args.out, version, model.meta[key]["seconds"])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_stage(argv, "python -m alpaca_ads.train.refit",
                     "Refit a checkpoint's text encoder (reading only).", RefitOptions, refit,
                     "refit")


if __name__ == "__main__":
    raise SystemExit(main())
