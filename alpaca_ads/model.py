"""AdsModel: the networks of Alpaca Ads and the steps the loop is made of.

The loop (loop.py) calls, per batch: `understand` (E: tags and heads -> what the brief asks,
or a refusal), `write_copy` (D samples the copy with placeholders, filled with the product span
and the exact offer), `first_designs` (G: layout and colours among palette candidates, icon by
the learned text-to-icon match), `paint_and_render` (the painter's low-res background, the
domain renderer for text and icons), `read` (reader + D: the control text) and `refine` (I: the
revised design). Every item has its own `torch.Generator`; briefs are padded to a fixed length,
so an item's output does not depend on what else is in its batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from alpaca_ads.domain.checks import layout_issues
from alpaca_ads.domain.spec import SIZES, Copy, Design

from .loop import generate_steps
from .nn import colour_reading, palette, spelling
from .nn.codec import parse_control
from .nn.config import SIZE_CLASSES, AdsConfig
from .nn.decode import greedy_control, limits_for, sample_copy, split_copy
from .nn.designs import current_inputs, layout_features, reader_inputs, to_design
from .nn.icon import IconMatcher, ngram_batch
from .nn.layout import DesignNet
from .nn.painter import Painter
from .nn.reader import Reader
from .nn.text import TextDecoder, TextEncoder
from .nn.tokenizer import OFFER, PAD, PRODUCT, CharTokenizer, PieceVocab
from .nn.understand import (
    Understood, product_candidates, read_colour, understand_one, word_candidates,
)

PRODUCT_MATCH = 0.5  # cosine of a product span's best word to its nearest icon: below, no product
WEAK_MATCH = 0.7  # a span below this may give way to a word around it that matches better
CLEAR_MATCH = 0.65  # ... when that word reaches this
CLEAR_GAIN = 0.05  # ... and matches this much better
SENTENCE_JOIN = re.compile(r"([.!?])(?=[A-Za-z$])")  # 'place.Buy One': a sentence, then a fill


def clearly_better(match: float, than: float) -> bool:
    """Whether a word's icon match is clearly better than another's (>= CLEAR_MATCH and by
    CLEAR_GAIN): what a weak match (< WEAK_MATCH) gives way to."""
    return match >= CLEAR_MATCH and match - than >= CLEAR_GAIN


def spaced_sentences(text: str, limit: int) -> str:
    """English copy with a space after each sentence that runs into the next word or fill
    ('all in one place.Buy One Get One Free'), where the copy's limit leaves room for them."""
    spaced = SENTENCE_JOIN.sub(r"\1 ", text)
    return spaced if len(spaced) <= limit else text
FOUND_MATCH = 0.75  # a word of a brief with no tagged product that matches an icon this well is it
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
        self._slugs: tuple[list[str], torch.Tensor] | None = None
        self._slug_words: frozenset[str] | None = None

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
            self._place_product(und)
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
                                    cands, probs.max(-1, initial=0.0), codes)
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
            text = spaced_sentences(text, limit) if und.language == "en" else text
            if len(text) > limit and und.language == "en":
                text = text[:limit].rsplit(" ", 1)[0]
            text = text[:limit]
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
        icons = self.match_icons([u.product for u in unds])
        return [to_design(p, u.size, c, cp, ic, self.cfg) for p, u, c, cp, ic in
                zip(self._decide(self.layout(x)), unds, cands, copies, icons)]

    def refine(self, unds: Sequence[Understood], copies: Sequence[Copy], summary: torch.Tensor,
               designs: Sequence[Design], controls: Sequence[str]) -> list[Design]:
        """I's revised design per item from the current design, its control text and the
        faults the typesetter measured on it (`issues_seen`)."""
        noise = torch.zeros(len(unds), self.cfg.noise_dim)
        x, cands = self._layout_batch(unds, copies, summary, noise)
        cur = [current_inputs(d, issues_seen(d, c), cs, self.cfg)
               for d, c, cs in zip(designs, controls, cands)]
        x.update({k: torch.as_tensor(np.stack([c[k] for c in cur])) for k in cur[0]})
        icons = [d.element("icon").icon if d.element("icon") else None for d in designs]
        return [to_design(p, u.size, c, cp, ic, self.cfg) for p, u, c, cp, ic in
                zip(self._decide(self.interactor(x)), unds, cands, copies, icons)]

    def slug_table(self) -> tuple[list[str], torch.Tensor]:
        """Every icon slug of the pack and its key embedding (computed once, cached)."""
        if self._slugs is None:
            from alpaca_ads.domain.assets import icon_slugs

            slugs = list(icon_slugs())
            with torch.no_grad():
                keys = torch.cat([self.icons.embed_key(ngram_batch(slugs[i: i + 1024],
                                                                   self.cfg.icon_buckets))
                                  for i in range(0, len(slugs), 1024)])
            self._slugs = (slugs, keys)
        return self._slugs

    def _nearest_icons(self, phrases: Sequence[str]) -> tuple[list[int], list[float]]:
        """Index of the nearest icon slug of each phrase and its cosine similarity."""
        _, keys = self.slug_table()
        q = self.icons.embed_query(ngram_batch([p or " " for p in phrases],
                                               self.cfg.icon_buckets))
        score, best = (q @ keys.T).max(-1)
        return best.tolist(), score.tolist()

    def match_icons(self, products: Sequence[str]) -> list[str | None]:
        """The nearest icon slug of each product span (None for an empty span)."""
        slugs, _ = self.slug_table()
        best, _ = self._nearest_icons(products)
        return [slugs[b] if p else None for p, b in zip(products, best)]

    def product_word(self, text: str, span: str) -> tuple[str, float, int]:
        """The product word a span stands for, how well the best word of it matches an icon,
        and the word's nearest icon (an index of `slug_table`). A span the learned text-to-icon
        match finds weak (< WEAK_MATCH) gives way to the word around or inside it
        (`product_candidates`) that matches an icon clearly better (the tagger often misses a
        character, 太[阳镜], 镜[子], or takes in a word, 'kids toys')."""
        cands = product_candidates(text, span)
        if not cands:
            return "", 0.0, 0
        icons, scores = self._nearest_icons(cands)
        best = int(np.argmax(scores))
        if scores[0] < WEAK_MATCH and clearly_better(scores[best], scores[0]):
            return cands[best], float(scores[best]), icons[best]
        return span, float(scores[best]), icons[0]

    def _better_run(self, text: str, runs: Sequence[str], found: tuple[str, float, int]
                    ) -> tuple[str, float, int]:
        """`found` (word, match, icon), or where it matches an icon well (>= WEAK_MATCH; a
        weak one gives way to any word of the brief, `_best_word`) the word of another product
        run the tagger marked (`runs`, `product_word`) that matches an icon best, if clearly
        better (`clearly_better`): the tagger weighs a heading over the product it names ('gift
        guide', 0.73, in 'Holiday gift guide - pizza 15% off', 0.82)."""
        if found[1] < WEAK_MATCH:
            return found
        others = [self.product_word(text, run) for run in runs if run != found[0]]
        best = max(others, key=lambda other: other[1], default=found)
        return best if clearly_better(best[1], found[1]) else found

    def _place_product(self, und: Understood) -> None:
        """The product word of a brief (`product_word`). A span that matches its icon weakly
        (< WEAK_MATCH) gives way to the brief's word that names a product (`_best_word`); one
        that matches none (< PRODUCT_MATCH: 'eod', 'b') and has no such word is no product, and
        the brief is refused naming it; a span that matches an icon clearly (>= WEAK_MATCH) in
        a brief of a known size is placed even where the "understood" head doubts the brief as
        a whole (太阳镜春季新品)."""
        if not und.product:
            self._find_product(und)
            return
        word, match, icon = self.product_word(und.text, und.product)
        if len(word) == 1 and word.isascii():  # no product is one letter: 'a' of 'half price'
            match = 0.0
        word, match, icon = self._better_run(und.text, und.product_runs, (word, match, icon))
        if match < WEAK_MATCH:  # 'dimensions' (0.54) in 'Advert: green tea, dimensions 300x600'
            word, match, icon = max((word, match, icon), self._best_word(und.text),
                                    key=lambda found: found[1])
        if match < WEAK_MATCH:  # a typo the match places nowhere ('footablls') or wrongly
            word, match, icon = self._typo_weighed((word, match, icon))  # ('candels': a necklace)
        if match < PRODUCT_MATCH:  # `_best_word` and the typo fix found nothing either
            und.product, und.understood = "", False
            und.unplaced = [word, *und.unplaced]
            return
        und.product = self.spelled(word, icon)
        if not und.understood and match >= WEAK_MATCH and und.size in SIZES:
            und.understood, und.unplaced = True, []

    def _typo_weighed(self, found: tuple[str, float, int]) -> tuple[str, float, int]:
        """A weakly matched (< WEAK_MATCH) product word (word, match, icon), or its typo fix
        (`_typo_fixed`) where that matches an icon clearly better (`clearly_better`): a fix the
        match places no better than that is no product word either ('rackets' -> 'rockets',
        0.52; 'hoses' -> 'holes', 0.51), and a word matching none is refused as written."""
        fixed = self._typo_fixed(found[0])
        return fixed if clearly_better(fixed[1], found[1]) else found

    def _typo_fixed(self, word: str) -> tuple[str, float, int]:
        """`word` as the icon set spells a word one typo from it (any slug's word,
        `spelling.respellings`; of several, the one the icon match places best), with its
        match and icon; ('', 0.0, 0) where no slug word is one typo away. The n-gram match
        reads most typos, but not swaps in the middle of a word: 'footablls' and 'mufifns'
        matched no icon and their held-out briefs were refused; 'candels' matched a necklace
        (0.59) before 'candles' a candle."""
        known = self.slug_words()
        fixes = spelling.respellings(word, sorted(known), known)
        if not fixes:
            return "", 0.0, 0
        icons, scores = self._nearest_icons(fixes)
        best = int(np.argmax(scores))
        return fixes[best], float(scores[best]), icons[best]

    def _find_product(self, und: Understood) -> None:
        """Where the tagger marked no product: the word of the brief that matches an icon best,
        if it matches one as well as products do (>= FOUND_MATCH; filler words, offers and
        gibberish stay below). A brief of a known size is then understood."""
        word, match, icon = self._best_word(und.text)
        if match >= FOUND_MATCH and und.size in SIZES:
            und.product = self.spelled(word, icon)
            und.understood, und.unplaced = True, []

    def _best_word(self, text: str) -> tuple[str, float, int]:
        """The word of the brief that matches an icon best, if it matches one as well as
        products are placed (>= FOUND_MATCH), with its match and icon; else ('', 0.0, 0)."""
        words = word_candidates(text)
        if not words:
            return "", 0.0, 0
        icons, scores = self._nearest_icons(words)
        best = int(np.argmax(scores))
        if scores[best] < FOUND_MATCH:
            return "", 0.0, 0
        return words[best], float(scores[best]), icons[best]

    def spelled(self, product: str, icon: int) -> str:
        """`product` spelled as the slug of its nearest icon `icon` spells it (`nn/spelling.py`;
        the match that placed the product found that icon already)."""
        slugs, _ = self.slug_table()
        return spelling.respell(product, slugs[icon], self.slug_words())

    def slug_words(self) -> frozenset[str]:
        """Every word of every icon slug (computed once, cached)."""
        if self._slug_words is None:
            self._slug_words = spelling.slug_vocabulary(self.slug_table()[0])
        return self._slug_words

    def paint_and_render(self, designs: Sequence[Design]
                         ) -> tuple[list[Design], list[np.ndarray]]:
        """The painter's background for each design, the design's text colours held to the
        contrast floor on it (`legibility.legible`), its icon to 3:1 on what it is drawn on
        (`legibility.visible_icon`), and the banner rendered."""
        from alpaca_ads.domain import legibility, render

        designs = [legibility.visible_icon(legibility.room_for_small_text(d)) for d in designs]
        style = torch.tensor([self.cfg.bg_styles.index(d.background_style) for d in designs])
        cols = torch.tensor([[c / 255 for c in palette.rgb(d.background[0])]
                             + [c / 255 for c in palette.rgb(d.background[-1])]
                             for d in designs], dtype=torch.float32)
        bgs = (self.painter(style, cols).permute(0, 2, 3, 1) * 255).round().byte().numpy()
        out_designs, images = [], []
        for d, bg in zip(designs, bgs):
            full = np.asarray(render.draw_background(d, bg))
            bare = render.render(legibility.without_text(d), background=full)
            d = legibility.legible(d, np.asarray(bare))
            out_designs.append(d)
            images.append(np.asarray(render.render(d, background=full).convert("RGB")))
        return out_designs, images

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
