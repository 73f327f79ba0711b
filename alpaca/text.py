"""The two text modules: the text encoder E (prompt -> token features + pooled vector) and the text
decoder D (image features -> control text, autoregressive, greedy with a KV cache).

They share one token embedding: E reads with it, and D both reads its own tokens with it and
scores the next token against it (weight tying, the seed's parameter sharing). Neither knows the
domain; the decoder sees an image only as memory tokens from `vision.ImageEncoder`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import AlpacaConfig
from .layers import Stack, padding_mask


class TextEncoder(nn.Module):
    """Token ids -> per-token features and a pooled vector."""

    def __init__(self, cfg: AlpacaConfig, tok_emb: nn.Embedding, pad_id: int):
        super().__init__()
        self.tok_emb = tok_emb
        self.pad_id = pad_id
        self.pos_emb = nn.Parameter(torch.zeros(cfg.max_prompt_len, cfg.d_model))
        self.stack = Stack(cfg.enc_layers, cfg.d_model, cfg.n_heads)
        nn.init.normal_(self.pos_emb, std=0.02)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ids (B, T) with a BOS first -> feats (B, T, d), pooled (B, d), mask (B, 1, T)."""
        ids = ids[:, : self.pos_emb.shape[0]]
        mask = padding_mask(ids, self.pad_id)  # (B, 1, T)
        x = self.tok_emb(ids) + self.pos_emb[: ids.shape[1]]  # (B, T, d)
        feats = self.stack(x, self_mask=mask)  # (B, T, d)
        weights = mask[:, 0, :, None].float()  # (B, T, 1)
        pooled = (feats * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # (B, d)
        return feats, pooled, mask


class TextDecoder(nn.Module):
    """Writes the control text of an image, one token at a time, from image memory tokens."""

    def __init__(self, cfg: AlpacaConfig, tok_emb: nn.Embedding, pad_id: int, eos_id: int):
        super().__init__()
        self.tok_emb = tok_emb
        self.pad_id, self.eos_id = pad_id, eos_id
        self.max_len = cfg.max_caption_len
        self.pos_emb = nn.Parameter(torch.zeros(cfg.max_caption_len, cfg.d_model))
        self.stack = Stack(cfg.dec_layers, cfg.d_model, cfg.n_heads, cross=True)
        nn.init.normal_(self.pos_emb, std=0.02)

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.tok_emb.weight.T  # (B, T, V), tied with the embedding

    def forward(
        self, mem: torch.Tensor, ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """mem (B, S, d), ids (B, T) = [BOS, lang, tokens..., EOS, pad...] -> logits, loss."""
        ids = ids[:, : self.max_len]
        x = self.tok_emb(ids[:, :-1]) + self.pos_emb[: ids.shape[1] - 1]  # (B, T-1, d)
        logits = self._logits(self.stack(x, mem, causal=True))  # (B, T-1, V)
        targets = ids[:, 1:].clone()
        targets[:, 0] = self.pad_id  # the language tag is given, not predicted
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.pad_id)
        return logits, loss

    @torch.no_grad()
    def generate(self, mem: torch.Tensor, prefix: torch.Tensor) -> list[list[int]]:
        """Greedy decoding with a KV cache. prefix (B, 2) = [BOS, lang] -> token ids per item."""
        b = mem.shape[0]
        caches: list[dict] = [{} for _ in self.stack.blocks]
        x = self.tok_emb(prefix) + self.pos_emb[: prefix.shape[1]]  # (B, 2, d)
        out = torch.full((b, self.max_len), self.pad_id, dtype=torch.long, device=mem.device)
        finished = torch.zeros(b, dtype=torch.bool, device=mem.device)
        pos = prefix.shape[1]
        for step in range(self.max_len - pos):
            h = self.stack(x, mem, causal=True, caches=caches)[:, -1:]  # (B, 1, d)
            nxt = self._logits(h)[:, 0].argmax(-1)  # (B,)
            nxt = torch.where(finished, torch.full_like(nxt, self.pad_id), nxt)
            out[:, step] = nxt
            finished |= nxt == self.eos_id
            if bool(finished.all()):
                break
            x = self.tok_emb(nxt[:, None]) + self.pos_emb[pos : pos + 1]  # (B, 1, d)
            pos += 1
        return [self._trim(row) for row in out.tolist()]

    def _trim(self, row: list[int]) -> list[int]:
        return row[: row.index(self.eos_id)] if self.eos_id in row else row
