"""The image encoder shared by the text decoder and the interactor: image -> memory tokens, one per
grid cell plus one global token.

It keeps colour and shape apart, the design docs/model-notes.md asks of a captioner: the colour
stream is a soft assignment of every pixel to the palette, pooled per cell (which colours are there,
and which colours sit on edges); the shape stream is a small CNN run on each grid cell's crop (the
cell is the patch, as in a ViT), that sees only colour-agnostic maps (the silhouette of everything
that is not background, edges) and coordinates. A cell token is the sum of both projections plus a
cell embedding, mixed by one transformer layer.

`read` also returns the *facts* of every cell: log-probabilities of its object's shape, size and
style read off the shape stream alone, and of its colour read off the foreground's palette histogram
alone, and then a presence logit (does the cell hold an object?) from the shape stream, which tells
the text decoder whether an object remains after the cell it points at. No fact sees the other
stream, so a purple circle reads as purple + circle even though no training image ever showed one
(the text decoder writes attribute words from these facts; a head on the mixed token learns "purple
is never a circle" from the data). It knows the palette (from the config) and nothing else of the
domain.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .config import AlpacaConfig
from .layers import Stack


def coords(b: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    """(B, 2, H, W) x and y coordinates in [-1, 1] (CoordConv channels)."""
    ys = torch.linspace(-1, 1, h, device=device)[:, None].expand(h, w)
    xs = torch.linspace(-1, 1, w, device=device)[None, :].expand(h, w)
    return torch.stack([xs, ys])[None].expand(b, 2, h, w)


def palette_probs(images: torch.Tensor, palette: torch.Tensor, temperature: float) -> torch.Tensor:
    """images (B, 3, H, W) in [0, 1], palette (P, 3) -> (B, P, H, W) soft colour assignment."""
    b, _, h, w = images.shape
    flat = images.flatten(2)  # (B, 3, HW)
    cross = torch.einsum("pc,bcn->bpn", palette, flat)  # (B, P, HW)
    dist = (flat**2).sum(1, keepdim=True) - 2 * cross + (palette**2).sum(1)[None, :, None]
    return torch.softmax(-dist.view(b, -1, h, w) / temperature, dim=1)  # (B, P, H, W)


def foreground(probs: torch.Tensor, band: int = 2) -> torch.Tensor:
    """(B, 1, H, W) colour-agnostic silhouette: 1 where a pixel is not a background colour.
    Background colours are those filling > 30 % of the top or bottom `band` rows."""
    top = probs[..., :band, :].mean((-2, -1))  # (B, P)
    bottom = probs[..., -band:, :].mean((-2, -1))
    is_bg = torch.sigmoid(20 * (torch.maximum(top, bottom) - 0.3))  # (B, P)
    return 1 - (probs * is_bg[..., None, None]).sum(1, keepdim=True)


def edge_maps(images: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """(B, 4, H, W) colour-agnostic edges: RGB contrast and palette change, along x and y."""
    def diff(t: torch.Tensor, dim: int) -> torch.Tensor:
        d = t.diff(dim=dim)
        pad = (0, 1, 0, 0) if dim == -1 else (0, 0, 0, 1)
        return F.pad(d, pad)

    rgb = [torch.tanh(4 * diff(images, dim).abs().sum(1)) for dim in (-1, -2)]  # (B, H, W)
    pal = [0.5 * diff(probs, dim).abs().sum(1) for dim in (-1, -2)]  # (B, H, W)
    return torch.stack([*rgb, *pal], dim=1)


def cell_crops(x: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, C, H, W) -> (B * grid * grid, C, s, s): each cell's crop in raster order, s =
    ceil(H / grid), the image padded evenly so the crops tile it."""
    b, c, h, _ = x.shape
    s = -(-h // grid)
    pad = s * grid - h
    x = F.pad(x, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
    x = x.unfold(2, s, s).unfold(3, s, s)  # (B, C, g, g, s, s)
    return x.permute(0, 2, 3, 1, 4, 5).reshape(b * grid * grid, c, s, s)


FACT_FIELDS = ("shape", "colour", "size", "style")  # the order of a fact vector's groups


def fact_sizes(cfg: AlpacaConfig) -> dict[str, int]:
    """Classes of each fact group, in FACT_FIELDS order."""
    return {"shape": len(cfg.shapes), "colour": len(cfg.palette), "size": len(cfg.sizes),
            "style": len(cfg.styles)}


class Reading(NamedTuple):
    mem: torch.Tensor  # (B, 1 + cells, d) memory tokens: global, then cells in raster order
    facts: torch.Tensor  # (B, 1 + cells, A + 1) per-group log-probabilities, then the presence
    # logit (row 0, the global token: zeros)


class ImageEncoder(nn.Module):
    """Images -> (B, 1 + cells, d) memory: a global token, then the cells in raster order."""

    def __init__(self, cfg: AlpacaConfig):
        super().__init__()
        self.grid, self.temperature = cfg.grid, cfg.colour_temperature
        palette = torch.tensor(cfg.palette, dtype=torch.float32) / 255.0
        self.register_buffer("palette", palette, persistent=False)  # (P, 3)
        c, d, p = cfg.cnn_channels, cfg.d_model, len(cfg.palette)
        self.cnn = nn.Sequential(  # per cell crop: (N, 7, s, s) -> (N, 2c, s/4, s/4)
            nn.Conv2d(7, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(),
        )
        self.shape_proj = nn.Linear(4 * c, d)  # max- and mean-pooled CNN features per cell
        self.sizes = fact_sizes(cfg)
        self.shape_facts = nn.Sequential(nn.Linear(4 * c, d), nn.ReLU())  # -> shape/size/style
        self.fact_heads = nn.ModuleDict({f: nn.Linear(d, self.sizes[f])
                                         for f in ("shape", "size", "style")})
        self.presence = nn.Linear(d, 1)  # the cell holds an object (a logit)
        self.colour_facts = nn.Sequential(nn.Linear(p + 1, d), nn.ReLU(), nn.Linear(d, p))
        self.colour_proj = nn.Linear(6 * p, d)  # 2x2 sub-cell histograms + edge-colour histogram
        self.global_proj = nn.Linear(5 * p, d)  # whole image + four border bands
        self.cell_emb = nn.Parameter(torch.randn(1 + cfg.n_cells, d) * 0.02)
        self.mix = Stack(1, d, cfg.n_heads)
        self.probe = nn.ModuleDict({  # what each cell shows, read off its token (training aid)
            "present": nn.Linear(d, 1), "shape": nn.Linear(d, len(cfg.shapes)),
            "colour": nn.Linear(d, p), "size": nn.Linear(d, len(cfg.sizes)),
            "style": nn.Linear(d, len(cfg.styles)), "bg": nn.Linear(d, p),
            "grad": nn.Linear(d, p + 1),
        })

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, H, W) float in [0, 1] -> memory (B, 1 + g*g, d)."""
        return self.read(images).mem

    def read(self, images: torch.Tensor) -> Reading:
        """images (B, 3, H, W) float in [0, 1] -> memory (B, 1 + g*g, d) and facts."""
        b, g = images.shape[0], self.grid
        probs = palette_probs(images, self.palette, self.temperature)  # (B, P, H, W)
        edges = edge_maps(images, probs)  # (B, 4, H, W)
        fg = foreground(probs)  # (B, 1, H, W)
        crops = cell_crops(torch.cat([fg, edges], 1), g)  # (B*g*g, 5, s, s)
        n, _, s, _ = crops.shape
        feats = self.cnn(torch.cat([crops, coords(n, s, s, images.device)], 1))
        shape = torch.cat([feats.amax((-2, -1)), feats.mean((-2, -1))], 1).view(b, g * g, -1)
        colour = torch.cat([self._cells(F.adaptive_avg_pool2d(probs, 2 * g), 2),
                            self._edge_colours(probs, edges)], -1)  # (B, g*g, 6P)
        cells = self.shape_proj(shape) + self.colour_proj(colour)  # (B, g*g, d)
        glob = self.global_proj(self._bands(probs))[:, None]  # (B, 1, d)
        mem = self.mix(torch.cat([glob, cells], 1) + self.cell_emb)  # (B, 1 + g*g, d)
        return Reading(mem, self._facts(shape, probs, fg))

    def _facts(self, shape: torch.Tensor, probs: torch.Tensor, fg: torch.Tensor) -> torch.Tensor:
        """(B, 1 + g*g, A + 1) log-probabilities per fact group: shape, size and style from
        the shape stream (B, g*g, 4c) only, colour from the foreground's palette histogram only;
        then the cell's presence logit, from the shape stream."""
        g = self.grid
        ink = F.adaptive_avg_pool2d(fg, g)  # (B, 1, g, g) foreground share of each cell
        hist = F.adaptive_avg_pool2d(probs * fg, g) / ink.clamp(min=1e-4)  # (B, P, g, g)
        colour_in = self._cells(torch.cat([hist, ink], 1), 1)  # (B, g*g, P + 1)
        hidden = self.shape_facts(shape)
        logits = {f: self.fact_heads[f](hidden) for f in ("shape", "size", "style")}
        logits["colour"] = self.colour_facts(colour_in)
        facts = torch.cat([*(logits[f].log_softmax(-1) for f in FACT_FIELDS),
                           self.presence(hidden)], -1)
        return torch.cat([facts.new_zeros(facts.shape[0], 1, facts.shape[-1]), facts], 1)

    def facts_loss(self, facts: torch.Tensor, cells) -> torch.Tensor:
        """Cross-entropy of each present cell's attributes (a Layout, slot k = cell k) under
        its facts, plus every cell's presence."""
        present = cells.present  # (B, C)
        loss = F.binary_cross_entropy_with_logits(facts[:, 1:, -1], present.float())
        if not present.any():
            return loss
        groups = facts[:, 1:, :-1][present].split(list(self.sizes.values()), -1)
        return loss + sum(F.nll_loss(logp, getattr(cells, f)[present])
                          for f, logp in zip(FACT_FIELDS, groups, strict=True))

    def probe_loss(self, mem: torch.Tensor, cells) -> torch.Tensor:
        """Cross-entropy of the scene's per-cell attributes (a Layout, slot k = cell k) read
        linearly off the memory tokens: makes every cell token say what its cell shows."""
        present = cells.present  # (B, C)
        tokens, glob = mem[:, 1:], mem[:, 0]
        loss = F.binary_cross_entropy_with_logits(self.probe["present"](tokens)[..., 0],
                                                  present.float())
        loss = loss + F.cross_entropy(self.probe["bg"](glob), cells.bg)
        loss = loss + F.cross_entropy(self.probe["grad"](glob), cells.grad)
        if present.any():
            for name in ("shape", "colour", "size", "style"):
                loss = loss + F.cross_entropy(self.probe[name](tokens[present]),
                                              getattr(cells, name)[present])
        return loss

    def _cells(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """(B, C, g*k, g*k) -> (B, g*g, C*k*k): each cell's k x k block, flattened."""
        b, c, g = x.shape[0], x.shape[1], self.grid
        x = x.view(b, c, g, k, g, k).permute(0, 2, 4, 1, 3, 5)  # (B, g, g, C, k, k)
        return x.reshape(b, g * g, c * k * k)

    def _edge_colours(self, probs: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """(B, g*g, 2P): the palette histogram weighted by edge strength, per cell, and its mass."""
        w = edges[:, :2].amax(1, keepdim=True)  # (B, 1, H, W)
        num = F.adaptive_avg_pool2d(probs * w, self.grid)  # (B, P, g, g)
        den = F.adaptive_avg_pool2d(w, self.grid).clamp(min=1e-4)  # (B, 1, g, g)
        return self._cells(torch.cat([num / den, num], 1), 1)

    @staticmethod
    def _bands(probs: torch.Tensor) -> torch.Tensor:
        """(B, 5P): palette histograms of the whole image and its top/bottom/left/right bands."""
        n = max(1, probs.shape[-1] // 16)
        parts = [probs, probs[..., :n, :], probs[..., -n:, :], probs[..., :n], probs[..., -n:]]
        return torch.cat([p.mean((-2, -1)) for p in parts], -1)
