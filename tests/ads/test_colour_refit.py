"""The colour refit (alpaca_ads/train/colour_refit.py) on the tiny model: a head without the
catalog's newer colours grows a row for each (started from the nearest old colour's), takes
the catalog's hexes, moves nothing but the head, holds its confidence where no colour is
named, and saves with its record."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import torch

import alpaca_ads
from alpaca_ads.domain import catalog
from alpaca_ads.model import AdsModel
from alpaca_ads.train.colour_refit import (ColourRefitOptions, colour_refit, grow_colour_head,
                                           hold_loss, in_context, main, nearest_rows,
                                           reading_candidates)
from alpaca_ads.train.data import BatchMaker, DataOptions
from alpaca_ads.train.loop import to_torch

DATA = DataOptions(brief_batch=8)
OPTS = ColourRefitOptions(steps=3, lr=1e-2, log_every=1, hold_spans=16)
NEW = ("hot_pink", "forest_green")  # colours an older checkpoint's head has no row for


def _older_model() -> AdsModel:
    """A tiny model as a checkpoint trained before `NEW` were in the catalog."""
    model = alpaca_ads.tiny_model(seed=0)
    keep = [k for k, name in enumerate(model.cfg.colour_names) if name not in NEW]
    old = model.enc.colour
    head = torch.nn.Linear(old.in_features, len(keep))
    with torch.no_grad():
        head.weight.copy_(old.weight[keep])
        head.bias.copy_(old.bias[keep])
    model.enc.colour = head
    model.cfg = replace(model.cfg,
                        colour_names=tuple(model.cfg.colour_names[k] for k in keep),
                        colour_hexes=tuple(model.cfg.colour_hexes[k] for k in keep))
    return model


def _batch(model: AdsModel, step: int = 0) -> dict[str, torch.Tensor]:
    return to_torch(BatchMaker(model.tokenizer, model.pieces, model.cfg, DATA, 4)
                    .brief_batch(step))


def test_a_new_colour_starts_from_the_nearest_old_one_and_old_colours_keep_their_rows() -> None:
    model = _older_model()
    old = copy.deepcopy(model.enc.colour)
    old_names = model.cfg.colour_names
    rows = grow_colour_head(model)
    names = tuple(c.key for c in catalog.COLOURS)
    assert model.cfg.colour_names == names
    assert model.cfg.colour_hexes == tuple(c.hex for c in catalog.COLOURS)
    assert model.enc.colour.out_features == len(names)
    for k, name in enumerate(names):
        if name in old_names:
            assert rows[k] == old_names.index(name)
        assert torch.equal(model.enc.colour.weight[k], old.weight[rows[k]])
    assert old_names[rows[names.index("hot_pink")]] == "pink"
    assert old_names[rows[names.index("forest_green")]] == "green"


def test_nearest_rows_is_by_rgb_distance() -> None:
    assert nearest_rows(["#000000", "#FFFFFF"], ["#101010", "#EEEEEE", "#000000"]) == [0, 1, 0]


def test_the_refit_moves_the_colour_head_alone_and_grows_it() -> None:
    model = _older_model()
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("enc.colour")}
    colour_refit(model, OPTS, DATA)
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert after["enc.colour.weight"].shape[0] == len(catalog.COLOURS)
    assert not model.training and all(p.requires_grad for p in model.parameters())


def test_spans_in_context_hold_the_colour_span_and_stay_inside_the_brief() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    batch = _batch(model)
    assert batch["cs_row"].numel(), "the batch names no colour; pick another seed"
    wide = in_context(batch, torch.Generator().manual_seed(0))["cs_mask"]
    brief = batch["brief"][batch["cs_row"]]
    assert bool((wide | ~batch["cs_mask"]).all())  # every colour character kept
    assert bool((wide.sum(-1) > batch["cs_mask"].sum(-1)).all())
    assert not bool((wide & (brief == 0)).any())  # PAD is id 0


def test_the_hold_asks_about_candidates_that_name_no_colour_and_is_zero_unmoved() -> None:
    model = alpaca_ads.tiny_model(seed=0)
    batch = _batch(model)
    rows, masks = reading_candidates(model, batch, 64, torch.Generator().manual_seed(0))
    assert len(rows) == 64
    for row, mask in zip(batch["cs_row"], batch["cs_mask"]):
        assert not bool((masks[rows == row] & mask).any())
    memory = model.enc(batch["brief"])["memory"].detach()
    same = list(range(model.enc.colour.out_features))
    teacher = copy.deepcopy(model.enc.colour)
    assert float(hold_loss(model, teacher, same, memory, (rows, masks)).detach()) < 1e-6
    with torch.no_grad():
        model.enc.colour.weight.mul_(3.0)  # sharper: sure of everything
    assert float(hold_loss(model, teacher, same, memory, (rows, masks)).detach()) > 1e-3


def test_the_cli_writes_a_checkpoint_that_records_the_colour_refit(tmp_path: Path,
                                                                   monkeypatch) -> None:
    start = tmp_path / "start"
    alpaca_ads.save(_older_model(), start)
    monkeypatch.setattr("alpaca_ads.train.colour_refit.DataOptions", lambda: DATA)
    assert main(["--checkpoint", str(start), "--out", str(tmp_path / "out"), "--steps", "2",
                 "--hold-spans", "8", "--threads", "1"]) == 0
    model = alpaca_ads.load(tmp_path / "out")
    assert model.meta["colour_refit"]["steps"] == 2
    assert model.cfg.colour_names == tuple(c.key for c in catalog.COLOURS)
    assert model.meta["colour_refit"]["from"] == alpaca_ads.load(start).version


def test_a_second_colour_refit_keeps_the_record_of_the_first() -> None:
    model = colour_refit(_older_model(), OPTS, DATA)
    first = model.meta["colour_refit"]
    colour_refit(model, OPTS, DATA)
    assert model.meta["colour_refit"]["after"] == first
