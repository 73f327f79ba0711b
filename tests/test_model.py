"""The four modules' shapes, and checkpoint files: safetensors + JSON round trip, never pickle."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

import alpaca
from kinds.checkpoint_files import META, WEIGHTS
from alpaca.nn.layout import Layout


@pytest.fixture(scope="module")
def model():
    return alpaca.tiny_model(seed=0)


def test_tiny_model_builds_fast_and_is_the_real_class():
    alpaca.tiny_model(seed=1)  # warm the vocabulary cache
    t0 = time.perf_counter()
    m = alpaca.tiny_model(seed=2)
    assert time.perf_counter() - t0 < 1.0
    assert type(m).__name__ == "Alpaca" and m.version == "untrained"


def test_text_encoder_gives_token_features_and_a_pooled_vector(model):
    ids = model.tokenize(["a red star", "三个黄色的圆形在左边"])
    feats, pooled, mask = model.text_encoder(ids)
    d = model.cfg.d_model
    assert feats.shape == (2, ids.shape[1], d) and pooled.shape == (2, d)
    assert mask.shape == (2, 1, ids.shape[1])


def test_encoder_and_decoder_share_one_token_embedding(model):
    assert model.text_encoder.tok_emb.weight is model.text_decoder.tok_emb.weight


def test_image_encoder_gives_a_global_token_and_one_per_cell(model):
    mem = model.vision(torch.rand(3, 3, 64, 64))
    assert mem.shape == (3, 1 + model.cfg.n_cells, model.cfg.d_model)


def test_text_decoder_loss_and_greedy_decoding(model):
    mem = model.vision(torch.rand(2, 3, 64, 64))
    ids = model.caption_ids(["scene: white background", "画面：白色背景"], ["en", "zh"])
    occupied = torch.zeros(2, model.cfg.n_cells, dtype=torch.bool)
    logits, loss = model.text_decoder(mem, ids, occupied)
    assert logits.shape == (2, ids.shape[1] - 1, model.cfg.vocab_size) and loss.item() > 0
    prefix = ids[:, :2]
    out = model.text_decoder.generate(mem, prefix)
    assert len(out) == 2 and all(len(row) <= model.cfg.max_caption_len for row in out)


def test_generator_samples_a_layout_and_paints_uint8_images(model):
    prompt = model.encode_text(["a red star", "two blue squares"])
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    lay = model.first_draft(prompt, gens)
    k = model.cfg.max_objects
    assert lay.present.shape == (2, k) and lay.offset.shape == (2, k, 2)
    images = model.to_uint8(model.compose(lay))
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8


def test_painter_sees_which_half_of_its_pixel_a_centre_is_in_and_nothing_finer(model):
    """On the pixel grid a sprite moves only when its centre crosses the middle of a pixel, so
    two centres in the same half paint the same sprite and the halves are told apart."""
    attrs = [torch.zeros(4, dtype=torch.long)] * 3
    frac = torch.tensor([[0.1, 0.2], [0.45, 0.01], [0.6, 0.2], [0.1, 0.9]])
    with torch.no_grad():
        ink = model.painter(*attrs, frac)
    assert torch.equal(ink[0], ink[1])
    assert not torch.allclose(ink[0], ink[2]) and not torch.allclose(ink[0], ink[3])


def test_interactor_returns_one_slot_per_cell(model):
    images = np.zeros((2, 64, 64, 3), np.uint8)
    prompt = model.encode_text(["a red star", "a blue square"])
    lay = model.refine(images, prompt, ["scene: black background", "scene: white background"])
    assert isinstance(lay, Layout) and lay.present.shape == (2, model.cfg.n_cells)
    assert model.to_uint8(model.compose(lay)).shape == (2, 64, 64, 3)


def test_layout_loss_is_finite_for_a_teacher_forced_scene(model):
    from alpaca.training.data import domain_batch

    batch = domain_batch(0, 0, 4, model.cfg, n_layout=4)
    loss = model.layout(model.encode_text(batch.prompts, fixed=False), batch.layout, batch.weights)
    assert torch.isfinite(loss) and loss.item() > 0


def test_save_and_load_round_trip_with_safetensors_and_json(model, tmp_path):
    version = alpaca.save(model, tmp_path, metrics={"overall": 0.5})
    assert sorted(p.name for p in tmp_path.iterdir()) == [META, WEIGHTS]
    assert version == alpaca.checkpoint_version(tmp_path) and len(version) == 16
    meta = json.loads((tmp_path / META).read_text())
    assert meta["vocab"] == model.tokenizer.vocab and meta["metrics"] == {"overall": 0.5}
    again = alpaca.load(tmp_path)
    assert again.version == version and again.name == model.name
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), k


def test_load_never_unpickles(model, tmp_path, monkeypatch):
    torch.save(model.state_dict(), tmp_path / "model.pt")
    called = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: called.append(a))
    with pytest.raises(ValueError, match="pickle"):
        alpaca.load(tmp_path)
    assert not called


def test_load_rejects_weights_that_do_not_match_the_json(model, tmp_path):
    alpaca.save(model, tmp_path)
    other = alpaca.tiny_model(seed=5)
    from safetensors.torch import save_model

    save_model(other, tmp_path / WEIGHTS)
    with pytest.raises(ValueError, match="do not match"):
        alpaca.load(tmp_path)


def test_default_checkpoint_loads_and_is_small():
    if not (alpaca.DEFAULT_CHECKPOINT / WEIGHTS).is_file():
        pytest.skip("no shipped checkpoint yet")
    size = sum(p.stat().st_size for p in alpaca.DEFAULT_CHECKPOINT.iterdir())
    assert size <= 10 * 2**20
    m = alpaca.load()
    assert m.version == alpaca.checkpoint_version(alpaca.DEFAULT_CHECKPOINT)
