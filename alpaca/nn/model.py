"""The Alpaca model: the four modules wired together, plus the tokenizer they share.

- E `text_encoder`: prompt -> token features (tied token embedding with D).
- G `layout` + `painter` + `background`: text features + seed -> layout -> pixels.
- D `vision` + `text_decoder`: image -> control text (greedy, KV cache).
- I `interactor`: (image, prompt, control text) -> refined layout -> pixels (shared painter).

This module holds the networks and the small conversions between text, tensors and images.
It knows nothing of the multi-round loop: `generate` runs the engine that the loader attached
(alpaca/engine.py); training lives in alpaca/training/, files in alpaca/checkpoint.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .caption_grammar import CaptionAutomaton, fact_words
from .config import AlpacaConfig
from .generator import N_UNIFORMS, LayoutDecoder
from .interactor import Interactor
from .layout import AttrEmbed, Layout
from .painter import BackgroundPainter, Painter, centres, paste, sprite_frac
from .text import TextDecoder, TextEncoder
from .tokenizer import LANG_TOKENS, Tokenizer, is_cjk
from .vision import FACT_FIELDS, ImageEncoder

TextFeatures = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
# feats (B, T, d), mask (B, 1, T), raw token embeddings (B, T, d); the interactor uses the first two


def prompt_lang(prompt: str) -> str:
    """The control text's language: Chinese for prompts with CJK characters, else English."""
    return "zh" if is_cjk(prompt) else "en"


class Alpaca(nn.Module):
    def __init__(self, cfg: AlpacaConfig, tokenizer: Tokenizer):
        super().__init__()
        if cfg.vocab_size != len(tokenizer):
            raise ValueError(f"config vocab_size {cfg.vocab_size} != tokenizer {len(tokenizer)}")
        self.cfg, self.tokenizer = cfg, tokenizer
        self.name, self.version, self.meta = cfg.name, "untrained", {}
        self.compute_dtype: torch.dtype | None = None  # inference autocast precision
        self.engine: Any = None  # what runs `generate` (alpaca.engine.Engine, attached on load)
        self.constrain_captions = True  # D writes only what the caption grammar allows
        self._caption_grammar = None  # built on first use (caption_grammar.py)
        tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        nn.init.normal_(tok_emb.weight, std=0.02)
        self.text_encoder = TextEncoder(cfg, tok_emb, tokenizer.pad_id)
        seps = [tokenizer.index[t] for t in (";", "；") if t in tokenizer.index]
        fields = dict(shape=cfg.shapes, colour=cfg.colours, size=cfg.sizes, style=cfg.styles)
        self.text_decoder = TextDecoder(cfg, tok_emb, tokenizer.pad_id, tokenizer.eos_id, seps,
                                        fact_words(tokenizer, fields),
                                        len(FACT_FIELDS) * len(LANG_TOKENS))
        self.vision = ImageEncoder(cfg)
        self.layout = LayoutDecoder(cfg, AttrEmbed(cfg))
        self.painter = Painter(cfg)
        self.background = BackgroundPainter(cfg.image_size)
        self.interactor = Interactor(cfg)
        palette = torch.tensor(cfg.palette, dtype=torch.float32) / 255.0
        self.register_buffer("palette", palette, persistent=False)  # (P, 3)

    @property
    def device(self) -> torch.device:
        return self.palette.device

    # -- text ------------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str], fixed: bool = False) -> torch.Tensor:
        """(B, T) ids, BOS first, right-padded (to max_prompt_len if `fixed`, so an item's
        features never depend on its batch), cut at max_prompt_len."""
        limit = self.cfg.max_prompt_len
        rows = [[self.tokenizer.bos_id, *self.tokenizer.encode(t)][:limit] for t in texts]
        width = limit if fixed else max(map(len, rows))
        out = torch.full((len(rows), width), self.tokenizer.pad_id, dtype=torch.long)
        for i, row in enumerate(rows):
            out[i, : len(row)] = torch.tensor(row)
        return out.to(self.device)

    def caption_ids(self, captions: Sequence[str], langs: Sequence[str]) -> torch.Tensor:
        """(B, T) captioner targets: [BOS, lang, tokens..., EOS], right-padded."""
        tk, limit = self.tokenizer, self.cfg.max_caption_len
        rows = [[tk.bos_id, tk.lang_id(lang), *tk.encode(c)][: limit - 1] + [tk.eos_id]
                for c, lang in zip(captions, langs, strict=True)]
        out = torch.full((len(rows), max(map(len, rows))), tk.pad_id, dtype=torch.long)
        for i, row in enumerate(rows):
            out[i, : len(row)] = torch.tensor(row)
        return out.to(self.device)

    def encode_text(self, texts: Sequence[str], fixed: bool = True, chunk: int = 0
                    ) -> TextFeatures:
        """Token features, mask and raw token embeddings. `fixed` pads to max_prompt_len
        (inference: batch-invariant); `chunk` > 0 encodes texts of similar length together
        (training: less padding)."""
        ids = self.tokenize(texts, fixed)
        raw = self.text_encoder.tok_emb(ids)  # (B, T, d)
        if fixed or chunk <= 0 or len(texts) <= chunk:
            feats, _, mask = self.text_encoder(ids)
            return feats, mask, raw
        lengths = (ids != self.tokenizer.pad_id).sum(1)
        order = lengths.argsort()
        feats = torch.zeros(*ids.shape, self.cfg.d_model, device=ids.device)  # (B, T, d)
        for lo in range(0, len(texts), chunk):
            idx = order[lo : lo + chunk]
            width = int(lengths[idx].max())
            feats[idx, :width] = self.text_encoder(ids[idx, :width])[0]
        return feats, (ids != self.tokenizer.pad_id)[:, None, :], raw

    # -- images ----------------------------------------------------------------------------
    def to_float(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1] on the model's device."""
        t = torch.as_tensor(np.ascontiguousarray(images)).to(self.device)
        return t.permute(0, 3, 1, 2).float() / 255.0

    @staticmethod
    def to_uint8(images: torch.Tensor) -> np.ndarray:
        """float (B, 3, H, W) in [0, 1] -> uint8 (B, H, W, 3) on the CPU."""
        x = (images.float().clamp(0, 1) * 255).round().to(torch.uint8)
        return x.permute(0, 2, 3, 1).cpu().numpy()

    def sprite_logits(self, layout: Layout) -> torch.Tensor:
        """(N, S, S) ink logits of the present slots, in (b, k) order."""
        present = layout.present.nonzero(as_tuple=True)
        centre = centres(layout, self.cfg.grid, self.cfg.image_size)[present]  # (N, 2)
        return self.painter(layout.shape[present], layout.size[present],
                            layout.style[present], sprite_frac(centre))

    def compose(self, layout: Layout, logits: torch.Tensor | None = None) -> torch.Tensor:
        """Paint a layout: background, then each present slot's sprite in slot order.
        `logits` reuses sprites already painted. -> (B, 3, H, W) float in [0, 1]."""
        pal, size = self.palette, self.cfg.image_size
        w = (self.background() > 0).to(pal.dtype)[None, None]  # (1, 1, H, W)
        grad = torch.where(layout.grad < len(pal), layout.grad, layout.bg).clamp(max=len(pal) - 1)
        canvas = pal[layout.bg][..., None, None] * (1 - w) + pal[grad][..., None, None] * w
        present = layout.present.nonzero(as_tuple=True)  # (b, k) index pairs
        if present[0].numel() == 0:
            return canvas
        logits = self.sprite_logits(layout) if logits is None else logits  # (N, S, S)
        centre = centres(layout, self.cfg.grid, size)[present]
        ink = paste((logits > 0).to(canvas.dtype), centre, size)  # (N, H, W)
        alpha = canvas.new_zeros(*layout.present.shape, size, size)  # (B, K, H, W)
        alpha[present] = ink
        colours = pal[layout.colour]  # (B, K, 3)
        for k in range(layout.present.shape[1]):
            a = alpha[:, k, None]  # (B, 1, H, W)
            canvas = canvas * (1 - a) + colours[:, k, :, None, None] * a
        return canvas

    # -- the modules at inference -----------------------------------------------------------
    def read(self, images: np.ndarray, langs: Sequence[str]) -> list[str]:
        """D: uint8 images (B, H, W, 3) -> control texts, each in its language."""
        mem, facts = self.vision.read(self.to_float(images))
        prefix = torch.tensor([[self.tokenizer.bos_id, self.tokenizer.lang_id(lang)]
                               for lang in langs], device=self.device)
        decoded = self.text_decoder.generate(mem, prefix, self.caption_grammar(), facts)
        return [self.tokenizer.decode(ids) for ids in decoded]

    def caption_grammar(self) -> Any:
        """The control-text grammar as a token automaton (caption_grammar.py), built once per
        model; None when `constrain_captions` is off."""
        if not self.constrain_captions:
            return None
        if self._caption_grammar is None:

            self._caption_grammar = CaptionAutomaton(self.tokenizer)
        return self._caption_grammar

    def first_draft(self, prompt: TextFeatures, generators: Sequence[torch.Generator],
                    temperature: float | None = None, cache: bool = False) -> Layout:
        """G's layout for each prompt; item i draws its randomness from generators[i] only.
        `temperature` defaults to the config's; `cache`: keep the layout decoder's keys/values
        across positions (same decisions)."""
        k = self.cfg.max_objects
        u = torch.stack([torch.rand(k + 1, N_UNIFORMS, generator=g) for g in generators])
        z = torch.stack([torch.randn(k, 2, generator=g) for g in generators])
        temperature = self.cfg.sample_temperature if temperature is None else temperature
        return self.layout.sample(prompt, u.to(self.device), z.to(self.device), temperature,
                                  cache=cache)

    def refine(self, images: np.ndarray, prompt: TextFeatures, control_texts: Sequence[str]
               ) -> Layout:
        """I: the refined layout of each image given its prompt and control text."""
        mem = self.vision(self.to_float(images))
        out = self.interactor(mem, prompt, self.encode_text(control_texts))
        return self.interactor.decide(out)

    def generate(self, prompts: Sequence[str], seeds: Sequence[int], rounds: int = 3,
                 early_exit: bool = True) -> Iterator:
        """The multi-round loop run by the attached engine (alpaca/engine.py): yields one `Step`
        per round."""
        if self.engine is None:
            raise ValueError("this model has no engine: attach one with alpaca.engine.prepare")
        return self.engine.generate(self, prompts, seeds, rounds=rounds, early_exit=early_exit)
