"""Decoding with the text decoder D: sampled copy under length limits, greedy control text.

Copy: one sequence headline <sep> subline <sep> cta <eos>; each item samples from its own
`torch.Generator` (so the seed, not the batch, decides its words); a section that reaches its
length limit is closed (<sep> / <eos> forced), counting a placeholder as the length of what will
fill it. Control text: greedy over the control words only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .text import TextDecoder
from .tokenizer import BOS, EOS, FIRST_CONTROL, FIXED, OFFER, PRODUCT, SEP, CONTROL_WORDS

LIMITS = {"en": (30, 90, 15), "zh": (14, 40, 6)}  # headline, subline, cta characters


def _step_mask(vocab: int, section: int, length: int, limit: int) -> torch.Tensor:
    """Additive logit mask for one item's next token."""
    mask = torch.zeros(vocab)
    mask[: len(FIXED)] = float("-inf")
    mask[PRODUCT] = mask[OFFER] = 0.0
    closer = SEP if section < 2 else EOS
    if length > 0:
        mask[closer] = 0.0
    if length >= limit:
        mask[:] = float("-inf")
        mask[closer] = 0.0
    return mask


@torch.no_grad()
def sample_copy(dec: TextDecoder, memory: torch.Tensor, pad: torch.Tensor,
                langs: Sequence[str], fills: Sequence[tuple[int, int]],
                gens: Sequence[torch.Generator], max_len: int, piece_len: Sequence[int],
                temperature: float = 0.7) -> list[list[int]]:
    """Token ids (without <bos>) per item. fills: (product length, offer length) per item;
    piece_len: characters of each vocabulary piece."""
    b = memory.shape[0]
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
            limit = LIMITS[langs[i]][section[i]]
            masked = logits[i] + _step_mask(logits.shape[1], section[i], length[i], limit)
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
