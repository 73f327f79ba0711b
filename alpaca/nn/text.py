"""The two text modules: the text encoder E (prompt -> token features + pooled vector) and the text
decoder D (image features -> control text, autoregressive, greedy with a KV cache).

They share one token embedding: E reads with it, and D both reads its own tokens with it and
scores the next token against it (weight tying, the seed's parameter sharing). Neither knows the
domain; the decoder sees an image only as memory tokens from `vision.ImageEncoder`.
"""

from __future__ import annotations

from typing import Any

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
    """Writes the control text of an image, one token at a time, from image memory tokens.

    The control text is a list of clauses separated by `sep_ids` (";"): the background, then
    one clause per object in grid-cell order. At each separator the decoder *points* at the
    memory token the next clause describes (a head scoring the tokens after the current one, so
    the pointer moves forward through the cells), and every token of that clause is written
    with the pointed token added to its input. Which cell a clause is about is therefore chosen
    once, explicitly, instead of being re-found by attention at every word.

    Attribute words of an object clause (`fact_words`: token, kind, fact index) are scored
    from the pointed cell's *facts* (vision.Reading) instead of the decoder state: the state
    says which kind of word comes next (a shape word in English, ...), the cell's facts say
    which value. The state never chooses a value, so it cannot carry "purple is never
    followed by circle" from the training captions into a held-out purple circle.

    Whether a clause is followed by another (a separator) or ends the text (EOS) also takes the
    cells' presence facts: + gain x the strongest presence logit among the cells after the
    pointed one on the separators, minus on EOS. Left to the state alone, the decision to stop
    was the captioner's commonest count error (the last object of the scene left unwritten).
    """

    def __init__(self, cfg: AlpacaConfig, tok_emb: nn.Embedding, pad_id: int, eos_id: int,
                 sep_ids: list[int], fact_words: list[tuple[int, int, int]] = (),
                 n_kinds: int = 1):
        super().__init__()
        d = cfg.d_model
        self.tok_emb = tok_emb
        self.pad_id, self.eos_id = pad_id, eos_id
        self.register_buffer("sep_ids", torch.tensor(sep_ids or [-1]), persistent=False)
        self.max_len = cfg.max_caption_len
        self.pos_emb = nn.Parameter(torch.zeros(cfg.max_caption_len, d))
        self.stack = Stack(cfg.dec_layers, d, cfg.n_heads, cross=True)
        self.point_in = nn.Linear(d, d)  # pointed memory token -> input embedding
        self.point_q, self.point_k = nn.Linear(d, d), nn.Linear(d, d)  # pointer scores
        self.copy = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d))  # pointed token -> words
        self.kind = nn.Linear(d, n_kinds)  # which kind of attribute word comes next
        self.ahead_gain = nn.Parameter(torch.tensor(1.0))  # presence ahead -> separator vs EOS
        go_on = torch.zeros(tok_emb.num_embeddings)
        go_on[[i for i in sep_ids if i >= 0]], go_on[eos_id] = 1.0, -1.0
        self.register_buffer("go_on", go_on, persistent=False)  # (V,) +separators, -EOS
        table = torch.tensor(list(fact_words), dtype=torch.long).view(-1, 3)
        for i, name in enumerate(("fact_tokens", "fact_kinds", "fact_index")):
            self.register_buffer(name, table[:, i].contiguous(), persistent=False)
        nn.init.normal_(self.pos_emb, std=0.02)

    def _logits(self, h: torch.Tensor, pointed: torch.Tensor | None = None,
                facts: torch.Tensor | None = None, ptr: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Next-token scores (B, T, V), tied with the embedding: the decoder state's, plus a
        direct path from the pointed memory token (B, T, d). With the pointed cell's `facts`
        (B, T, A) and the pointers (B, T), an object clause's attribute words score
        kind(state) + log p(value | facts): a softmax over them is the mixture "some other
        word, or a word of kind k with the cell's value"."""
        if pointed is not None:
            h = h + self.copy(pointed)
        logits = h @ self.tok_emb.weight.T
        if facts is None or ptr is None or self.fact_tokens.numel() == 0:
            return logits
        words = self.kind(h)[..., self.fact_kinds] + facts[..., self.fact_index]  # (B, T, M)
        in_object = (ptr > 0)[..., None]  # the background clause keeps the decoder's scores
        logits = logits.clone()
        logits[..., self.fact_tokens] = torch.where(in_object, words,
                                                    logits[..., self.fact_tokens])
        return logits

    def scores(self, h: torch.Tensor, mem: torch.Tensor, facts: torch.Tensor | None,
               ptr: torch.Tensor) -> torch.Tensor:
        """Next-token scores of states h (B, T, d) whose clauses point at ptr (B, T); facts
        (B, S, A + 1) as vision.Reading gives them (the last column: presence)."""
        pointed = self._pointed(mem, ptr)
        if facts is None:
            return self._logits(h, pointed)
        logits = self._logits(h, pointed, self._pointed(facts[..., :-1], ptr), ptr)
        ahead = _presence_ahead(facts[..., -1], ptr)[..., None]  # (B, T, 1)
        return logits + self.ahead_gain * ahead * self.go_on

    def _is_sep(self, ids: torch.Tensor) -> torch.Tensor:
        return (ids[..., None] == self.sep_ids).any(-1)

    @staticmethod
    def _pointed(mem: torch.Tensor, ptr: torch.Tensor) -> torch.Tensor:
        """mem (B, S, d), ptr (B, T) -> (B, T, d) the memory row each position points at."""
        return mem.gather(1, ptr[..., None].expand(-1, -1, mem.shape[-1]))

    def _embed(self, ids: torch.Tensor, ptr: torch.Tensor, mem: torch.Tensor, start: int
               ) -> torch.Tensor:
        """ids, ptr (B, T) -> (B, T, d) inputs: token + position + pointed memory token."""
        pos = self.pos_emb[start : start + ids.shape[1]]
        return self.tok_emb(ids) + pos + self.point_in(self._pointed(mem, ptr))

    def _point_logits(self, h: torch.Tensor, mem: torch.Tensor, ptr: torch.Tensor) -> torch.Tensor:
        """h (B, T, d), current pointers (B, T) -> (B, T, S) scores of the next clause's token;
        only tokens after the current one are allowed."""
        scores = self.point_q(h) @ self.point_k(mem).transpose(1, 2)  # (B, T, S)
        idx = torch.arange(mem.shape[1], device=mem.device)
        return scores.masked_fill(idx <= ptr[..., None], float("-inf"))

    def pointers(self, ids: torch.Tensor, occupied: torch.Tensor) -> torch.Tensor:
        """(B, T) memory index each token's clause describes: 0 (global) for the background
        clause, then 1 + the k-th occupied cell (raster order) for clause k."""
        b, c = occupied.shape
        cells = torch.arange(c, device=ids.device).expand(b, c)
        order = torch.where(occupied, cells, cells + c).argsort(1)  # occupied cells first
        table = torch.cat([torch.zeros(b, 1, dtype=torch.long, device=ids.device), 1 + order], 1)
        clause = self._is_sep(ids).long().cumsum(1).clamp(max=c)  # a separator opens a clause
        return table.gather(1, clause)

    def forward(self, mem: torch.Tensor, ids: torch.Tensor, occupied: torch.Tensor,
                facts: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """mem (B, S, d), ids (B, T) = [BOS, lang, tokens..., EOS, pad...], occupied (B, S-1)
        bool cells of the scene, facts (B, S, A) -> logits (B, T-1, V), loss (token + pointer
        cross-entropy)."""
        ids = ids[:, : self.max_len]
        ptr = self.pointers(ids, occupied)  # (B, T)
        h = self.stack(self._embed(ids[:, :-1], ptr[:, :-1], mem, 0), mem, causal=True)
        logits = self.scores(h, mem, facts, ptr[:, :-1])  # (B, T-1, V)
        targets = ids[:, 1:].clone()
        targets[:, 0] = self.pad_id  # the language tag is given, not predicted
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.pad_id)
        at_sep = self._is_sep(ids[:, 1:])  # (B, T-1): the next token opens a clause
        if at_sep.any():
            point = self._point_logits(h, mem, ptr[:, :-1])[at_sep]  # (N, S)
            loss = loss + F.cross_entropy(point, ptr[:, 1:][at_sep])
        return logits, loss

    @torch.no_grad()
    def generate(self, mem: torch.Tensor, prefix: torch.Tensor, grammar: Any = None,
                 facts: torch.Tensor | None = None) -> list[list[int]]:
        """Greedy decoding with a KV cache. prefix (B, 2) = [BOS, lang] -> token ids per item.
        `grammar` (a caption_grammar.CaptionAutomaton) restricts each step to the tokens it
        allows; `facts` (B, S, A) score the attribute words (see `_logits`)."""
        b, last = mem.shape[0], mem.shape[1] - 1
        caches: list[dict] = [{} for _ in self.stack.blocks]
        ptr = torch.zeros(b, 1, dtype=torch.long, device=mem.device)
        x = self._embed(prefix, ptr.expand(-1, prefix.shape[1]), mem, 0)  # (B, 2, d)
        out = torch.full((b, self.max_len), self.pad_id, dtype=torch.long, device=mem.device)
        finished = torch.zeros(b, dtype=torch.bool, device=mem.device)
        pos = prefix.shape[1]
        cursor = grammar.begin(prefix) if grammar is not None else None
        for step in range(self.max_len - pos):
            h = self.stack(x, mem, causal=True, caches=caches)[:, -1:]  # (B, 1, d)
            logits = self.scores(h, mem, facts, ptr)[:, 0]  # (B, V)
            nxt = (cursor.restrict(logits) if cursor else logits).argmax(-1)  # (B,)
            nxt = torch.where(finished, torch.full_like(nxt, self.pad_id), nxt)
            if cursor:
                cursor.advance(nxt)
            out[:, step] = nxt
            finished |= nxt == self.eos_id
            if bool(finished.all()):
                break
            moved = self._point_logits(h, mem, ptr).argmax(-1)  # (B, 1)
            ptr = torch.where(self._is_sep(nxt)[:, None] & (ptr < last), moved, ptr)
            if cursor and bool(self._is_sep(nxt).any()):
                cursor.pin(ptr[:, 0])
            x = self._embed(nxt[:, None], ptr, mem, pos)  # (B, 1, d)
            pos += 1
        return [self._trim(row) for row in out.tolist()]

    def _trim(self, row: list[int]) -> list[int]:
        return row[: row.index(self.eos_id)] if self.eos_id in row else row


def _presence_ahead(presence: torch.Tensor, ptr: torch.Tensor) -> torch.Tensor:
    """presence (B, S) logits, ptr (B, T) -> (B, T) the strongest presence logit among the
    memory rows after each pointer, in [-10, 10] (-10 when none is left)."""
    idx = torch.arange(presence.shape[1], device=presence.device)
    after = presence[:, None, :].masked_fill(idx <= ptr[..., None], -10.0)  # (B, T, S)
    return after.amax(-1).clamp(-10.0, 10.0)
