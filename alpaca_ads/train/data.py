"""Training batches: a dict of numpy arrays per step, made by `BatchMaker` (in a background
process by the CLI).

Per step: `brief_batch` briefs (a share of them negatives) for the encoder; the positives'
copy and good designs for the decoder and the layout net; corrupted designs for the
interactor; catalog names -> icon slugs for the icon matcher; and rendered banners (good and
corrupted) for the reader and the painter. Rendering is the slow part, so rendered examples
live in a pool: each step renders `reader_new` new ones and draws `reader_batch` from the
pool. The step's rng is seeded by (seed, step); the pool makes a resumed run see slightly
different reader examples than an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from alpaca_ads.domain.spec import Design

from ..nn.config import AdsConfig
from ..nn.icon import ngram_ids
from ..nn.text import N_STYLES
from ..nn.tokenizer import CharTokenizer, PieceVocab
from . import examples as ex


class Positive(NamedTuple):
    """A training brief the domain designed."""

    spec: Any
    text: str
    copy: Any
    design: Any  # None where not designed
    variant: int  # the copywriter's headline variant: the decoder's style


@dataclass(frozen=True)
class DataOptions:
    brief_batch: int = 32  # briefs per step (encoder)
    copy_batch: int = 24  # of the positives, those whose copy trains the decoder
    design_batch: int = 24  # of the positives, those designed (layout net, interactor, reader)
    negative_share: float = 0.15  # share of the briefs that must be refused
    interactor_batch: int = 24  # corrupted designs per step (no rendering)
    identity_share: float = 0.2  # interactor examples whose design is already good
    icon_batch: int = 64  # catalog names per step
    icon_negatives: int = 192  # random slugs among the keys
    reader_batch: int = 16  # rendered banners per step (from the pool)
    reader_new: int = 3  # banners rendered into the pool per step
    pool_size: int = 2000  # rendered banners kept
    corrupt_share: float = 0.65  # share of rendered banners that are corrupted
    novel_product_share: float = 0.0  # English briefs naming a product the catalog lacks


def domain() -> dict[str, Any]:
    """The domain functions training uses (looked up where ADS-1 put them)."""
    from alpaca_ads.domain import briefs

    out: dict[str, Any] = {"sample_brief": briefs.sample_brief,
                           "negative_brief": briefs.negative_brief}
    for mod_name, fn in (("designer", "good_copy"), ("copywriter", "good_copy"),
                         ("designer", "good_design"), ("layouts", "good_design"),
                         ("corrupt", "corrupt"), ("render", "render")):
        if fn in out:
            continue
        try:
            mod = __import__(f"alpaca_ads.domain.{mod_name}", fromlist=[fn])
            out[fn] = getattr(mod, fn)
        except (ImportError, AttributeError):
            continue
    return out


def stack(rows: list[dict[str, Any]], prefix: str = "") -> dict[str, np.ndarray]:
    """Stack equal-keyed example dicts into arrays (keys get `prefix`)."""
    keys = [k for k in rows[0] if k != "colour_spans"]
    return {prefix + k: np.stack([np.asarray(r[k]) for r in rows]) for k in keys}


def background_view(design: Design, render: Any, res: int) -> np.ndarray:
    """The design's background alone, rendered and downscaled to res x res (uint8, HWC)."""
    bare = Design(size=design.size, background=design.background,
                  background_style=design.background_style, elements=())
    return np.asarray(render(bare).convert("RGB").resize((res, res), Image.BILINEAR))


class BatchMaker:
    """Makes the batch of a step; keeps the pool of rendered reader examples."""

    def __init__(self, tok: CharTokenizer, pieces: PieceVocab, cfg: AdsConfig, opts: DataOptions,
                 seed: int):
        self.tok, self.pieces, self.cfg, self.opts, self.seed = tok, pieces, cfg, opts, seed
        self.fn = domain()
        self.pool: list[dict[str, Any]] = []

    def positive(self, rng: np.random.Generator, design: bool) -> Positive:
        """A training brief, its copy (of a random headline variant) and (if `design`) its good
        design; a brief the domain cannot design (it raises ValueError) is replaced by another."""
        for _ in range(20):
            spec, text = self.fn["sample_brief"](rng, "train", self.opts.novel_product_share)
            variant = int(rng.integers(N_STYLES))
            try:
                copy = self.fn["good_copy"](spec, rng, variant)
                good = self.fn["good_design"](spec, copy, rng) if design else None
                return Positive(spec, text, copy, good, variant)
            except ValueError:
                continue
        raise RuntimeError("the domain could not design 20 briefs in a row")

    def batch(self, step: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, step])
        o = self.opts
        pos, out = self._briefs(rng, o.design_batch)
        out.update(stack([ex.copy_example(p.spec, p.copy, p.variant, self.pieces, self.cfg)
                          for p in pos[: o.copy_batch]]))
        designed = pos[: o.design_batch]
        out.update(stack([ex.layout_example(p.spec, p.copy, p.design, self.cfg)
                          for p in designed],
                         "g_"))
        out.update(self._interactor(designed, rng))
        out.update(self._icons(rng))
        out.update(self._reader(designed, rng))
        return out

    def brief_batch(self, step: int) -> dict[str, np.ndarray]:
        """The encoder's part of step `step`'s batch alone (no copy, design or rendering): what
        the reading refit (train/refit.py) trains on."""
        return self._briefs(np.random.default_rng([self.seed, step]), 0)[1]

    def _briefs(self, rng: np.random.Generator,
                designed: int) -> tuple[list[Positive], dict[str, np.ndarray]]:
        """`brief_batch` briefs, `negative_share` of them to be refused: the positives (designed
        for the first `designed`) and the encoder's inputs and targets."""
        o = self.opts
        n_neg = int(round(o.brief_batch * o.negative_share))
        pos = [self.positive(rng, k < designed) for k in range(o.brief_batch - n_neg)]
        negs = [self.fn["negative_brief"](rng, str(rng.choice(["en", "zh"])))
                for _ in range(n_neg)]
        briefs = [ex.brief_example(p.text, p.spec, None, self.tok, self.cfg) for p in pos]
        briefs += [ex.brief_example(t, None, r, self.tok, self.cfg) for t, r in negs]
        return pos, {**stack(briefs), **self._colour_spans(briefs)}

    def corrupted(self, spec: Any, copy: Any, design: Design,
                  rng: np.random.Generator) -> tuple[Design, dict[str, set[str]]]:
        """A corrupted design and the issues the reader should see (the design unchanged and
        no issues where no fault applies)."""
        if "corrupt" not in self.fn:
            return design, {}
        try:
            _, bad, pairs = self.fn["corrupt"](spec, copy, design, rng)
        except ValueError:
            return design, {}
        return bad, ex.issues_of(list(pairs))

    def _colour_spans(self, briefs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        rows, masks, targets = [], [], []
        for i, b in enumerate(briefs):
            for lo, hi, named in b["colour_spans"]:
                mask = np.zeros(self.cfg.max_brief, bool)
                mask[lo: min(hi, self.cfg.max_brief)] = True
                rows.append(i), masks.append(mask), targets.append(named)
        return {"cs_row": np.array(rows, np.int64),
                "cs_mask": np.array(masks, bool).reshape(-1, self.cfg.max_brief),
                "cs_target": np.array(targets, np.int64)}

    def _interactor(self, pos: list[Positive], rng: np.random.Generator) -> dict[str, np.ndarray]:
        rows, idx = [], []
        for k in range(min(self.opts.interactor_batch, len(pos))):
            spec, copy, design = pos[k].spec, pos[k].copy, pos[k].design
            bad, issues = design, {}
            if rng.random() >= self.opts.identity_share:
                bad, issues = self.corrupted(spec, copy, design, rng)
            rows.append(ex.interactor_example(spec, copy, design, bad, issues, self.cfg))
            idx.append(k)
        out = stack(rows, "i_")
        out.pop("i_meta", None)
        return {**out, "i_row": np.array(idx, np.int64)}

    def _icons(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        from alpaca_ads.domain import catalog
        from alpaca_ads.domain.assets import icon_slugs

        prods = [catalog.PRODUCTS[int(i)] for i in rng.choice(
            len(catalog.PRODUCTS), self.opts.icon_batch, replace=False)]
        queries = [str(rng.choice(p.en + p.zh)) for p in prods]
        keys = [p.icons[0] for p in prods]
        slugs = icon_slugs()
        keys += [slugs[int(i)] for i in rng.integers(len(slugs), size=self.opts.icon_negatives)]
        b = self.cfg.icon_buckets
        return {"icon_q": _ragged([ngram_ids(q, b) for q in queries]),
                "icon_k": _ragged([ngram_ids(k, b) for k in keys]),
                "icon_t": np.arange(len(prods), dtype=np.int64)}

    def _reader(self, pos: list[Positive], rng: np.random.Generator) -> dict[str, np.ndarray]:
        if "render" not in self.fn:
            return {}
        for k in range(self.opts.reader_new):
            p = pos[-1 - k]
            self.pool.append(self.rendered(p.spec, p.copy, p.design, rng))
        self.pool = self.pool[-self.opts.pool_size:]
        pick = rng.integers(len(self.pool), size=self.opts.reader_batch)
        return stack([self.pool[int(i)] for i in pick])

    def rendered(self, spec: Any, copy: Any, design: Design,
                 rng: np.random.Generator) -> dict[str, Any]:
        """A reader + painter example: the design (corrupted or not) rendered over the painter
        target's low-res background, as the model renders."""
        issues: dict[str, set[str]] = {}
        if rng.random() < self.opts.corrupt_share:
            design, issues = self.corrupted(spec, copy, design, rng)
        bg = background_view(design, self.fn["render"], self.cfg.paint_res)
        image = np.asarray(self.fn["render"](design, background=bg).convert("RGB"))
        row = ex.reader_example(image, design, issues, self.pieces, self.cfg)
        style = self.cfg.bg_styles.index(design.background_style) \
            if design.background_style in self.cfg.bg_styles else 0
        from ..nn.palette import rgb

        cols = [c / 255 for c in rgb(design.background[0]) + rgb(design.background[-1])]
        return {**row, "p_style": np.int64(style), "p_cols": np.array(cols, np.float32),
                "p_target": bg.transpose(2, 0, 1).copy()}


def _ragged(rows: list[list[int]]) -> np.ndarray:
    width = max(len(r) for r in rows)
    return np.array([r + [0] * (width - len(r)) for r in rows], np.int64)
