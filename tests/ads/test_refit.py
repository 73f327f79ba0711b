"""The reading refit (alpaca_ads/train/refit.py) on the tiny model: it moves the text encoder
alone, holds the named-colour head, its teacher terms are zero where nothing has moved, its
brief batches repeat per step, and a refitted checkpoint saves and loads with its refit
recorded."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

import alpaca_ads
from alpaca_ads.train.data import BatchMaker, DataOptions
from alpaca_ads.train.loop import to_torch
from alpaca_ads.train.refit import RefitOptions, main, refit, refit_loss

DATA = DataOptions(brief_batch=6)
OPTS = RefitOptions(steps=3, lr=1e-2, log_every=1)


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_refit_moves_the_encoder_and_nothing_else() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    before = _weights(model)
    refit(model, OPTS, DATA)
    after = model.state_dict()
    moved = {k for k, v in before.items() if not torch.equal(v, after[k])}
    assert moved and all(k.startswith("enc.") for k in moved), sorted(moved)[:5]
    assert not any(k.startswith("enc.colour.") for k in moved)
    assert not model.training and all(p.requires_grad for p in model.parameters())


def test_the_teacher_terms_are_zero_until_the_encoder_moves() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    maker = BatchMaker(model.tokenizer, model.pieces, model.cfg, DATA, seed=1)
    batch = to_torch(maker.brief_batch(0))
    teacher = copy.deepcopy(model.enc)
    _, parts = refit_loss(model, teacher, batch, OPTS)
    assert parts["memory"] < 1e-10 and parts["colour"] < 1e-10
    with torch.no_grad():
        for p in model.enc.layers.parameters():
            p.add_(0.05)
    _, parts = refit_loss(model, teacher, batch, OPTS)
    assert parts["memory"] > 1e-6 and np.isfinite(parts["encoder"])


def test_brief_batch_holds_the_full_batchs_encoder_fields_and_repeats_per_step() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    maker = BatchMaker(model.tokenizer, model.pieces, model.cfg,
                       DataOptions(brief_batch=6, copy_batch=2, design_batch=2,
                                   interactor_batch=2, icon_batch=4, icon_negatives=4,
                                   reader_batch=2, reader_new=1), seed=3)
    briefs, full = maker.brief_batch(5), maker.batch(5)
    assert set(briefs) < set(full) and "copy" not in briefs
    assert all(briefs[k].shape[1:] == full[k].shape[1:] for k in ("brief", "tags", "place"))
    again = maker.brief_batch(5)
    assert all(np.array_equal(v, again[k]) for k, v in briefs.items())
    assert not np.array_equal(briefs["brief"], maker.brief_batch(6)["brief"])


def test_refit_cli_writes_a_loadable_checkpoint_that_records_the_refit(
        tmp_path: Path, monkeypatch) -> None:
    start = tmp_path / "start"
    alpaca_ads.save(alpaca_ads.tiny_model(seed=0), start)
    monkeypatch.setattr("alpaca_ads.train.refit.DataOptions", lambda: DATA)
    assert main(["--checkpoint", str(start), "--out", str(tmp_path / "out"), "--steps", "2",
                 "--threads", "1"]) == 0
    model = alpaca_ads.load(tmp_path / "out")
    assert model.meta["refit"]["steps"] == 2
    assert model.meta["refit"]["from"] == alpaca_ads.load(start).version != model.version


def test_a_second_refit_keeps_the_record_of_the_first() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    refit(model, OPTS, DATA)
    first = model.meta["refit"]
    refit(model, RefitOptions(steps=1, novel_product_share=1.0), DATA)
    assert model.meta["refit"]["novel_product_share"] == 1.0
    assert model.meta["refit"]["after"] == first
