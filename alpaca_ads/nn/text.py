"""Text encoder E (brief -> tags, heads, memory) and text decoder D (copy and control text).

E is two residual 1-D convolutions (local character n-grams) then a small pre-norm transformer
over the brief's characters with a leading summary token.
Per character it tags the product / offer / colour / size spans (BIO) and says whether the
character belongs to something it can place; from the summary token it classifies language,
tone, size class, offer kind, percent off (0..99), whether an amount's first number is the
money off or the threshold, whether there is a threshold, up_to and "understood". Amounts are
copied from the digits of the offer span the tagger found.

D is one causal transformer decoder used twice: (a) copy (headline <sep> subline <sep> cta
<eos>, with <product>/<offer> placeholders), attending over E's memory plus language, tone, size
and style tokens; (b) control text (word tokens), attending over the reader's element features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from alpaca_ads.domain.copywriter import VARIANTS
from alpaca_ads.domain.spec import OFFER_KINDS

from .attention import CachedDecoder
from .config import SIZE_CLASSES, TAGS, AdsConfig
from .tokenizer import PAD

N_STYLES = VARIANTS  # seed-chosen copy styles: the copywriter's headline variants


def head_sizes(cfg: AdsConfig) -> dict[str, int]:
    """Sequence heads of the encoder and their class counts."""
    return {"language": 2, "tone": len(cfg.tones), "size": len(SIZE_CLASSES),
            "offer_kind": len(OFFER_KINDS), "percent": 100, "amount_order": 2,
            "has_threshold": 2, "up_to": 2, "understood": 2}


def _layer(d: int, heads: int) -> nn.Module:
    return nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True,
                                      norm_first=True)


class TextEncoder(nn.Module):
    """E: brief characters -> memory, tag logits, placeable logits, head logits."""

    def __init__(self, cfg: AdsConfig, vocab_size: int):
        super().__init__()
        d = cfg.d_model
        self.emb = nn.Embedding(vocab_size, d, padding_idx=PAD)
        self.pos = nn.Parameter(torch.randn(cfg.max_brief + 1, d) * 0.02)
        self.cls = nn.Parameter(torch.randn(d) * 0.02)
        # local character n-gram features (words, numbers like 300x250) before attention
        self.convs = nn.ModuleList([nn.Conv1d(d, d, 5, padding=2),
                                    nn.Conv1d(d, d, 5, padding=4, dilation=2)])
        self.layers = nn.TransformerEncoder(_layer(d, cfg.heads), cfg.enc_layers,
                                            enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.tag = nn.Linear(d, len(TAGS))
        self.placeable = nn.Linear(d, 1)
        self.colour = nn.Linear(d, len(cfg.colour_names))  # a named colour span's colour
        self.heads = nn.ModuleDict({k: nn.Linear(d, n) for k, n in head_sizes(cfg).items()})

    def forward(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        b, t = ids.shape  # ids: (B, T)
        chars = self.emb(ids).transpose(1, 2)  # (B, d, T)
        for conv in self.convs:
            chars = chars + F.gelu(conv(chars))
        x = torch.cat([self.cls.expand(b, 1, -1), chars.transpose(1, 2)], 1) + self.pos[: t + 1]
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=ids.device), ids == PAD], 1)
        h = self.norm(self.layers(x, src_key_padding_mask=pad))  # (B, T+1, d)
        chars, summary = h[:, 1:], h[:, 0]
        out = {"memory": h, "memory_pad": pad, "tags": self.tag(chars),  # (B, T, n_tags)
               "placeable": self.placeable(chars).squeeze(-1)}  # (B, T)
        out.update({k: head(summary) for k, head in self.heads.items()})  # (B, n_k)
        return out

    def span_colour(self, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Named-colour logits of the characters in `mask` (B, T) from their mean memory."""
        return self.colour(self.span_mean(memory, mask))  # (B, n_colours)

    @staticmethod
    def span_mean(memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The mean memory (B, d) of the characters in `mask` (B, T)."""
        chars = memory[:, 1:]  # (B, T, d)
        w = mask.float().unsqueeze(-1)
        return (chars * w).sum(1) / w.sum(1).clamp(min=1.0)


class TextDecoder(nn.Module):
    """D: a causal decoder over token ids with cross-attention to a memory; output tied to the
    input embedding."""

    def __init__(self, cfg: AdsConfig, vocab_size: int, n_tones: int):
        super().__init__()
        d = cfg.d_model
        self.emb = nn.Embedding(vocab_size, d, padding_idx=PAD)
        self.pos = nn.Parameter(torch.randn(cfg.max_text, d) * 0.02)
        self.lang = nn.Embedding(2, d)
        self.tone = nn.Embedding(n_tones, d)
        self.style = nn.Embedding(N_STYLES, d)
        self.task = nn.Embedding(2, d)  # 0 = copy, 1 = control text
        self.size = nn.Embedding(len(SIZE_CLASSES), d)
        self.layers = CachedDecoder(d, cfg.heads, cfg.dec_layers)
        self.norm = nn.LayerNorm(d)
        self.out_bias = nn.Parameter(torch.zeros(vocab_size))
        self.scale = d ** -0.5

    def copy_memory(self, memory: torch.Tensor, pad: torch.Tensor, lang: torch.Tensor,
                    tone: torch.Tensor, style: torch.Tensor,
                    size: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """E's memory (B, M, d) with language, tone, style, size and task tokens in front."""
        cond = torch.stack([self.lang(lang), self.tone(tone), self.style(style), self.size(size),
                            self.task(torch.zeros_like(lang))], 1)  # (B, 5, d)
        cpad = torch.zeros(cond.shape[:2], dtype=torch.bool, device=pad.device)
        return torch.cat([cond, memory], 1), torch.cat([cpad, pad], 1)

    def control_memory(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The reader's features (B, M, d) with the control-text task token in front."""
        b = feats.shape[0]
        task = self.task(torch.ones(b, 1, dtype=torch.long, device=feats.device))
        mem = torch.cat([task, feats], 1)
        return mem, torch.zeros(mem.shape[:2], dtype=torch.bool, device=feats.device)

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.norm(h) @ self.emb.weight.T * self.scale + self.out_bias  # (B, L, V)

    def forward(self, ids: torch.Tensor, memory: torch.Tensor,
                memory_pad: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, L, V) of ids (B, L) starting with <bos>."""
        mem, mask = self.layers.memory_kv(memory, memory_pad)
        x = self.emb(ids) + self.pos[: ids.shape[1]]
        return self._logits(self.layers(x, mem, mask))

    def start(self, memory: torch.Tensor, memory_pad: torch.Tensor) -> dict:
        """Decoding state over a memory (its keys and values projected once)."""
        mem, mask = self.layers.memory_kv(memory, memory_pad)
        return {"mem": mem, "mask": mask, "cache": [{} for _ in self.layers.layers], "t": 0}

    def step(self, tok: torch.Tensor, state: dict) -> torch.Tensor:
        """Logits (B, V) of the token after `tok` (B,), the state's cache grown by one."""
        x = self.emb(tok[:, None]) + self.pos[state["t"]]
        state["t"] += 1
        return self._logits(self.layers(x, state["mem"], state["mask"], state["cache"]))[:, 0]


def styles_for(seeds: Sequence[int]) -> list[int]:
    """The copy style each seed chooses."""
    return [int(s) % N_STYLES for s in seeds]
