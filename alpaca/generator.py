"""The image generator G, first half: the layout decoder (text features + seed -> layout).

An autoregressive transformer over [start, background, slot 0, ..., slot K-1] that cross-attends
to the prompt's token features. Position 0 predicts the background (colour, gradient colour);
position 1 + k predicts slot k: whether it holds an object, its shape, colour, size, style, grid
cell (cells already taken are masked) and a Gaussian over its centre offset. Every position's
input is the embedding of the previous decision, so later objects are placed knowing the earlier
ones (relations, counts). Trained by teacher forcing on the scene's known attributes (the direct
supervision MODEL_NOTES found necessary); sampled at inference with the item's own seed, which is
where variations come from. The painter (painter.py) turns the layout into pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import AlpacaConfig
from .layers import Stack
from .layout import SLOT_FIELDS, AttrEmbed, Layout, sample_index

N_UNIFORMS = 8  # per position: present, shape, colour, size, style, cell, bg, grad


class LayoutDecoder(nn.Module):
    def __init__(self, cfg: AlpacaConfig, embed: AttrEmbed):
        super().__init__()
        d, k, p = cfg.d_model, cfg.max_objects, len(cfg.palette)
        self.k, self.n_colours, self.n_cells = k, p, cfg.n_cells
        self.embed = embed
        self.start = nn.Parameter(torch.randn(d) * 0.02)
        self.pos_emb = nn.Parameter(torch.randn(k + 1, d) * 0.02)
        self.stack = Stack(cfg.layout_layers, d, cfg.n_heads, cross=True)
        self.heads = nn.ModuleDict({
            "present": nn.Linear(d, 1), "shape": nn.Linear(d, len(cfg.shapes)),
            "colour": nn.Linear(d, p), "size": nn.Linear(d, len(cfg.sizes)),
            "style": nn.Linear(d, len(cfg.styles)), "cell": nn.Linear(d, cfg.n_cells),
            "offset": nn.Linear(d, 4), "bg": nn.Linear(d, p), "grad": nn.Linear(d, p + 1),
        })

    def _inputs(self, layout: Layout) -> torch.Tensor:
        """(B, K+1, d): [start, background, slot 0 .. slot K-2] + positions (teacher forcing)."""
        b = layout.bg.shape[0]
        slots = self.embed.slots(layout)[:, : self.k - 1]  # (B, K-1, d)
        x = torch.cat([self.start.expand(b, 1, -1), self.embed.background(layout)[:, None], slots], 1)
        return x + self.pos_emb

    def _taken(self, layout: Layout) -> torch.Tensor:
        """(B, K, cells) bool: cells used by an earlier present slot."""
        onehot = F.one_hot(layout.cell, self.n_cells) * layout.present[..., None]  # (B, K, C)
        before = onehot.cumsum(1) - onehot
        return before > 0

    def _slot_logits(self, h: torch.Tensor, taken: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {name: self.heads[name](h) for name in ("present", "shape", "colour", "size", "style")}
        out["cell"] = self.heads["cell"](h).masked_fill(taken, float("-inf"))
        out["offset"] = self.heads["offset"](h)
        return out

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, target: Layout) -> torch.Tensor:
        """Teacher-forced loss of the target layout. text (B, T, d), text_mask (B, 1, T)."""
        h = self.stack(self._inputs(target), text, mem_mask=text_mask, causal=True)  # (B, K+1, d)
        logits = self._slot_logits(h[:, 1:], self._taken(target))
        loss = F.cross_entropy(self.heads["bg"](h[:, 0]), target.bg)
        loss = loss + F.cross_entropy(self.heads["grad"](h[:, 0]), target.grad)
        return loss + slot_loss(logits, target)

    @torch.no_grad()
    def sample(self, text: torch.Tensor, text_mask: torch.Tensor, uniforms: torch.Tensor,
               normals: torch.Tensor, temperature: float = 1.0, cache: bool = False) -> Layout:
        """uniforms (B, K+1, N_UNIFORMS), normals (B, K, 2) from each item's seed -> Layout.
        `cache` keeps keys/values across positions (inference runtime) instead of re-running
        the prefix at every position; the decisions are the same."""
        b = text.shape[0]
        lay = Layout.empty(b, self.k, self.n_colours).to(text.device)
        alive = torch.ones(b, dtype=torch.bool, device=text.device)
        caches = [{} for _ in self.stack.blocks] if cache else None
        for pos in range(self.k + 1):
            x = self._inputs(lay)[:, pos if cache else 0 : pos + 1]
            h = self.stack(x, text, mem_mask=text_mask, causal=True, caches=caches)[:, -1]  # (B, d)
            if pos == 0:
                lay.bg = sample_index(self.heads["bg"](h), uniforms[:, 0, 6], temperature)
                lay.grad = sample_index(self.heads["grad"](h), uniforms[:, 0, 7], temperature)
                continue
            alive = self._sample_slot(lay, pos - 1, h, uniforms[:, pos], normals, alive, temperature)
        return lay

    def _sample_slot(self, lay: Layout, k: int, h: torch.Tensor, u: torch.Tensor,
                     normals: torch.Tensor, alive: torch.Tensor, temperature: float) -> torch.Tensor:
        logits = self._slot_logits(h, self._taken(lay)[:, k])
        p_present = torch.sigmoid(logits["present"][:, 0])
        present = alive & (u[:, 0] < p_present if temperature > 0 else p_present > 0.5)
        lay.present[:, k] = present
        for i, name in enumerate(SLOT_FIELDS):
            getattr(lay, name)[:, k] = sample_index(logits[name], u[:, 1 + i], temperature)
        mean, log_std = logits["offset"].chunk(2, -1)
        scale = log_std.clamp(-5, 0).exp() * (1.0 if temperature > 0 else 0.0)
        lay.offset[:, k] = (mean + scale * normals[:, k]).clamp(-0.5, 0.5)
        return present


def slot_loss(logits: dict[str, torch.Tensor], target: Layout) -> torch.Tensor:
    """Loss of per-slot logits (B, K, ...) against target slots: presence up to the first empty
    slot, attributes and offsets of present slots."""
    present = target.present
    n = present.long().sum(1, keepdim=True)  # (B, 1)
    ks = torch.arange(present.shape[1], device=present.device)[None]  # (1, K)
    seen = ks <= n  # presence is supervised up to and including the first empty slot
    loss = F.binary_cross_entropy_with_logits(
        logits["present"][..., 0][seen], present[seen].float())
    if present.any():
        for name in SLOT_FIELDS:
            loss = loss + F.cross_entropy(logits[name][present], getattr(target, name)[present])
        mean, log_std = logits["offset"][present].chunk(2, -1)
        log_std = log_std.clamp(-5, 2)
        z = (target.offset[present] - mean) / log_std.exp()
        loss = loss + 0.1 * (0.5 * z**2 + log_std).sum(-1).mean()
    return loss
