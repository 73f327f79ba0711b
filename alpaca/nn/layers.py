"""Transformer building blocks shared by the four modules: attention with an optional KV cache,
a pre-norm block (self-attention, optional cross-attention, MLP) and a stack of blocks.

These know nothing about text, images or the domain; shapes are (B, T, d) throughout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KVCache = dict[str, torch.Tensor]


class Attention(nn.Module):
    """Multi-head attention; `cache` (a dict) keeps keys/values across decoding steps."""

    def __init__(self, d: int, n_heads: int):
        super().__init__()
        if d % n_heads:
            raise ValueError(f"d_model {d} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)  # (B, h, T, d/h)

    def forward(
        self,
        x: torch.Tensor,  # (B, T, d) queries
        mem: torch.Tensor | None = None,  # (B, S, d) keys/values source; None = self-attention
        mask: torch.Tensor | None = None,  # (B, 1|T, S) bool, True = may attend
        causal: bool = False,
        cache: KVCache | None = None,
        static: bool = False,  # cross-attention: compute mem's keys/values once into `cache`
    ) -> torch.Tensor:
        q = self._heads(self.q(x))  # (B, h, T, d/h)
        if static and cache is not None and "k" in cache:
            k, v = cache["k"], cache["v"]
        else:
            k, v = (self._heads(t) for t in self.kv(x if mem is None else mem).chunk(2, dim=-1))
            if cache is not None and not static and "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            if cache is not None:
                cache["k"], cache["v"] = k, v
        attn_mask = None if mask is None else mask[:, None]  # (B, 1, T|1, S)
        is_causal = causal and x.shape[1] > 1 and attn_mask is None
        if causal and attn_mask is not None and x.shape[1] > 1:
            tri = torch.ones(x.shape[1], k.shape[2], dtype=torch.bool, device=x.device).tril()
            attn_mask = attn_mask & tri
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal)
        b, h, t, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * dh))  # (B, T, d)


class Block(nn.Module):
    """Pre-norm transformer block: self-attention, optional cross-attention, MLP."""

    def __init__(self, d: int, n_heads: int, cross: bool = False, mlp_ratio: int = 2):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = Attention(d, n_heads)
        self.ln2 = nn.LayerNorm(d) if cross else None
        self.cross = Attention(d, n_heads) if cross else None
        self.ln3 = nn.LayerNorm(d)
        hidden = mlp_ratio * d
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))

    def forward(
        self,
        x: torch.Tensor,  # (B, T, d)
        mem: torch.Tensor | None = None,  # (B, S, d)
        self_mask: torch.Tensor | None = None,  # (B, 1, T) bool
        mem_mask: torch.Tensor | None = None,  # (B, 1, S) bool
        causal: bool = False,
        cache: dict[str, KVCache] | None = None,
    ) -> torch.Tensor:
        self_cache = None if cache is None else cache.setdefault("self", {})
        x = x + self.attn(self.ln1(x), mask=self_mask, causal=causal, cache=self_cache)
        if self.cross is not None:
            cross_cache = None if cache is None else cache.setdefault("cross", {})
            x = x + self.cross(self.ln2(x), mem, mask=mem_mask, cache=cross_cache, static=True)
        return x + self.mlp(self.ln3(x))  # (B, T, d)


class Stack(nn.Module):
    """`n` blocks and a final LayerNorm; `caches` holds one KV cache per block when decoding."""

    def __init__(self, n: int, d: int, n_heads: int, cross: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList(Block(d, n_heads, cross) for _ in range(n))
        self.ln = nn.LayerNorm(d)

    def forward(
        self,
        x: torch.Tensor,  # (B, T, d)
        mem: torch.Tensor | None = None,
        self_mask: torch.Tensor | None = None,
        mem_mask: torch.Tensor | None = None,
        causal: bool = False,
        caches: list[dict] | None = None,
    ) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            cache = None if caches is None else caches[i]
            x = block(x, mem, self_mask, mem_mask, causal, cache)
        return self.ln(x)  # (B, T, d)


def padding_mask(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """(B, T) token ids -> (B, 1, T) bool mask, True where a token is real."""
    return (ids != pad_id)[:, None, :]
