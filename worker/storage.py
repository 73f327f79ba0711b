"""The worker's images in object storage (objects/): PNG encoding and a batch's write.

`store_results` writes a batch: its final images and the round-by-round strips of the items
whose rounds changed their image (worker/strip.py), in one `store_images` call. That encodes
in the calling thread (a 64x64 PNG costs little more to encode than to hand to a thread: on two
cores, 32 of them encoded no faster on threads, for 15 % more CPU) and stores the PNGs under
their content keys `<sha[:2]>/<sha>.png` with `objects.write_content`, which returns once every
object is durable (local: written, flushed and renamed, the changed folders flushed; S3: every
PUT returned). The rows that name the keys are committed after it returns, never before. The
same pixels always give the same bytes and so the same key: a redone item finds its object
already there.

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
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from objects import LocalStorage, Storage, write_content
from worker.strip import needs_strip, round_strip


def encode_png(image: np.ndarray) -> bytes:
    """uint8 (H, W, 3) -> PNG bytes (no metadata, so the bytes depend on the pixels only).
    An image of up to SMALL_IMAGE_PIXELS is written directly (`small_png`), a larger one by
    Pillow, whose filters pay off there."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    if image.shape[0] * image.shape[1] <= SMALL_IMAGE_PIXELS:
        return small_png(image)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


SMALL_IMAGE_PIXELS = 64 * 64
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def small_png(image: np.ndarray) -> bytes:
    """A uint8 (H, W, 3) image as the smallest valid PNG writer makes it: one IDAT of zlib's
    default level over the rows, each with filter type 0 (none). For a small image Pillow's
    fixed cost per image (~200 us of CPU on this project's machine, 10x the compression's)
    is most of the time a batch spends encoding; its adaptive filters only pay off on larger
    images."""
    height, width = image.shape[:2]
    rows = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # column 0: each row's filter type
    rows[:, 1:] = image.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.data))
            + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def store_images(storage: Storage, images: Sequence[np.ndarray]) -> list[tuple[str, str]]:
    """Store a batch's images, durably; (key, sha256 of the PNG bytes) for each, in order. Each
    distinct PNG is written once."""
    return write_content(storage, [encode_png(image) for image in images])


def store_results(storage: Storage, rounds: Sequence[Sequence[np.ndarray]],
                  ) -> list[tuple[str, str, str | None]]:
    """Store each item's final image and, when its rounds drew different images, its
    round-by-round strip (worker/strip.py), all in one durable write; per item (image key,
    sha256 of the image's PNG, strip key or None), in order. `rounds`: per item, the image of
    every round it went through, the final one last."""
    strips = {n: round_strip(images) for n, images in enumerate(rounds) if needs_strip(images)}
    stored = store_images(storage, [images[-1] for images in rounds] + list(strips.values()))
    strip_keys = dict(zip(strips, (key for key, _ in stored[len(rounds):]), strict=True))
    return [(key, sha, strip_keys.get(n)) for n, (key, sha) in enumerate(stored[:len(rounds)])]


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
