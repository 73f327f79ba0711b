"""Batch PNG storage (worker/storage.py save_pngs): the paths and bytes save_png gives, each
distinct image written once, nothing left under a temporary name."""

from __future__ import annotations

import hashlib

import numpy as np

from worker.storage import save_png, save_pngs


def test_a_batch_is_stored_as_one_by_one_and_duplicates_are_written_once(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(5)]
    images.append(images[1].copy())
    stored = save_pngs(tmp_path / "batch", images)
    alone = [save_png(tmp_path / "alone", image) for image in images]
    assert stored == alone and stored[1] == stored[5]
    for path, sha in stored:
        data = (tmp_path / "batch" / path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha
        assert data == (tmp_path / "alone" / path).read_bytes()
    files = sorted(p.name for p in (tmp_path / "batch").rglob("*") if p.is_file())
    assert files == sorted({f"{sha}.png" for _, sha in stored})  # no temporary files left


def test_an_image_already_stored_is_not_written_again(tmp_path):
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    (path, _), = save_pngs(tmp_path, [image])
    (tmp_path / path).write_bytes(b"kept")
    assert save_pngs(tmp_path, [image])[0][0] == path
    assert (tmp_path / path).read_bytes() == b"kept"
