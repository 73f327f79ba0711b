"""The image generator G, first half: the layout decoder (text features + seed -> layout).

An autoregressive transformer over [slot 0, ..., slot K-1, background] that cross-attends to the
prompt's token features. Position k predicts slot k: whether it holds an object, its grid cell
(cells already taken are masked), a Gaussian over its centre offset, and its shape, colour, size and
style, which are read off the prompt's words by attention (`layout.WordReader`); position K predicts
the background (colour, gradient colour) with the objects' colours masked. Every position's input is
the embedding of the previous decision, so later objects are placed knowing the earlier ones
(relations, counts). The background comes last because the domain's rule (no object shares a
background colour) is then a mask: drawn first, an open background took the colour the prompt asks
for an object ("a cyan square" on cyan) in most of G's failures. Trained by teacher forcing on the
scene's known attributes (the direct supervision docs/model-notes.md found necessary); sampled at
inference with the item's own seed, which is where variations come from. The painter (painter.py)
turns the layout into pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import AlpacaConfig
from .layers import Stack
from .layout import SLOT_FIELDS, AttrEmbed, Layout, WordReader, sample_index

N_UNIFORMS = 8  # per position: present, shape, colour, size, style, cell, bg, grad
READ_FIELDS = ("shape", "colour", "size", "style", "cell")  # read off the prompt's words
TextFeatures = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # feats, mask, raw embeddings


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
            "present": nn.Linear(d, 1), "cell": nn.Linear(d, cfg.n_cells),
            "offset": nn.Linear(d, 4), "bg": nn.Linear(d, p), "grad": nn.Linear(d, p + 1),
        })
        sizes = dict(shape=len(cfg.shapes), colour=p, size=len(cfg.sizes), style=len(cfg.styles),
                     cell=cfg.n_cells)
        self.reader = WordReader(d, {f: sizes[f] for f in READ_FIELDS}, summed=("cell",))

    def _inputs(self, layout: Layout) -> torch.Tensor:
        """(B, K+1, d): [start, slot 0 .. slot K-1] + positions (teacher forcing)."""
        b = layout.bg.shape[0]
        start = self.start.expand(b, 1, -1)
        return torch.cat([start, self.embed.slots(layout)], 1) + self.pos_emb

    def _taken(self, layout: Layout) -> torch.Tensor:
        """(B, K, cells) bool: cells used by an earlier present slot."""
        onehot = F.one_hot(layout.cell, self.n_cells) * layout.present[..., None]  # (B, K, C)
        before = onehot.cumsum(1) - onehot
        return before > 0

    def _object_colours(self, layout: Layout) -> torch.Tensor:
        """(B, P + 1) bool: the colours of the present objects, which the background may not
        take (the last column, "no gradient", is never banned)."""
        onehot = F.one_hot(layout.colour, self.n_colours + 1) * layout.present[..., None]
        return onehot.sum(1) > 0

    def _bg_logits(self, h: torch.Tensor, layout: Layout, bg: torch.Tensor,
                   teacher: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Background and gradient logits: neither takes an object's colour, and a gradient
        never repeats the background colour. `teacher`: `layout` is the target, whose own
        background colours stay allowed (a fine-tune pair may break the domain's rule)."""
        banned = self._object_colours(layout)
        if teacher:
            n = self.n_colours + 1
            banned = banned & ~(F.one_hot(layout.bg, n) | F.one_hot(layout.grad, n)).bool()
        bg_logits = self.heads["bg"](h).masked_fill(banned[:, : self.n_colours], float("-inf"))
        same = F.one_hot(bg, self.n_colours + 1).bool() | banned
        return bg_logits, self.heads["grad"](h).masked_fill(same, float("-inf"))

    def _slot_logits(self, h: torch.Tensor, text: TextFeatures, taken: torch.Tensor
                     ) -> dict[str, torch.Tensor]:
        """h (B, K, d) -> per-slot logits; taken (B, K, cells) mask."""
        out = {"present": self.heads["present"](h), **self.reader(h, text)}
        cell = out["cell"] + self.heads["cell"](h)  # stated cells + relations and free cells
        out["cell"] = cell.masked_fill(taken, float("-inf"))
        out["offset"] = self.heads["offset"](h)
        return out

    def forward(self, text: TextFeatures, target: Layout,
                weights: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Teacher-forced loss of the target layout. text = (feats (B, T, d), mask (B, 1, T),
        raw token embeddings (B, T, d)). `weights` (per field, (B, K), or (B,) for bg/grad)
        down-weight what the prompt left open."""
        x = self._inputs(target)
        h = self.stack(x, text[0], mem_mask=text[1], causal=True)  # (B, K+1, d)
        logits = self._slot_logits(h[:, : self.k], text, self._taken(target))
        bg, grad = self._bg_logits(h[:, self.k], target, target.bg, teacher=True)
        w = weights or {}
        loss = _weighted_ce(bg, target.bg, w.get("bg"))
        loss = loss + _weighted_ce(grad, target.grad, w.get("grad"))
        return loss + slot_loss(logits, target, w)

    @torch.no_grad()
    def sample(self, text: TextFeatures, uniforms: torch.Tensor, normals: torch.Tensor,
               temperature: float = 1.0, cache: bool = False) -> Layout:
        """uniforms (B, K+1, N_UNIFORMS), normals (B, K, 2) from each item's seed -> Layout.
        `cache` keeps keys/values across positions (inference runtime) instead of re-running
        the prefix at every position; the decisions are the same."""
        b, device = text[0].shape[0], text[0].device
        lay = Layout.empty(b, self.k, self.n_colours).to(device)
        alive = torch.ones(b, dtype=torch.bool, device=device)
        caches = [{} for _ in self.stack.blocks] if cache else None
        for pos in range(self.k + 1):
            x = self._inputs(lay)[:, pos if cache else 0 : pos + 1]
            h = self.stack(x, text[0], mem_mask=text[1], causal=True, caches=caches)[:, -1]
            if pos < self.k:
                alive = self._sample_slot(lay, pos, h, text, uniforms[:, pos], normals, alive,
                                          temperature)
                continue
            bg_logits = self._bg_logits(h, lay, lay.bg)[0]
            lay.bg = sample_index(bg_logits, uniforms[:, pos, 6], temperature)
            grad_logits = self._bg_logits(h, lay, lay.bg)[1]
            lay.grad = sample_index(grad_logits, uniforms[:, pos, 7], temperature)
        return lay

    def _sample_slot(self, lay: Layout, k: int, h: torch.Tensor, text: TextFeatures,
                     u: torch.Tensor, normals: torch.Tensor, alive: torch.Tensor,
                     temperature: float) -> torch.Tensor:
        """Draw slot k of every item in place; returns which items are still placing objects."""
        logits = self._slot_logits(h[:, None], text, self._taken(lay)[:, k, None])
        logits = {name: value[:, 0] for name, value in logits.items()}  # (B, ...)
        p_present = torch.sigmoid(logits["present"][:, 0])
        present = alive & (u[:, 0] < p_present if temperature > 0 else p_present > 0.5)
        lay.present[:, k] = present
        for i, name in enumerate(SLOT_FIELDS):
            getattr(lay, name)[:, k] = sample_index(logits[name], u[:, 1 + i], temperature)
        mean, log_std = logits["offset"].chunk(2, -1)
        scale = log_std.clamp(-5, 0).exp() * (1.0 if temperature > 0 else 0.0)
        lay.offset[:, k] = (mean + scale * normals[:, k]).clamp(-0.5, 0.5)
        return present


def _weighted_ce(logits: torch.Tensor, target: torch.Tensor, w: torch.Tensor | None
                 ) -> torch.Tensor:
    ce = F.cross_entropy(logits, target, reduction="none")
    return ce.mean() if w is None else (ce * w).sum() / w.sum().clamp(min=1e-6)


def slot_loss(logits: dict[str, torch.Tensor], target: Layout,
              weights: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Loss of per-slot logits (B, K, ...) against target slots: presence up to the first empty
    slot, attributes and offsets of present slots (weighted per field if `weights` given)."""
    present, w = target.present, weights or {}
    n = present.long().sum(1, keepdim=True)  # (B, 1)
    ks = torch.arange(present.shape[1], device=present.device)[None]  # (1, K)
    seen = ks <= n  # presence is supervised up to and including the first empty slot
    loss = F.binary_cross_entropy_with_logits(
        logits["present"][..., 0][seen], present[seen].float())
    if present.any():
        for name in SLOT_FIELDS:
            field_w = w[name][present] if name in w else None
            tgt = getattr(target, name)[present]
            loss = loss + _weighted_ce(logits[name][present], tgt, field_w)
        mean, log_std = logits["offset"][present].chunk(2, -1)
        log_std = log_std.clamp(-5, 2)
        z = (target.offset[present] - mean) / log_std.exp()
        loss = loss + 0.1 * (0.5 * z**2 + log_std).sum(-1).mean()
    return loss
