"""A batch's PNGs through object storage (worker/storage.py store_images): content keys in
order, each distinct image written once and durable on return, the same keys and bytes on the
local directory and on S3, and an object already stored left alone."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from objects import LocalStorage, get_storage
from tests.worker_support import make_settings
from worker.storage import SMALL_IMAGE_PIXELS, encode_png, small_png, store_images


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(5)]
    return [*images, images[1].copy()]


def test_a_batch_is_stored_under_content_keys_and_duplicates_are_written_once(tmp_path):
    images = _images()
    stored = store_images(LocalStorage(tmp_path), images)
    assert stored[1] == stored[5]
    for (key, sha), image in zip(stored, images, strict=True):
        data = (tmp_path / key).read_bytes()
        assert data == encode_png(image) and hashlib.sha256(data).hexdigest() == sha
        assert key == f"{sha[:2]}/{sha}.png"  # what items.image_path has always held
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted({f"{sha}.png" for _, sha in stored})  # no temporary files left


def test_an_image_already_stored_is_not_written_again(tmp_path):
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    (key, _), = store_images(LocalStorage(tmp_path), [image])
    (tmp_path / key).write_bytes(b"kept")
    assert store_images(LocalStorage(tmp_path), [image])[0][0] == key
    assert (tmp_path / key).read_bytes() == b"kept"


def test_the_s3_backend_stores_the_same_keys_and_bytes(tmp_path, s3_server, s3_prefix):
    images = _images()
    env = s3_server.environment(s3_prefix)
    settings = make_settings("sqlite://", tmp_path / "unused", storage_url=env["STORAGE_URL"],
                             **{name.lower(): value for name, value in env.items()
                                if name.startswith("S3_")})
    s3 = get_storage(settings)
    stored = store_images(s3, images)
    assert stored == store_images(LocalStorage(tmp_path / "local"), images)
    assert all(s3.get(key) == (tmp_path / "local" / key).read_bytes() for key, _ in stored)
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize("shape", [(1, 1, 3), (9, 40, 3), (64, 64, 3), (65, 64, 3), (200, 30, 3)])
def test_an_image_of_any_size_encodes_to_a_png_of_its_own_pixels(shape):
    image = np.random.default_rng(1).integers(0, 255, shape, dtype=np.uint8)
    data = encode_png(image)
    decoded = Image.open(io.BytesIO(data))
    decoded.load()  # checks every chunk's CRC
    assert decoded.format == "PNG" and decoded.mode == "RGB" and not decoded.info
    assert np.array_equal(np.asarray(decoded), image)
    assert encode_png(image.copy()) == data  # the bytes depend on the pixels only
    small = shape[0] * shape[1] <= SMALL_IMAGE_PIXELS
    assert (data == small_png(image)) == small  # small ones skip Pillow's encoder


def test_a_strided_view_encodes_as_its_pixels():
    image = np.random.default_rng(2).integers(0, 255, (20, 40, 3), dtype=np.uint8)[:, ::2]
    assert encode_png(image) == encode_png(np.ascontiguousarray(image))
