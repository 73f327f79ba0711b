"""Decoding with the text decoder D: sampled copy under length limits, greedy control text.

Copy: one sequence headline <sep> subline <sep> cta <eos>; each item samples from its own
`torch.Generator` (so the seed, not the batch, decides its words). Constraints, not choices: a
piece that would take a section past the format's character limit may not be chosen (English
pieces are whole words, so a section stops at a word boundary), counting a placeholder as the
length of what will fill it; pieces in the other language's script are never chosen; the
<product> and <offer> placeholders are used at most once, and the subline cannot close (nor
spend their room) while one the brief gives is still unused, so the copy names the product and
states the offer exactly once; no punctuation opens a section or follows punctuation, and no
piece comes a third time in a row. Control text: greedy over the control words only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from alpaca_ads.domain.copywriter import format_limits

from .text import TextDecoder
from .tokenizer import BOS, EOS, FIRST_CONTROL, FIXED, OFFER, PRODUCT, SEP, CONTROL_WORDS


# The headline's sampling temperature: the seed's style picks the headline's variant (the
# copywriter's `variant_order`), so the headline needs no sampling heat for variety; colder, it
# strays less into junk ('Exceptional New won't.').
HEADLINE_TEMPERATURE = 0.3


def limits_for(lang: str, size: str) -> tuple[int, int, int]:
    """(headline, subline, cta) character limits of the copy for a language and ad size."""
    limits = format_limits(lang, size)
    return limits["headline"], limits["subline"], limits["cta"]


def script_mask(pieces: Sequence[str], lang: str) -> torch.Tensor:
    """Additive mask of the pieces written in the other language's script: Chinese characters
    (and full-width punctuation) in English copy, Latin letters in Chinese copy."""
    other = re.compile(r"[\u3000-\u9fff\uff00-\uffef]" if lang == "en" else r"[A-Za-z]")
    return torch.tensor([float("-inf") if other.search(p) else 0.0 for p in pieces])


def punctuation_mask(pieces: Sequence[str]) -> torch.Tensor:
    """(V,) bool: the pieces made of punctuation only (spaces aside)."""
    return torch.tensor([bool(p.strip()) and all(unicodedata.category(c).startswith("P")
                                                 for c in p.strip()) for p in pieces])


@dataclass
class _Draft:
    """One item's copy while it is sampled."""

    cost: torch.Tensor  # (V,) characters each token adds (placeholders: what fills them)
    base: torch.Tensor  # (V,) additive mask that never changes (specials, the other script)
    limits: tuple[int, int, int]
    pending: set[int]  # placeholders (PRODUCT, OFFER) the copy has yet to use
    punct: torch.Tensor  # (V,) bool: pieces that are punctuation only
    section: int = 0
    length: int = 0
    done: bool = False
    recent: tuple[int, ...] = ()  # the section's last two tokens

    def _room(self) -> tuple[int, torch.Tensor, bool]:
        """(characters left in the section, (V,) bool of the pieces too long for them, whether
        the section may close now)."""
        room = self.limits[self.section] - self.length
        last_chance = self.section == 1 and self.pending
        reserve = sum(int(self.cost[p]) for p in self.pending) if last_chance else 0
        too_long = self.cost > room - (reserve if reserve <= room else 0)
        may_close = self.length > 0 and not (last_chance and reserve <= room)
        return room, too_long, may_close

    @property
    def _close(self) -> int:
        return SEP if self.section < 2 else EOS

    def next_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """D's logits for the next token as sampled: redirected (`redirect_close`) and masked
        (`mask`), the room left measured once."""
        room = self._room()
        return self._redirect(logits, room) + self._mask(room)

    def mask(self) -> torch.Tensor:
        """Additive logit mask for the next token (see the module docstring)."""
        return self._mask(self._room())

    def redirect_close(self, logits: torch.Tensor) -> torch.Tensor:
        """D's wish for a piece too long for the room left goes to closing the section: spread
        over the short pieces that remain, it had headlines end in fragments ('Consoles for
        you: r r r', 'Sunglasses: ce special. Ends c'; 35 of 973 round-0 headlines of the
        held-out and unseen briefs). Where the subline may not close while a placeholder is
        pending, that wish and D's wish to close go to the pending placeholder instead: spread
        over the words that remain, it had the subline ramble on to its limit ('You've earned
        it. More treat yourself.') or break off mid-phrase ('Quality you can countVitamin C')."""
        return self._redirect(logits, self._room())

    def _mask(self, room_left: tuple[int, torch.Tensor, bool]) -> torch.Tensor:
        room, too_long, may_close = room_left
        mask = self.base.clone()
        if self.length > 0 or not bool((too_long | torch.isinf(mask))[len(FIXED):].all()):
            mask[too_long] = float("-inf")
        for p in self.pending:
            mask[p] = 0.0 if int(self.cost[p]) <= room else float("-inf")
        if may_close:
            mask[self._close] = 0.0
        return self._no_stutter(mask)

    def _redirect(self, logits: torch.Tensor,
                  room_left: tuple[int, torch.Tensor, bool]) -> torch.Tensor:
        _, too_long, may_close = room_left
        wanted = too_long & torch.isfinite(self.base)
        for p in self.pending:  # a product or offer that no longer fits
            wanted[p] = bool(too_long[p])
        wishes = [torch.logsumexp(logits[wanted], 0)] if bool(wanted.any()) else []
        out = logits.clone()
        if self.section == 1 and self.pending and self.length > 0:
            for p in self.pending:
                if not too_long[p]:
                    out[p] = torch.logsumexp(torch.stack([logits[p], logits[SEP], *wishes]), 0)
        elif may_close and wishes:
            out[self._close] = torch.logaddexp(logits[self._close], wishes[0])
        return out

    def _no_stutter(self, mask: torch.Tensor) -> torch.Tensor:
        """No punctuation at a section's start or after punctuation ('：：'), and no piece a
        third time in a row ('真真真'), where anything else is left to choose."""
        banned = self.punct.clone() if not self.recent or bool(self.punct[self.recent[-1]]) \
            else torch.zeros_like(self.punct)
        if len(self.recent) == 2 and self.recent[0] == self.recent[1]:
            banned[self.recent[-1]] = True
        kept = mask.masked_fill(banned, float("-inf"))
        return kept if bool(torch.isfinite(kept).any()) else mask

    def take(self, tok: int) -> None:
        if tok in (SEP, EOS):
            self.section, self.length, self.done = self.section + 1, 0, tok == EOS
            self.recent = ()
        else:
            self.length += int(self.cost[tok])
            self.pending.discard(tok)
            self.recent = (*self.recent[-1:], tok)


def _drafts(pieces: Sequence[str], langs: Sequence[str], limits: Sequence[tuple[int, int, int]],
            fills: Sequence[tuple[int, int]]) -> list[_Draft]:
    base = {lang: script_mask(pieces, lang) for lang in set(langs)}
    lengths = torch.tensor([len(p) for p in pieces], dtype=torch.long)
    punct = punctuation_mask(pieces)
    out = []
    for lang, limit, (product_len, offer_len) in zip(langs, limits, fills, strict=True):
        cost = lengths.clone()
        cost[PRODUCT], cost[OFFER] = product_len, offer_len
        fixed = base[lang].clone()
        fixed[: len(FIXED)] = float("-inf")
        pending = {t for t, n in ((PRODUCT, product_len), (OFFER, offer_len)) if n > 0}
        out.append(_Draft(cost, fixed, limit, pending, punct))
    return out


@torch.no_grad()
def sample_copy(dec: TextDecoder, memory: torch.Tensor, pad: torch.Tensor, langs: Sequence[str],
                limits: Sequence[tuple[int, int, int]], fills: Sequence[tuple[int, int]],
                gens: Sequence[torch.Generator], max_len: int, pieces: Sequence[str],
                temperature: float = 0.7,
                headline_temperature: float = HEADLINE_TEMPERATURE) -> list[list[int]]:
    """Token ids (without <bos>) per item, the headline sampled at `headline_temperature`, the
    rest at `temperature`. limits: (headline, subline, cta) characters per item
    (`limits_for`); fills: (product length, offer length) per item (0: nothing to state);
    pieces: the text of each vocabulary id."""
    b = memory.shape[0]
    drafts = _drafts(pieces, langs, limits, fills)
    ids = torch.full((b, 1), BOS, dtype=torch.long)
    state = dec.start(memory, pad)
    for _ in range(max_len - 1):
        logits = dec.step(ids[:, -1], state)  # (B, V)
        nxt = torch.full((b,), EOS, dtype=torch.long)
        for i, draft in enumerate(drafts):
            if draft.done:
                continue
            warmth = headline_temperature if draft.section == 0 else temperature
            probs = torch.softmax(draft.next_logits(logits[i] / warmth), -1)
            nxt[i] = tok = int(torch.multinomial(probs, 1, generator=gens[i]))
            draft.take(tok)
        ids = torch.cat([ids, nxt[:, None]], 1)
        if all(d.done for d in drafts):
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
