"""A pre-norm transformer decoder with a cache for step-by-step decoding.

Training runs it over whole sequences (causal self-attention, cross-attention to a memory);
decoding projects the memory's keys and values once and keeps the self-attention keys and values
of the tokens written so far, so each new token costs one position, not the whole prefix.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Cache = list[dict[str, torch.Tensor]]
KV = tuple[torch.Tensor, torch.Tensor]


class Attention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.h, self.q, self.o = heads, nn.Linear(d, d), nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape  # (B, N, d) -> (B, H, N, d/H)
        return x.view(b, n, self.h, d // self.h).transpose(1, 2)

    def keys(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(x).chunk(2, -1)
        return self.split(k), self.split(v)  # (B, H, N, dh) each

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        q = self.split(self.q(x))  # (B, H, L, dh)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        b, _, n, _ = out.shape
        return self.o(out.transpose(1, 2).reshape(b, n, -1))  # (B, L, d)


class DecoderLayer(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.n1, self.n2, self.n3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_att, self.cross = Attention(d, heads), Attention(d, heads)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x: torch.Tensor, mem: tuple[torch.Tensor, torch.Tensor],
                mask: torch.Tensor, cache: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """x (B, L, d); mem: the memory's (k, v); mask: (B, 1, 1, M) additive. With `cache`,
        x is the next position(s) and the cache grows by them."""
        h = self.n1(x)
        k, v = self.self_att.keys(h)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        causal = cache is None and x.shape[1] > 1
        x = x + self.self_att(h, k, v, causal=causal)
        x = x + self.cross(self.n2(x), mem[0], mem[1], mask)
        return x + self.ff(self.n3(x))


class CachedDecoder(nn.Module):
    """A stack of DecoderLayers; `memory_kv` once, then `forward` (whole sequence) or repeated
    `forward` with a cache (one new position each call)."""

    def __init__(self, d: int, heads: int, layers: int):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(d, heads) for _ in range(layers))

    def memory_kv(self, memory: torch.Tensor, pad: torch.Tensor) -> tuple[list[KV], torch.Tensor]:
        """Per layer the memory's keys and values, and the additive padding mask (B,1,1,M)."""
        mask = torch.zeros(pad.shape, dtype=memory.dtype, device=memory.device)
        mask = mask.masked_fill(pad, float("-inf"))[:, None, None, :]
        return [layer.cross.keys(memory) for layer in self.layers], mask

    def forward(self, x: torch.Tensor, mem: list[KV],
                mask: torch.Tensor, cache: Cache | None = None) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x, mem[i], mask, None if cache is None else cache[i])
        return x  # (B, L, d)
