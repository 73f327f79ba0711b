"""Learned text-to-icon match: product words and icon slugs in one space.

Both sides are read as bags of hashed character n-grams (1- to 3-grams of the normalised text,
with word boundaries), so typos and unseen synonyms share most n-grams with what was seen;
a query tower (product span) and a key tower (slug) map them to unit vectors. Trained
contrastively on the catalog (product names EN/ZH -> slug); at inference every slug of the icon
pack is embedded once and cached, and the nearest is chosen.
"""

from __future__ import annotations

import zlib

import torch
import torch.nn.functional as F
from torch import nn

from .config import AdsConfig
from .tokenizer import normalise

MAX_GRAMS = 64


def ngram_ids(text: str, buckets: int) -> list[int]:
    """Hashed 1-3-gram ids of `text` (bucket 0 is padding)."""
    s = " " + normalise(text).replace("-", " ").replace("_", " ").strip() + " "
    grams = [s[i: i + n] for n in (1, 2, 3) for i in range(len(s) - n + 1)]
    grams = [g for g in grams if g.strip()]
    return [1 + zlib.crc32(g.encode()) % (buckets - 1) for g in grams][:MAX_GRAMS] or [0]


def ngram_batch(texts: list[str], buckets: int) -> torch.Tensor:
    """(B, G) padded n-gram ids."""
    ids = [ngram_ids(t, buckets) for t in texts]
    width = max(len(i) for i in ids)
    return torch.tensor([i + [0] * (width - len(i)) for i in ids], dtype=torch.long)


class IconMatcher(nn.Module):
    def __init__(self, cfg: AdsConfig):
        super().__init__()
        d = cfg.d_icon
        self.buckets = cfg.icon_buckets
        self.emb = nn.Embedding(cfg.icon_buckets, d, padding_idx=0)
        self.query = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        self.key = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        self.log_scale = nn.Parameter(torch.tensor(2.5))

    def _bag(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids > 0).float().unsqueeze(-1)  # (B, G, 1)
        return (self.emb(ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (B, d)

    def embed_query(self, ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.query(self._bag(ids)), dim=-1)  # (B, d)

    def embed_key(self, ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.key(self._bag(ids)), dim=-1)  # (N, d)

    def logits(self, query_ids: torch.Tensor, key_ids: torch.Tensor) -> torch.Tensor:
        """(B, N) scaled cosine similarities."""
        return self.embed_query(query_ids) @ self.embed_key(key_ids).T * self.log_scale.exp()
