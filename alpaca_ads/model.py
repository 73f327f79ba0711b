"""AdsModel: the networks of Alpaca Ads and the steps the loop is made of.

The loop (loop.py) calls, per batch: `understand` (E: tags and heads -> what the brief asks,
or a refusal; the product word placed by `products.ProductPlacer`), `write_copy` (D samples
the copy with placeholders, filled with the product span and the exact offer),
`first_designs` (G: layout and colours among palette candidates, icon by the learned
text-to-icon match), `paint_and_render` (the painter's low-res background, the domain renderer
for text and icons), `read` (reader + D: the control text) and `refine` (I: the revised
design). Every item has its own `torch.Generator`; briefs are padded to a fixed length, so an
item's output does not depend on what else is in its batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from alpaca_ads.domain import legibility
from alpaca_ads.domain.checks import layout_issues
from alpaca_ads.domain.spec import SIZES, Copy, Design

from .loop import generate_steps
from .nn import colour_reading, palette
from .nn.codec import parse_control
from .nn.config import SIZE_CLASSES, AdsConfig
from .nn.decode import greedy_control, limits_for, sample_copy, split_copy
from .nn.designs import current_inputs, layout_features, reader_inputs, to_design
from .nn.icon import IconMatcher
from .nn.layout import DesignNet
from .nn.painter import Painter
from .nn.reader import Reader
from .nn.text import TextDecoder, TextEncoder
from .nn.tokenizer import OFFER, PAD, PRODUCT, CharTokenizer, PieceVocab
from .nn.understand import Understood, read_colour, understand_one
from .products import ProductPlacer

DANGLING = " ,:;，：；、"  # what a line of copy may not end on ('Flower Bouquets:', 'Hello Toys,')
SENTENCE_JOIN = re.compile(r"([.!?])(?=[A-Za-z$])")  # 'place.Buy One': a sentence, then a fill


def spaced_sentences(text: str, limit: int) -> str:
    """English copy with a space after each sentence that runs into the next word or fill
    ('all in one place.Buy One Get One Free'), where the copy's limit leaves room for them."""
    spaced = SENTENCE_JOIN.sub(r"\1 ", text)
    return spaced if len(spaced) <= limit else text


EVENT_LEAD = re.compile(r"(?:^|(?<=[.!?] ))([A-Za-z][\w' \-]{0,30}?) special\.\s*")


def without_unasked_events(text: str, brief: str) -> str:
    """English copy less each 'X special.' (the copywriter's event lead) whose X the brief does
    not name: the decoder wrote 'rs Day special.' for a mid-year sale and 'Spring sale
    special.' for a summer one (an event made up is a silent wrong result)."""
    asked = brief.lower()
    return EVENT_LEAD.sub(lambda m: m.group(0) if m.group(1).lower() in asked else "", text).strip()


OVERRIDES = ("size", "brand_colors", "language", "headline", "subline", "cta")


def parse_item(item: str) -> tuple[str, dict[str, Any]]:
    """(brief, overrides) of a job item: a plain brief or a JSON object string."""
    text = item.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return text, {}
        if isinstance(data, dict) and isinstance(data.get("brief"), str):
            return data["brief"], {k: data[k] for k in OVERRIDES if data.get(k) is not None}
    return text, {}


class AdsModel(nn.Module):
    """All networks of the ads model plus its tokenizer; see the module docstring."""

    kind = "ads"

    def __init__(self, cfg: AdsConfig, tokenizer: CharTokenizer, pieces: PieceVocab):
        super().__init__()
        self.cfg, self.tokenizer, self.pieces = cfg, tokenizer, pieces
        self.enc = TextEncoder(cfg, len(tokenizer))
        self.dec = TextDecoder(cfg, len(pieces), len(cfg.tones))
        self.layout = DesignNet(cfg)
        self.interactor = DesignNet(cfg, interactor=True)
        self.painter = Painter(cfg)
        self.icons = IconMatcher(cfg)
        self.reader = Reader(cfg)
        self.name, self.version, self.meta = "ads", "untrained", {}
        self.products = ProductPlacer(self.icons, cfg.icon_buckets)  # no weights of its own

    # --- text ---------------------------------------------------------------------------
    def brief_ids(self, texts: Sequence[str]) -> torch.Tensor:
        """(B, max_brief) ids, padded to a fixed length."""
        n = self.cfg.max_brief
        rows = [self.tokenizer.encode(t)[:n] for t in texts]
        return torch.tensor([r + [PAD] * (n - len(r)) for r in rows], dtype=torch.long)

    def understand(self, items: Sequence[str]) -> tuple[list[Understood], dict[str, torch.Tensor]]:
        """What each item asks for (overrides applied), and E's outputs."""
        parsed = [parse_item(i) for i in items]
        out = self.enc(self.brief_ids([p[0] for p in parsed]))
        np_out = {k: v.detach().float().numpy() for k, v in out.items()
                  if k not in ("memory", "memory_pad")}
        np_out["placeable"] = 1 / (1 + np.exp(-np_out["placeable"]))
        unds = []
        for i, (text, overrides) in enumerate(parsed):
            und = understand_one(text[: self.cfg.max_brief], {k: v[i] for k, v in np_out.items()},
                                 self.cfg)
            self.products.place(und)
            und.colour_spans, und.brand_colors = self._colours(
                out["memory"][i: i + 1], text[: self.cfg.max_brief], np_out["tags"][i])
            self._override(und, overrides)
            unds.append(und)
        return unds, out

    def _colours(self, memory: torch.Tensor, text: str, tag_logits: np.ndarray
                 ) -> tuple[list[tuple[int, int]], tuple[str, ...]]:
        """Where the brief names its colours (`nn/colour_reading.py`) and the colours, in order:
        a hex code as written, a name as the named-colour head reads it."""
        codes = colour_reading.hex_codes(text)
        cands = colour_reading.candidates(text, codes)
        probs = self._named_colour_probs(memory, cands)
        found = colour_reading.pick(text, colour_reading.inside_colour(tag_logits[: len(text)]),
                                    cands, probs.max(-1, initial=0.0), codes, probs.argmax(-1))
        colours: list[str] = []
        for span in found:
            named = probs[cands.index(span)] if span in cands else np.zeros(1)
            colour = read_colour(text[span[0]: span[1]], named, self.cfg)
            if colour not in colours:
                colours.append(colour)
        return found, tuple(colours)

    def _named_colour_probs(self, memory: torch.Tensor, spans: list[tuple[int, int]]
                            ) -> np.ndarray:
        """The named-colour head's probabilities for each span (n, n_colours)."""
        if not spans:
            return np.zeros((0, len(self.cfg.colour_hexes)), np.float32)
        mask = torch.zeros(len(spans), self.cfg.max_brief, dtype=torch.bool)
        for k, (start, end) in enumerate(spans):
            mask[k, start:end] = True
        logits = self.enc.span_colour(memory.expand(len(spans), -1, -1), mask)
        return torch.softmax(logits.float(), -1).detach().numpy()

    @staticmethod
    def _override(und: Understood, overrides: dict[str, Any]) -> None:
        und.overrides = overrides
        if "size" in overrides:
            und.size = overrides["size"]
        if "language" in overrides:
            und.language = overrides["language"]
        if "brand_colors" in overrides:
            und.brand_colors = tuple(c.upper() for c in overrides["brand_colors"])
        und.understood = bool(und.product) and und.size in SIZES and (
            und.understood or "size" in overrides)

    def write_copy(self, unds: Sequence[Understood], enc_out: dict[str, torch.Tensor],
                   rows: Sequence[int], gens: Sequence[torch.Generator],
                   styles: Sequence[int]) -> list[Copy]:
        """Sampled copy per item (rows: the items' rows in enc_out)."""
        from alpaca_ads.domain import offers

        idx = torch.tensor(list(rows), dtype=torch.long)
        langs = [u.language for u in unds]
        lang_t = torch.tensor([0 if lg == "en" else 1 for lg in langs])
        tone_t = torch.tensor([self.cfg.tones.index(u.tone) for u in unds])
        size_t = torch.tensor([SIZE_CLASSES.index(u.size) for u in unds])
        mem, pad = self.dec.copy_memory(enc_out["memory"][idx], enc_out["memory_pad"][idx],
                                        lang_t, tone_t, torch.tensor(list(styles)), size_t)
        offer_texts = [offers.render_offer(u.offer, u.language, s) for u, s in zip(unds, styles)]
        fills = [(len(u.product), len(o)) for u, o in zip(unds, offer_texts)]
        limits = [limits_for(u.language, u.size) for u in unds]
        ids = sample_copy(self.dec, mem, pad, langs, limits, fills, gens, self.cfg.max_text,
                          self.pieces.vocab)
        return [self._fill(u, seq, o) for u, seq, o in zip(unds, ids, offer_texts)]

    def _fill(self, und: Understood, ids: list[int], offer_text: str) -> Copy:
        parts = []
        for k, section in enumerate(split_copy(ids)):
            product = title(und.product) if und.language == "en" else und.product
            text = "".join(product if t == PRODUCT else offer_text if t == OFFER
                           else self.pieces.text(t) for t in section)
            text = " ".join(text.split())
            limit = limits_for(und.language, und.size)[k]
            if und.language == "en":
                text = spaced_sentences(without_unasked_events(text, und.text), limit)
            if len(text) > limit and und.language == "en":
                text = text[:limit].rsplit(" ", 1)[0]
            text = text[:limit].rstrip(DANGLING)
            parts.append(text[:1].upper() + text[1:] if und.language == "en" else text)
        names = ("headline", "subline", "cta")
        parts = [und.overrides.get(n, p) for n, p in zip(names, parts)]
        return Copy(headline=parts[0], subline=parts[1], cta=parts[2], language=und.language)

    # --- design -------------------------------------------------------------------------
    def _layout_batch(self, unds: Sequence[Understood], copies: Sequence[Copy],
                      summary: torch.Tensor, noise: torch.Tensor) -> tuple[dict, list[list[str]]]:
        feats = [layout_features(u.size, u.tone, u.language, c, u.brand_colors,
                                 u.default_colour, self.cfg)
                 for u, c in zip(unds, copies)]
        x = {k: torch.as_tensor(np.stack([f[0][k] for f in feats])) for k in feats[0][0]}
        x.update(noise=noise, brief=summary)
        return x, [f[1] for f in feats]

    def _decide(self, pred: dict[str, torch.Tensor]) -> list[dict[str, np.ndarray]]:
        """Per item numpy decisions from the layout heads (argmax / threshold)."""
        d = {"present": (pred["present"] > 0).numpy(), "box": pred["box"].float().numpy(),
             "font": pred["font"].float().numpy(), "bold": (pred["bold"] > 0).numpy(),
             "colour": pred["colour"].argmax(-1).numpy(), "fill": pred["fill"].argmax(-1).numpy(),
             "style": pred["style"].argmax(-1).numpy(),
             "lines": pred["lines"].argmax(-1).numpy(),
             "bg": pred["bg"].argmax(-1).numpy()}
        return [{k: v[i] for k, v in d.items()} for i in range(d["box"].shape[0])]

    def first_designs(self, unds: Sequence[Understood], copies: Sequence[Copy],
                      summary: torch.Tensor, gens: Sequence[torch.Generator]) -> list[Design]:
        """G's design per item; summary: E's summary vectors (B, d_model) of these items."""
        noise = torch.stack([torch.randn(self.cfg.noise_dim, generator=g) for g in gens])
        x, cands = self._layout_batch(unds, copies, summary, noise)
        icons = self.products.match_icons([u.product for u in unds])
        return [to_design(p, u.size, c, cp, ic, self.cfg) for p, u, c, cp, ic in
                zip(self._decide(self.layout(x)), unds, cands, copies, icons)]

    def refine(self, unds: Sequence[Understood], copies: Sequence[Copy], summary: torch.Tensor,
               designs: Sequence[Design], controls: Sequence[str]) -> list[Design]:
        """I's revised design per item from the current design, its control text and the
        faults the typesetter measured on it (`issues_seen`)."""
        designs = [legibility.without_edge_bar(d) for d in designs]
        noise = torch.zeros(len(unds), self.cfg.noise_dim)
        x, cands = self._layout_batch(unds, copies, summary, noise)
        cur = [current_inputs(d, issues_seen(d, c), cs, self.cfg)
               for d, c, cs in zip(designs, controls, cands)]
        x.update({k: torch.as_tensor(np.stack([c[k] for c in cur])) for k in cur[0]})
        icons = [d.element("icon").icon if d.element("icon") else None for d in designs]
        return [to_design(p, u.size, c, cp, ic, self.cfg) for p, u, c, cp, ic in
                zip(self._decide(self.interactor(x)), unds, cands, copies, icons)]

    def paint_and_render(self, designs: Sequence[Design], brands: Sequence[str | None] = ()
                         ) -> tuple[list[Design], list[np.ndarray]]:
        """The painter's background for each design, the design's text colours held to the
        contrast floor on it (`legibility.legible`), its icon to 3:1 on what it is drawn on
        (`legibility.visible_icon`), the background colour it chose and the brief's brand
        colour (`brands`, one per design or none) kept in sight
        (`legibility.keep_background_colour`, `keep_brand_colour`), and the banner rendered."""
        from alpaca_ads.domain import render

        chosen = designs
        brands = list(brands) or [None] * len(designs)
        designs = [legibility.visible_icon(legibility.room_for_small_text(d)) for d in designs]
        bgs = self._paint(designs)
        out_designs, images = [], []
        for mine, d, bg, brand in zip(chosen, designs, bgs, brands, strict=True):
            full = np.asarray(render.draw_background(d, bg))
            bare = render.render(legibility.without_text(d), background=full)
            d = legibility.keep_background_colour(mine, legibility.legible(d, np.asarray(bare)))
            kept = legibility.keep_brand_colour(d, brand)
            if kept.background != d.background:  # the frame shows the brand: paint it so
                full = np.asarray(render.draw_background(kept, self._paint([kept])[0]))
            out_designs.append(kept)
            images.append(np.asarray(render.render(kept, background=full).convert("RGB")))
        return out_designs, images

    def _paint(self, designs: Sequence[Design]) -> np.ndarray:
        """The painter's background of each design, (B, H, W, 3) uint8 at its low resolution."""
        style = torch.tensor([self.cfg.bg_styles.index(d.background_style) for d in designs])
        cols = torch.tensor([[c / 255 for c in palette.rgb(d.background[0])]
                             + [c / 255 for c in palette.rgb(d.background[-1])]
                             for d in designs], dtype=torch.float32)
        return (self.painter(style, cols).permute(0, 2, 3, 1) * 255).round().byte().numpy()

    def read(self, images: Sequence[np.ndarray], designs: Sequence[Design]) -> list[str]:
        """The control text D writes for each rendered banner."""
        views = [reader_inputs(im, d, self.cfg) for im, d in zip(images, designs)]
        whole, crops, geom = (torch.as_tensor(np.stack(v)) for v in zip(*views))
        out = self.reader(whole.float() / 255, crops.float() / 255, geom)
        mem, pad = self.dec.control_memory(out["memory"])
        return [self.pieces.decode_control(ids) for ids in greedy_control(self.dec, mem, pad)]

    def generate(self, items: Sequence[str], seeds: Sequence[int], rounds: int = 3,
                 early_exit: bool = True) -> Iterator[Any]:
        """Yield one step per round (see loop.py)."""
        return generate_steps(self, items, seeds, rounds, early_exit)


def title(text: str) -> str:
    """First letter of each word upper-cased unless the word already has capitals."""
    return " ".join(w if any(c.isupper() for c in w) else w[:1].upper() + w[1:]
                    for w in text.split(" "))


def issues_seen(design: Design, control: str) -> dict[str, set[str]]:
    """role -> issues: those the control text names plus those measured on the design as set."""
    seen = parse_control(control)
    for role, issue in layout_issues(design):
        seen.setdefault(role, set()).add(issue)
    return seen
