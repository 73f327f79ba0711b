"""Decoding with the text decoder D: sampled copy under length limits, greedy control text.

Copy: one sequence headline <sep> subline <sep> cta <eos>; each item samples from its own
`torch.Generator` (so the seed, not the batch, decides its words); a piece that would take a
section past the format's character limit may not be chosen (English pieces are whole words, so
a section stops at a word boundary), counting a placeholder as the length of what will fill it,
and a section at its limit is closed (<sep> / <eos> forced). Control text: greedy over the
control words only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from alpaca_ads.domain.copywriter import format_limits

from .text import TextDecoder
from .tokenizer import BOS, EOS, FIRST_CONTROL, FIXED, OFFER, PRODUCT, SEP, CONTROL_WORDS


def limits_for(lang: str, size: str) -> tuple[int, int, int]:
    """(headline, subline, cta) character limits of the copy for a language and ad size."""
    limits = format_limits(lang, size)
    return limits["headline"], limits["subline"], limits["cta"]


def _step_mask(cost: torch.Tensor, section: int, length: int, limit: int) -> torch.Tensor:
    """Additive logit mask for one item's next token; cost: characters each token adds."""
    mask = torch.zeros(cost.shape[0])
    mask[: len(FIXED)] = float("-inf")
    mask[PRODUCT] = mask[OFFER] = 0.0
    too_long = cost > limit - length
    if length > 0 or not bool(too_long[len(FIXED):].all()):
        mask[too_long] = float("-inf")
    closer = SEP if section < 2 else EOS
    if length > 0:
        mask[closer] = 0.0
    return mask


@torch.no_grad()
def sample_copy(dec: TextDecoder, memory: torch.Tensor, pad: torch.Tensor,
                limits: Sequence[tuple[int, int, int]], fills: Sequence[tuple[int, int]],
                gens: Sequence[torch.Generator], max_len: int, piece_len: Sequence[int],
                temperature: float = 0.7) -> list[list[int]]:
    """Token ids (without <bos>) per item. limits: (headline, subline, cta) characters per item
    (`limits_for`); fills: (product length, offer length) per item; piece_len: characters of
    each vocabulary piece."""
    b = memory.shape[0]
    costs = []
    for product_len, offer_len in fills:
        cost = torch.tensor(piece_len, dtype=torch.long)
        cost[PRODUCT], cost[OFFER] = product_len, offer_len
        costs.append(cost)
    ids = torch.full((b, 1), BOS, dtype=torch.long)
    section, length = [0] * b, [0] * b
    done = [False] * b
    state = dec.start(memory, pad)
    for _ in range(max_len - 1):
        logits = dec.step(ids[:, -1], state) / temperature  # (B, V)
        nxt = torch.full((b,), EOS, dtype=torch.long)
        for i in range(b):
            if done[i]:
                continue
            limit = limits[i][section[i]]
            masked = logits[i] + _step_mask(costs[i], section[i], length[i], limit)
            tok = int(torch.multinomial(torch.softmax(masked, -1), 1, generator=gens[i]))
            nxt[i] = tok
            if tok in (SEP, EOS):
                section[i], length[i] = section[i] + 1, 0
                done[i] = tok == EOS
            else:
                length[i] += (fills[i][0] if tok == PRODUCT else fills[i][1] if tok == OFFER
                              else piece_len[tok])
        ids = torch.cat([ids, nxt[:, None]], 1)
        if all(done):
            break
    return [row[1:].tolist() for row in ids]


@torch.no_grad()
def greedy_control(dec: TextDecoder, memory: torch.Tensor, pad: torch.Tensor,
                   max_len: int = 40) -> list[list[int]]:
    """Control-text word ids per item (greedy, control words and <eos> only)."""
    b = memory.shape[0]
    allowed = torch.full((dec.out_bias.shape[0],), float("-inf"))
    allowed[FIRST_CONTROL: FIRST_CONTROL + len(CONTROL_WORDS)] = 0.0
    allowed[EOS] = 0.0
    ids = torch.full((b, 1), BOS, dtype=torch.long)
    done = torch.zeros(b, dtype=torch.bool)
    state = dec.start(memory, pad)
    for _ in range(max_len):
        nxt = (dec.step(ids[:, -1], state) + allowed).argmax(-1)  # (B,)
        nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
        ids = torch.cat([ids, nxt[:, None]], 1)
        done |= nxt == EOS
        if bool(done.all()):
            break
    return [row[1:].tolist() for row in ids]


def split_copy(ids: list[int]) -> list[list[int]]:
    """[headline ids, subline ids, cta ids] of a decoded copy sequence."""
    parts: list[list[int]] = [[]]
    for tok in ids:
        if tok == EOS:
            break
        if tok == SEP:
            parts.append([])
        else:
            parts[-1].append(tok)
    return (parts + [[], [], []])[:3]
