"""The multimodal interactor I: (image, prompt features, control-text features) -> refined layout,
which the shared painter turns into the refined image.

One query per grid cell (and one for the background) starts from the image encoder's token for
that cell, so what the image already shows is the default; the queries then attend to the prompt
and to the control text (each tagged with its source), so a cell that the control text says is
wrong ("a red star" where the prompt asks for a blue one) can be redrawn. Heads per cell: object
present, shape, colour, size, style and centre offset; the background query predicts the
background and gradient colours and how many objects the refined scene holds. The count makes
the cells' presence decisions a set decision: the `count` cells with the highest presence
logits are drawn. Independent per-cell thresholds could not remove "one of six identical
triangles" for a prompt asking for five (every cell looks right on its own), nor agree on which
empty cell should take a missing object. Trained to turn images of corrupted scenes back into
scenes that satisfy the prompt, and to leave images that already do unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import AlpacaConfig
from .layers import Stack
from .layout import SLOT_FIELDS, Layout, WordReader


class Interactor(nn.Module):
    def __init__(self, cfg: AlpacaConfig):
        super().__init__()
        d, p = cfg.d_model, len(cfg.palette)
        self.n_cells, self.n_colours = cfg.n_cells, p
        self.source = nn.Parameter(torch.randn(2, d) * 0.02)  # prompt / control-text tags
        self.stack = Stack(cfg.inter_layers, d, cfg.n_heads, cross=True)
        sizes = dict(shape=len(cfg.shapes), colour=p, size=len(cfg.sizes), style=len(cfg.styles))
        self.heads = nn.ModuleDict({
            "present": nn.Linear(d, 1), "offset": nn.Linear(d, 2),
            "bg": nn.Linear(d, p), "grad": nn.Linear(d, p + 1),
            "stated": nn.Linear(d, len(sizes)), "count": nn.Linear(d, cfg.max_objects + 1),
            **{f: nn.Linear(d, n) for f, n in sizes.items()},
        })
        self.reader = WordReader(d, sizes)  # the prompt's words for what a cell should become

    def forward(self, image_mem: torch.Tensor, prompt: tuple[torch.Tensor, ...],
                control: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        """image_mem (B, 1+C, d); prompt = (feats (B, T, d), mask (B, 1, T), raw embeddings
        (B, T, d)); control = (feats, mask, ...) -> logits. A cell's attribute is a mixture:
        with weight `stated` what it reads off the prompt's words, else what its state says
        (the image, edited by attention), so a prior of the state cannot veto a stated word."""
        ctx = torch.cat([prompt[0] + self.source[0], control[0] + self.source[1]], 1)
        mask = torch.cat([prompt[1], control[1]], -1)  # (B, 1, Tp + Tc)
        h = self.stack(image_mem, ctx, mem_mask=mask)  # (B, 1+C, d)
        cells, glob = h[:, 1:], h[:, 0]
        out = {name: self.heads[name](cells) for name in (*SLOT_FIELDS[:-1], "present", "offset")}
        stated = torch.sigmoid(self.heads["stated"](cells))  # (B, C, fields)
        for i, (name, read) in enumerate(self.reader(cells, prompt).items()):
            w = stated[..., i, None]
            mixed = w * read.exp() + (1 - w) * out[name].softmax(-1)
            out[name] = mixed.clamp(min=1e-6).log()
        for name in ("bg", "grad", "count"):
            out[name] = self.heads[name](glob)
        return out  # per-cell logits (B, C, ...); background (B, P), (B, P+1); count (B, K+1)

    def loss(self, out: dict[str, torch.Tensor], target: Layout) -> torch.Tensor:
        """Cross-entropy of the per-cell target layout (slot k = cell k)."""
        present = target.present  # (B, C)
        loss = F.binary_cross_entropy_with_logits(out["present"][..., 0], present.float())
        loss = loss + F.cross_entropy(out["bg"], target.bg)
        loss = loss + F.cross_entropy(out["grad"], target.grad)
        loss = loss + F.cross_entropy(out["count"], present.sum(1))
        if present.any():
            for name in SLOT_FIELDS[:-1]:
                loss = loss + F.cross_entropy(out[name][present], getattr(target, name)[present])
            loss = loss + (out["offset"][present] - target.offset[present]).abs().sum(-1).mean()
        return loss

    def decide(self, out: dict[str, torch.Tensor]) -> Layout:
        """Argmax layout from the logits: one slot per cell, in raster order; the predicted
        count of cells with the highest presence logits are present."""
        b = out["bg"].shape[0]
        cells = torch.arange(self.n_cells, device=out["bg"].device).expand(b, -1)
        return Layout(
            bg=out["bg"].argmax(-1), grad=out["grad"].argmax(-1),
            present=top_cells(out["present"][..., 0], out["count"].argmax(-1)),
            **{name: out[name].argmax(-1) for name in SLOT_FIELDS[:-1]},
            cell=cells.clone(), offset=out["offset"].clamp(-0.5, 0.5),
        )


def top_cells(logits: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """(B, C) presence logits, (B,) counts -> (B, C) bool: each row's `count` highest cells
    (ties go to the earlier cell)."""
    order = logits.argsort(dim=-1, descending=True, stable=True)  # (B, C)
    rank = torch.empty_like(order).scatter_(-1, order, torch.arange(
        logits.shape[-1], device=logits.device).expand_as(order))
    return rank < count[:, None]
