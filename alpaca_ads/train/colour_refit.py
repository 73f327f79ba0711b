"""The colour refit: a trained checkpoint's named-colour head grown to the catalog's colours and
fitted again, with every other weight held where it was.

`python -m alpaca_ads.train.colour_refit --checkpoint alpaca_ads/checkpoints/default --out out/ads-colour`

Why: briefs name shades the first catalog had no colour for ('forest green', 'hot pink',
'mustard', 墨绿), and the head can only answer with a colour it has a row for: it read 'forest
green' as green (#1F9D55), 54 RGB from #228B22, so the banner showed a brand colour the brief
did not ask for. The catalog (domain/catalog.py) now has those colours at its end; this stage
gives the head a row for each (started from the row of the nearest earlier colour, so it begins
by reading the new name as its nearest old one) and fits the whole head on the training
briefs' colour spans (`losses.colour_span_loss`) under the frozen encoder, which the reading's
thresholds (nn/colour_reading.py) were set on. A colour whose hex the catalog moved (purple)
keeps its row and takes the new hex. A fresh `make train-ads` builds the head at the catalog's
size from the start; this stage upgrades a checkpoint without retraining it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from alpaca_ads.domain import catalog
from alpaca_ads.domain.colour import rgb

from ..model import AdsModel
from ..nn import colour_reading
from ..nn.tokenizer import FIXED, PAD
from .data import BatchMaker, DataOptions
from .loop import to_torch
from .losses import colour_span_loss, no_loss
from .refit import fine_tune, record_stage, run_stage, train_only


@dataclass(frozen=True)
class ColourRefitOptions:
    steps: int = 3000  # brief batches (32 briefs each, `DataOptions.brief_batch`)
    lr: float = 1e-3  # AdamW learning rate, held until the last `decay_share` of the steps
    decay_share: float = 0.3  # the lr falls linearly to 0 over this last share of the steps
    hold_weight: float = 10.0  # weight of the hold on spans that name no colour (`hold_loss`;
    # at 1.0 the head still grew sure of 'now' and 立即: 11 colours made up on unseen briefs)
    hold_spans: int = 256  # such spans drawn per batch
    seed: int = 55  # the briefs' seed (not the base run's, so the briefs are new ones)
    log_every: int = 100


def nearest_rows(old_hexes: Sequence[str], new_hexes: Sequence[str]) -> list[int]:
    """For each new colour, the index of the nearest old colour in RGB (itself where kept)."""
    old = np.array([rgb(h) for h in old_hexes], float)
    return [int(np.linalg.norm(old - np.array(rgb(h), float), axis=1).argmin())
            for h in new_hexes]


def grow_colour_head(model: AdsModel) -> list[int]:
    """Give `model` the catalog's colours: a head row per colour (an old colour keeps its row by
    name, a new one starts as a copy of the nearest old colour's) and the catalog's hexes.
    Returns each row's old row."""
    names = tuple(c.key for c in catalog.COLOURS)
    hexes = tuple(c.hex for c in catalog.COLOURS)
    old_names, old = model.cfg.colour_names, model.enc.colour
    near = nearest_rows(model.cfg.colour_hexes, hexes)
    rows = [old_names.index(n) if n in old_names else near[k] for k, n in enumerate(names)]
    head = torch.nn.Linear(old.in_features, len(names))
    with torch.no_grad():
        head.weight.copy_(old.weight[rows])
        head.bias.copy_(old.bias[rows])
    model.enc.colour = head
    model.cfg = replace(model.cfg, colour_names=names, colour_hexes=hexes)
    return rows


def reading_candidates(model: AdsModel, batch: dict[str, torch.Tensor], n: int,
                       gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to n of the spans the colour reading asks the head about (`colour_reading.candidates`:
    whole words and runs of Chinese characters) that are no colour span of the batch, drawn at
    random: (rows, (n, T) masks)."""
    brief, vocab, specials = batch["brief"], model.tokenizer.vocab, len(FIXED)
    named = [set() for _ in range(len(brief))]
    for row, mask in zip(batch["cs_row"].tolist(), batch["cs_mask"]):
        named[row].update(torch.nonzero(mask).flatten().tolist())
    spans = []
    for row, ids in enumerate(brief.tolist()):
        text = "".join(vocab[i] if i >= specials else "?" for i in ids if i != PAD)
        spans += [(row, a, b) for a, b in colour_reading.candidates(
            text, colour_reading.hex_codes(text)) if not named[row] & set(range(a, b))]
    if not spans:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, brief.shape[1], dtype=torch.bool)
    pick = torch.randperm(len(spans), generator=gen)[:n].tolist()
    at = torch.arange(brief.shape[1])
    rows = torch.tensor([spans[k][0] for k in pick])
    masks = torch.stack([(at >= spans[k][1]) & (at < spans[k][2]) for k in pick])
    return rows, masks


def in_context(batch: dict[str, torch.Tensor], gen: torch.Generator
               ) -> dict[str, torch.Tensor]:
    """The batch's colour spans each widened by 1-12 characters of the brief on one side, with
    the same colour: the words around a colour ('brand colour: green', 'use our purple',
    品牌色黑色) do not change it. Without this the head, which the colour reading also asks
    about such wider candidates, read 'colour: green' as forest green."""
    rows, masks = batch["cs_row"], batch["cs_mask"]
    if not rows.numel():
        return batch
    n, at = len(rows), torch.arange(masks.shape[1])
    start = masks.float().argmax(-1)
    end = masks.shape[1] - masks.flip(-1).float().argmax(-1)
    grow = torch.randint(1, 13, (n,), generator=gen)
    left = torch.rand(n, generator=gen) < 0.5
    start = torch.where(left, (start - grow).clamp(min=0), start)
    end = torch.where(left, end, end + grow)
    wide = (at >= start[:, None]) & (at < end[:, None]) & (batch["brief"][rows] != PAD)
    return {**batch, "cs_mask": wide}


def hold_loss(model: AdsModel, teacher: torch.nn.Linear, rows: list[int], memory: torch.Tensor,
              spans: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """KL from the old head to the new one on spans that name no colour, the new rows'
    probability summed into the rows they grew from: the head's confidence on words that are
    no colour ('with', 'now', 降噪), which the reading's thresholds were set on, stays the old
    head's (fitted on colour spans alone, it grew sure of such words: 'now' 0.83 -> 0.99)."""
    span_rows, masks = spans
    if not len(span_rows):
        return no_loss(model.enc.colour)
    mean = model.enc.span_mean(memory[span_rows], masks)
    new = model.enc.colour(mean).softmax(-1)
    merged = torch.zeros(len(mean), teacher.out_features).index_add_(
        1, torch.tensor(rows), new)
    with torch.no_grad():
        old = teacher(mean).log_softmax(-1)
    return F.kl_div(merged.clamp_min(1e-8).log(), old, log_target=True, reduction="batchmean")


def colour_step(model: AdsModel, teacher: torch.nn.Linear, rows: list[int],
                batch: dict[str, torch.Tensor], o: ColourRefitOptions, gen: torch.Generator
                ) -> tuple[torch.Tensor, dict[str, float]]:
    """The head's loss on one batch's colour spans as written and in context, and its hold on
    the other candidates, under the frozen encoder."""
    with torch.no_grad():
        memory = model.enc(batch["brief"])["memory"]
    fit = colour_span_loss(model, memory, batch) + colour_span_loss(model, memory,
                                                                     in_context(batch, gen))
    hold = hold_loss(model, teacher, rows, memory,
                     reading_candidates(model, batch, o.hold_spans, gen))
    return fit + o.hold_weight * hold, {"colour": float(fit.detach()),
                                        "hold": float(hold.detach())}


def colour_refit(model: AdsModel, options: ColourRefitOptions | None = None,
                 data: DataOptions | None = None) -> AdsModel:
    """Grow and refit `model`'s named-colour head in place (see the module docstring)."""
    o = options or ColourRefitOptions()
    teacher = copy.deepcopy(model.enc.colour).requires_grad_(False)
    rows = grow_colour_head(model)
    maker = BatchMaker(model.tokenizer, model.pieces, model.cfg, data or DataOptions(), o.seed)
    gen = torch.Generator().manual_seed(o.seed)
    seconds = fine_tune(model, train_only(model, model.enc.colour),
                        lambda step: colour_step(model, teacher, rows,
                                                 to_torch(maker.brief_batch(step)), o, gen),
                        o.steps, o.lr, o.decay_share, o.log_every, "colour refit")
    record_stage(model, "colour_refit", o, seconds)
    return model


def main(argv: Sequence[str] | None = None) -> int:
    return run_stage(argv, "python -m alpaca_ads.train.colour_refit",
                     "Grow and refit a checkpoint's named-colour head (new catalog colours).",
                     ColourRefitOptions, colour_refit, "colour_refit")


if __name__ == "__main__":
    raise SystemExit(main())
