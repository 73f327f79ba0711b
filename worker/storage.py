"""The worker's images in object storage (objects/): PNG encoding and a batch's write.

`store_images` encodes a batch in the calling thread (a 64x64 PNG costs little more to encode
than to hand to a thread: on two cores, 32 of them encoded no faster on threads, for 15 % more
CPU) and stores the PNGs under their content keys `<sha[:2]>/<sha>.png` with
`objects.write_content`, which returns once every object is durable (local: written, flushed and
renamed, the changed folders flushed; S3: every PUT returned). The rows that name the keys are
committed after it returns, never before. The same pixels always give the same bytes and so the
same key: a redone item finds its object already there.

A writer killed between the write and the rename leaves its temporary file behind
(`<sha[:2]>/.<sha>.png.<pid>-<random>.tmp`, objects/local.py), and an API process killed while it
writes a dataset upload leaves its temporary folder (`datasets/.<id>.<pid>.tmp/`,
api.dataset_upload.write_images); `remove_stale_temp_files` deletes those that nobody has written
to for a while (the sweeper calls it).
"""

from __future__ import annotations

import io
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from objects import LocalStorage, Storage, write_content


def encode_png(image: np.ndarray) -> bytes:
    """uint8 (H, W, 3) -> PNG bytes (no metadata, so the bytes depend on the pixels only)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def store_images(storage: Storage, images: Sequence[np.ndarray]) -> list[tuple[str, str]]:
    """Store a batch's images, durably; (key, sha256 of the PNG bytes) for each, in order. Each
    distinct PNG is written once."""
    return write_content(storage, [encode_png(image) for image in images])


def save_png(storage_dir: Path, image: np.ndarray) -> tuple[str, str]:
    """Store one image under a local directory; (key relative to it, sha256 of the PNG)."""
    return store_images(LocalStorage(storage_dir), [image])[0]


TEMP_GLOB = "*/.*.png.*.tmp"  # below storage_dir: objects/local.py's temporary PNG names
DATASET_TEMP_GLOB = "datasets/.*.tmp"  # what api.dataset_upload.write_images names, any id and pid


def remove_stale_temp_files(storage_dir: Path, older_than: float) -> list[Path]:
    """Delete the temporary PNGs and dataset folders last modified before `older_than` (seconds
    since the epoch): a live writer renames them within moments, so an old one was left by a
    killed writer. Returns the paths removed."""
    root, removed = Path(storage_dir), []
    for path in [*root.glob(TEMP_GLOB), *root.glob(DATASET_TEMP_GLOB)]:
        try:
            info = path.lstat()
            if info.st_mtime >= older_than:
                continue
            if stat.S_ISREG(info.st_mode):
                path.unlink()
            elif stat.S_ISDIR(info.st_mode):
                shutil.rmtree(path)
            else:
                continue  # a link or other oddity: not ours to remove
            removed.append(path)
        except FileNotFoundError:
            continue  # renamed into place or removed by another sweeper meanwhile
    return removed
