"""The layout: the generator's and the interactor's intermediate, what is drawn where.

A `Layout` is a batch of object slots (present, shape, colour, size, style, grid cell, and the
centre's offset from the cell centre in cell units) plus a background (colour, gradient colour or
"none" = the palette size). `AttrEmbed` turns a slot's attributes into one vector; `sample_index`
draws from logits with pre-drawn uniforms so that each item's draw comes from its own seed.
The layout knows attribute indices, never names or pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from .config import AlpacaConfig

SLOT_FIELDS = ("shape", "colour", "size", "style", "cell")


@dataclass
class Layout:
    bg: torch.Tensor  # (B,) long, background colour index
    grad: torch.Tensor  # (B,) long, gradient colour index; len(palette) = no gradient
    present: torch.Tensor  # (B, K) bool, slot holds an object
    shape: torch.Tensor  # (B, K) long
    colour: torch.Tensor  # (B, K) long
    size: torch.Tensor  # (B, K) long
    style: torch.Tensor  # (B, K) long
    cell: torch.Tensor  # (B, K) long, row * grid + col
    offset: torch.Tensor  # (B, K, 2) float, (dx, dy) of the centre from the cell centre, cells

    def to(self, device: torch.device | str) -> Layout:
        return Layout(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def index(self, rows: torch.Tensor | list[int]) -> Layout:
        """The layouts of the given batch rows."""
        return Layout(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    @staticmethod
    def empty(b: int, k: int, n_colours: int) -> Layout:
        z = torch.zeros(b, k, dtype=torch.long)
        return Layout(
            bg=torch.zeros(b, dtype=torch.long), grad=torch.full((b,), n_colours),
            present=torch.zeros(b, k, dtype=torch.bool), shape=z, colour=z.clone(),
            size=z.clone(), style=z.clone(), cell=z.clone(), offset=torch.zeros(b, k, 2),
        )


class AttrEmbed(nn.Module):
    """Slot attributes -> one d-vector (sum of per-attribute embeddings); absent -> `absent`."""

    def __init__(self, cfg: AlpacaConfig):
        super().__init__()
        d = cfg.d_model
        sizes = dict(shape=len(cfg.shapes), colour=len(cfg.colours), size=len(cfg.sizes),
                     style=len(cfg.styles), cell=cfg.n_cells)
        self.tables = nn.ModuleDict({k: nn.Embedding(n, d) for k, n in sizes.items()})
        self.offset = nn.Linear(2, d)
        self.absent = nn.Parameter(torch.randn(d) * 0.02)
        self.bg = nn.Embedding(len(cfg.palette), d)
        self.grad = nn.Embedding(len(cfg.palette) + 1, d)

    def slots(self, layout: Layout) -> torch.Tensor:
        """(B, K, d) vectors of every slot."""
        x = sum(self.tables[k](getattr(layout, k)) for k in SLOT_FIELDS)  # (B, K, d)
        x = x + self.offset(layout.offset)
        return torch.where(layout.present[..., None], x, self.absent.expand_as(x))

    def background(self, layout: Layout) -> torch.Tensor:
        """(B, d) vector of the background choice."""
        return self.bg(layout.bg) + self.grad(layout.grad)


class WordReader(nn.Module):
    """Attribute log-probabilities read off a text's words: queries (B, N, d) -> {field:
    (B, N, n)}.

    Each field of each query attends over the text's tokens (keys from the encoder's contextual
    features, so it finds the words of *its* object); every token says what it means for the
    field from its *raw* embedding alone, which carries no context, and the reading is the
    attention-weighted *mixture of those distributions*. "purple" reads as purple whatever shape
    it came with, and a token that is not a colour word can only add its own small share to a
    colour, never veto one: with logits instead, "cross" learned a large negative score for
    blue (no training prompt has a blue cross), and any attention it kept turned a held-out
    "blue cross" orange. Fields in `summed` keep summed logits (a product of experts): a grid
    cell is named by two English words, "bottom" and "right", and only their product pins
    bottom right (a mixture of "some bottom cell" and "some right cell" cannot)."""

    def __init__(self, d: int, sizes: dict[str, int], summed: tuple[str, ...] = ()):
        super().__init__()
        self.fields, self.summed = tuple(sizes), frozenset(summed)
        self.q = nn.Linear(d, len(sizes) * d)  # one query per field
        self.k = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)  # raw embeddings are small; bring them to unit scale
        self.v = nn.ModuleDict({f: nn.Linear(d, n) for f, n in sizes.items()})

    def forward(self, queries: torch.Tensor, text: tuple[torch.Tensor, ...]
                ) -> dict[str, torch.Tensor]:
        feats, mask, raw = text[:3]  # (B, T, d), (B, 1, T), (B, T, d)
        b, n, d = queries.shape
        q = self.q(queries).view(b, n, len(self.fields), d)  # (B, N, F, d)
        scores = torch.einsum("bnfd,btd->bnft", q, self.k(feats)) / d**0.5
        attn = scores.masked_fill(~mask[:, :, None, :], float("-inf")).softmax(-1)
        words = self.norm(raw)  # (B, T, d)
        out = {}
        for i, f in enumerate(self.fields):
            per_token = self.v[f](words)  # (B, T, n) logits of each token alone
            if f in self.summed:
                out[f] = torch.einsum("bnt,btk->bnk", attn[:, :, i], per_token)
                continue
            mixed = torch.einsum("bnt,btk->bnk", attn[:, :, i], per_token.softmax(-1))
            out[f] = mixed.clamp(min=1e-6).log()
        return out


def sample_index(logits: torch.Tensor, u: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Inverse-CDF draw: logits (..., N), uniforms u (...) in [0, 1) -> indices (...).

    temperature 0 takes the argmax.
    """
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, -1)
    cdf = probs.cumsum(-1)
    idx = (cdf <= u[..., None] * cdf[..., -1:]).sum(-1)  # first index whose cdf exceeds u
    return idx.clamp(max=logits.shape[-1] - 1)
