"""Greedy decoding of the text decoder D for inference, two ways, with the same arithmetic.

- `greedy_cached`: the fast path. Keys and values of the decoder's own tokens go into buffers that
  grow by doubling (no concatenation per token); the image memory's keys and values are computed
  once; and the batch shrinks as items write their EOS, so a finished caption costs nothing more.
- `greedy_uncached`: the naive reference. Every step runs the whole sequence so far through the
  decoder again (what a decoder without a KV cache does), one batch of any size.

Both reuse the decoder's own submodules and methods (`TextDecoder.stack`, its input embedding,
its clause pointer if it has one, the tied output projection), so they compute what
`TextDecoder.generate` computes (a test holds them to it); they know nothing of tokenizers,
images or the domain.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .layers import Attention, Block
from .text import TextDecoder

SHRINK_BELOW = 0.75  # compact the batch when fewer than this share of its rows are still writing


def _heads(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    b, t, d = x.shape
    return x.view(b, t, attn.n_heads, d // attn.n_heads).transpose(1, 2)  # (B, h, T, d/h)


def _merge(attn: Attention, y: torch.Tensor) -> torch.Tensor:
    b, h, t, dh = y.shape
    return attn.out(y.transpose(1, 2).reshape(b, t, h * dh))  # (B, T, d)


class _SelfCache:
    """One block's self-attention keys and values, (B, h, capacity, d/h), grown by doubling."""

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def write(self, k: torch.Tensor, v: torch.Tensor, pos: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v (B, h, T, d/h) at positions pos.. and return the keys/values up to them."""
        end = pos + k.shape[2]
        if self.k is None or end > self.k.shape[2]:
            self._grow(k, max(end, 2 * (0 if self.k is None else self.k.shape[2]), 16), pos)
        self.k[:, :, pos:end] = k
        self.v[:, :, pos:end] = v
        return self.k[:, :, :end], self.v[:, :, :end]

    def _grow(self, like: torch.Tensor, capacity: int, pos: int) -> None:
        b, h, _, dh = like.shape
        k = like.new_empty(b, h, capacity, dh)
        v = like.new_empty(b, h, capacity, dh)
        if self.k is not None:
            k[:, :, :pos], v[:, :, :pos] = self.k[:, :, :pos], self.v[:, :, :pos]
        self.k, self.v = k, v

    def keep(self, rows: torch.Tensor, pos: int) -> None:
        self.k, self.v = self.k[rows, :, :pos].clone(), self.v[rows, :, :pos].clone()


def _block_step(block: Block, x: torch.Tensor, cache: _SelfCache, pos: int,
                cross_kv: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """One pre-norm decoder block on new tokens x (B, T, d) at positions pos.. (causal)."""
    attn, cross = block.attn, block.cross
    a = block.ln1(x)
    q = _heads(attn, attn.q(a))
    k, v = (_heads(attn, t) for t in attn.kv(a).chunk(2, dim=-1))
    k, v = cache.write(k, v, pos)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=x.shape[1] > 1)
    x = x + _merge(attn, y)
    q = _heads(cross, cross.q(block.ln2(x)))
    x = x + _merge(cross, F.scaled_dot_product_attention(q, *cross_kv))
    return x + block.mlp(block.ln3(x))  # (B, T, d)


def _cross_kv(block: Block, mem: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    k, v = block.cross.kv(mem).chunk(2, dim=-1)
    return _heads(block.cross, k), _heads(block.cross, v)  # 2 x (B, h, S, d/h)


class _Inputs:
    """The decoder's input embedding of new tokens: token + position, plus the pointed memory
    token when the decoder points at the clause it writes (a TextDecoder with `point_in`)."""

    def __init__(self, dec: TextDecoder, b: int, device: torch.device, cursor: Any = None
                 ) -> None:
        self.dec, self.cursor = dec, cursor
        self.pointer = getattr(dec, "point_in", None) is not None
        self.ptr = torch.zeros(b, 1, dtype=torch.long, device=device) if self.pointer else None

    def prefix(self, ids: torch.Tensor, mem: torch.Tensor) -> torch.Tensor:
        """(B, P) prefix ids -> (B, P, d) inputs at positions 0.."""
        if self.pointer:
            return self.dec._embed(ids, self.ptr.expand(-1, ids.shape[1]), mem, 0)
        return self.dec.tok_emb(ids) + self.dec.pos_emb[: ids.shape[1]]

    def next(self, h: torch.Tensor, nxt: torch.Tensor, mem: torch.Tensor, pos: int
             ) -> torch.Tensor:
        """After writing nxt (B,) from h (B, 1, d): move the pointer at a separator, and return
        the (B, 1, d) input of nxt at position `pos`."""
        if not self.pointer:
            return self.dec.tok_emb(nxt[:, None]) + self.dec.pos_emb[pos : pos + 1]
        at_sep = self.dec._is_sep(nxt)[:, None] & (self.ptr < mem.shape[1] - 1)
        if bool(at_sep.any()):  # the pointer moves only at a separator: score it only then
            moved = self.dec._point_logits(h, mem, self.ptr).argmax(-1)  # (B, 1)
            self.ptr = torch.where(at_sep, moved, self.ptr)
            if self.cursor:
                self.cursor.pin(self.ptr[:, 0])
        return self.dec._embed(nxt[:, None], self.ptr, mem, pos)

    def scores(self, h: torch.Tensor, mem: torch.Tensor, facts: torch.Tensor | None
               ) -> torch.Tensor:
        """(B, V) next-token scores of the last states h (B, 1, d)."""
        if not self.pointer:
            return self.dec._logits(h)[:, 0]
        return self.dec.scores(h, mem, facts, self.ptr)[:, 0]

    def keep(self, rows: torch.Tensor) -> None:
        if self.pointer:
            self.ptr = self.ptr[rows]


@torch.inference_mode()
def greedy_cached(dec: TextDecoder, mem: torch.Tensor, prefix: torch.Tensor, grammar: Any = None,
                  facts: torch.Tensor | None = None) -> list[list[int]]:
    """mem (B, S, d), prefix (B, P) = [BOS, lang] -> each item's token ids up to its EOS;
    `grammar` and `facts` as in TextDecoder.generate."""
    b, blocks = mem.shape[0], list(dec.stack.blocks)
    caches = [_SelfCache() for _ in blocks]
    cross = [_cross_kv(block, mem) for block in blocks]
    rows = torch.arange(b, device=mem.device)  # original row of each active row
    out = torch.full((b, dec.max_len), dec.pad_id, dtype=torch.long, device=mem.device)
    done = torch.zeros(b, dtype=torch.bool, device=mem.device)
    cursor = grammar.begin(prefix) if grammar is not None else None
    inputs = _Inputs(dec, b, mem.device, cursor)
    x, pos = inputs.prefix(prefix, mem), 0  # (B, P, d)
    for step in range(dec.max_len - prefix.shape[1]):
        for i, block in enumerate(blocks):
            x = _block_step(block, x, caches[i], pos, cross[i])
        pos += x.shape[1]
        h = dec.stack.ln(x[:, -1:])  # (b, 1, d)
        nxt = _choose(inputs.scores(h, mem, facts), cursor)  # (b,)
        out[rows[~done], step] = nxt[~done]
        done |= nxt == dec.eos_id
        n_live = len(rows) - int(done.sum())
        if n_live == 0:
            break
        if n_live < SHRINK_BELOW * len(rows):
            keep = (~done).nonzero()[:, 0]
            rows, nxt, done, h, mem = rows[keep], nxt[keep], done[keep], h[keep], mem[keep]
            facts = None if facts is None else facts[keep]
            cross = [(k[keep], v[keep]) for k, v in cross]
            inputs.keep(keep)
            if cursor:
                cursor.keep(keep)
            for cache in caches:
                cache.keep(keep, pos)
        x = inputs.next(h, nxt, mem, pos)  # (b, 1, d)
    return [_trim(row, dec.eos_id, dec.pad_id) for row in out.tolist()]


@torch.inference_mode()
def greedy_uncached(dec: TextDecoder, mem: torch.Tensor, prefix: torch.Tensor,
                    grammar: Any = None, facts: torch.Tensor | None = None) -> list[list[int]]:
    """The same captions without a cache: each step re-runs the decoder on the whole sequence."""
    b = mem.shape[0]
    cursor = grammar.begin(prefix) if grammar is not None else None
    inputs = _Inputs(dec, b, mem.device, cursor)
    x = inputs.prefix(prefix, mem)  # (B, T, d), the inputs so far
    finished = torch.zeros(b, dtype=torch.bool, device=mem.device)
    out = torch.full((b, dec.max_len), dec.pad_id, dtype=torch.long, device=mem.device)
    for step in range(dec.max_len - prefix.shape[1]):
        h = dec.stack(x, mem, causal=True)[:, -1:]  # (B, 1, d)
        nxt = _choose(inputs.scores(h, mem, facts), cursor)
        nxt = torch.where(finished, torch.full_like(nxt, dec.pad_id), nxt)
        out[:, step] = nxt
        finished |= nxt == dec.eos_id
        if bool(finished.all()):
            break
        x = torch.cat([x, inputs.next(h, nxt, mem, x.shape[1])], 1)
    return [_trim(row, dec.eos_id, dec.pad_id) for row in out.tolist()]


def _choose(logits: torch.Tensor, cursor: Any) -> torch.Tensor:
    """Greedy choice (B,) from logits (B, V), among the tokens the grammar cursor allows; the
    cursor then moves past the chosen tokens."""
    if cursor is None:
        return logits.argmax(-1)
    nxt = cursor.restrict(logits).argmax(-1)
    cursor.advance(nxt)
    return nxt


def _trim(row: list[int], eos: int, pad: int) -> list[int]:
    """Tokens before the EOS (rows that stopped early were left as padding after it)."""
    return row[: row.index(eos)] if eos in row else row
