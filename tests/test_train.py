"""Training: the loss goes down, checkpoints are written atomically, a run resumes where it
stopped, and fine-tuning on (text, image) pairs works from a checkpoint."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import alpaca
from alpaca import domain
from kinds.checkpoint_files import META, OPTIM, TRAIN_STATE, WEIGHTS

TINY_RUN = dict(batch_size=8, layout_batch=16, eval_every=0, eval_n=0,
                log_every=1000, warmup=5, lr=3e-3)


def test_a_few_steps_reduce_the_loss(tmp_path):
    seen = []
    alpaca.train(alpaca.tiny_model(seed=0), None, 40, tmp_path, on_step=seen.append, **TINY_RUN)
    losses = [s["loss"] for s in seen]
    assert [s["step"] for s in seen] == list(range(1, 41))
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5])
    assert set(seen[0]["losses"]) == {"text", "image", "interactor"}


def test_checkpoint_holds_weights_json_and_optimizer_without_temp_files(tmp_path):
    model = alpaca.train(alpaca.tiny_model(seed=0), None, 3, tmp_path, **TINY_RUN)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([META, WEIGHTS, OPTIM, TRAIN_STATE])
    meta = json.loads((tmp_path / META).read_text())
    assert meta["step"] == 3 and meta["config"]["d_model"] == model.cfg.d_model
    assert meta["data"]["source"].startswith("creative domain")
    assert alpaca.load(tmp_path).version == model.version


def test_resume_continues_from_the_saved_step(tmp_path):
    run = dict(TINY_RUN, eval_every=2)
    alpaca.train(alpaca.tiny_model(seed=0), None, 4, tmp_path, **run)
    seen = []
    alpaca.train(alpaca.tiny_model(seed=0), None, 6, tmp_path, on_step=seen.append, **run)
    assert [s["step"] for s in seen] == [5, 6]
    assert json.loads((tmp_path / TRAIN_STATE).read_text())["step"] == 6


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    run = dict(TINY_RUN, eval_every=2)
    straight = alpaca.train(alpaca.tiny_model(seed=0), None, 4, tmp_path / "a", **run)

    def crash(info: dict) -> None:
        if info["step"] == 3:  # after the step-2 checkpoint
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        alpaca.train(alpaca.tiny_model(seed=0), None, 4, tmp_path / "b", on_step=crash, **run)
    resumed = alpaca.train(alpaca.tiny_model(seed=0), None, 4, tmp_path / "b", **run)
    a, b = straight.state_dict(), resumed.state_dict()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-4


def test_fine_tune_from_a_checkpoint_on_text_image_pairs(tmp_path):
    base = tmp_path / "base"
    alpaca.save(alpaca.tiny_model(seed=0), base)
    rng = random.Random(0)
    pairs = []
    for _ in range(6):
        _, scene, _, lang = domain.sample(rng, "train")
        pairs.append((domain.caption(scene, lang), domain.render(scene)))
    seen = []
    model = alpaca.train(str(base), pairs, 3, tmp_path / "ft", on_step=seen.append, **TINY_RUN)
    meta = json.loads((tmp_path / "ft" / META).read_text())
    assert meta["data"]["source"] == "fine-tune pairs" and meta["data"]["usable"] == 6
    assert len(seen) == 3 and model.version == alpaca.checkpoint_version(tmp_path / "ft")
