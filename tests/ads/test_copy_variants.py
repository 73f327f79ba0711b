"""Seed-chosen headline variants: the copywriter writes variant k's headline for style k
(`copywriter.variant_order`), training pairs each copy with the variant that wrote it, and the
copy refit (alpaca_ads/train/copy_refit.py) moves the text decoder alone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

import alpaca_ads
from alpaca_ads.checkpoint import save
from alpaca_ads.domain.briefs import sample_spec
from alpaca_ads.domain.copywriter import LIMITS, format_limits, good_copy, variant_order
from alpaca_ads.domain.offers import offer_renderings, render_offer
from alpaca_ads.domain.spec import Offer
from alpaca_ads.train.copy_refit import CopyRefitOptions, copy_refit, main
from alpaca_ads.train.data import BatchMaker, DataOptions

DATA = DataOptions(brief_batch=6, copy_batch=3, design_batch=3, interactor_batch=2,
                   icon_batch=4, icon_negatives=4, reader_batch=2, reader_new=1)
OPTS = CopyRefitOptions(steps=2, lr=1e-2, log_every=1)


def _spec(lang: str, offer: Offer, size: str = "300x250", tone: str = "neutral"):
    spec = sample_spec(np.random.default_rng(4))
    product = "running shoes" if lang == "en" else "跑步鞋"
    return dataclasses.replace(spec, language=lang, offer=offer, size=size, tone=tone,
                               product_text=product, event=None)


def test_variant_order_starts_with_the_variants_own_pair_and_holds_every_pair() -> None:
    order = variant_order(5, 3, 2)
    assert order[0] == (5 % 3, 5 % 2) and order[1] == (2, 0)  # its template, other wording
    assert sorted(order) == [(t, r) for t in range(3) for r in range(2)]
    for n_templates, n_renderings in ((3, 3), (2, 2), (3, 2), (4, 1)):
        firsts = {variant_order(v, n_templates, n_renderings)[0] for v in range(4)}
        assert len(firsts) == 4, (n_templates, n_renderings)


def test_four_variants_write_four_headlines_with_or_without_an_offer() -> None:
    for lang in ("en", "zh"):
        for offer in (Offer("none"), Offer("percent_off", value=30)):
            spec = _spec(lang, offer)
            heads = [good_copy(spec, np.random.default_rng(0), v).headline for v in range(4)]
            assert len(set(heads)) == 4, heads
            assert all(len(h) <= LIMITS[lang]["headline"] for h in heads)


def test_a_tight_format_still_gets_three_headlines_within_its_limits() -> None:
    for lang, product in (("en", "Toothbrushes"), ("zh", "电动牙刷")):
        spec = dataclasses.replace(_spec(lang, Offer("amount_off", value=200, threshold=1000),
                                         size="320x50", tone="playful"), product_text=product)
        copies = [good_copy(spec, np.random.default_rng(0), v) for v in range(4)]
        limit = format_limits(lang, "320x50")["headline"]
        assert len({c.headline for c in copies}) >= 3, [c.headline for c in copies]
        for c in copies:
            assert len(c.headline) <= limit
            assert any(o in c.headline + c.subline for o in offer_renderings(spec.offer, lang))


def test_the_variants_offer_wording_is_the_one_the_model_fills_in_for_that_style() -> None:
    offer = Offer("percent_off", value=30)
    for v in range(4):
        head = good_copy(_spec("zh", offer), np.random.default_rng(0), v).headline
        assert render_offer(offer, "zh", v) in head


def test_training_pairs_each_copy_with_the_variant_that_wrote_it() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    maker = BatchMaker(model.tokenizer, model.pieces, model.cfg, DATA, seed=3)
    rng = np.random.default_rng([3, 0])
    pos = maker._briefs(rng, DATA.design_batch)[0]
    batch = maker.batch(0)
    assert [int(s) for s in batch["c_style"]] == [p.variant for p in pos[:DATA.copy_batch]]
    assert len({p.variant for p in maker._briefs(np.random.default_rng(9), 0)[0]}) > 1


def test_copy_refit_moves_the_decoder_and_nothing_else() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    copy_refit(model, OPTS, DATA)
    after = model.state_dict()
    moved = {k for k, v in before.items() if not torch.equal(v, after[k])}
    assert moved and all(k.startswith("dec.") for k in moved), sorted(moved)[:5]
    assert not model.training and all(p.requires_grad for p in model.parameters())


def test_copy_refit_cli_writes_a_checkpoint_that_records_it(tmp_path: Path, monkeypatch) -> None:
    start = tmp_path / "start"
    save(alpaca_ads.tiny_model(seed=0), start, refit={"from": "an earlier stage"})
    monkeypatch.setattr("alpaca_ads.train.copy_refit.DataOptions", lambda: DATA)
    assert main(["--checkpoint", str(start), "--out", str(tmp_path / "out"), "--steps", "1",
                 "--threads", "1"]) == 0
    model = alpaca_ads.load(tmp_path / "out")
    assert model.meta["copy_refit"]["from"] == alpaca_ads.load(start).version != model.version
    assert model.meta["refit"] == {"from": "an earlier stage"}  # the lineage is kept
