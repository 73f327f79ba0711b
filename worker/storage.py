"""Content-addressed PNG storage: `<storage>/<sha[:2]>/<sha>.png`, written atomically.

A PNG is encoded in memory, written to a temporary name in the target folder, flushed to disk and
renamed with `os.replace`, so a reader (or a worker killed mid-write) never sees a partial file
under the final name. The same pixels always give the same bytes and so the same path: a redone
item finds its file already there and writes nothing.

`save_pngs` stores a batch: it encodes the images in the calling thread (a 64x64 PNG costs
little more to encode than to hand to a thread: on two cores, 32 of them encoded no faster on
threads, for 15 % more CPU), then writes the files on a few threads, a share each, so their
fsyncs share the file system's journal commits (one fsync after another costs a commit each,
~4 ms on a plain disk); each file is still on disk before its name.

A writer killed between the write and the rename leaves its temporary file behind
(`<sha[:2]>/.<sha>.png.<pid>.tmp`), and an API process killed while it writes a dataset upload
leaves its temporary folder (`datasets/.<id>.<pid>.tmp/`, api.dataset_upload.write_images);
`remove_stale_temp_files` deletes those that nobody has written to for a while (the sweeper
calls it).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image


def encode_png(image: np.ndarray) -> bytes:
    """uint8 (H, W, 3) -> PNG bytes (no metadata, so the bytes depend on the pixels only)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def relative_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}.png"


def save_png(storage_dir: Path, image: np.ndarray) -> tuple[str, str]:
    """Store `image`; returns (path relative to storage_dir, sha256 of the PNG bytes)."""
    data = encode_png(image)
    sha = hashlib.sha256(data).hexdigest()
    rel = relative_path(sha)
    target = Path(storage_dir) / rel
    if not target.exists():
        _write_atomically(target, data)
    return rel, sha


_POOL_THREADS = 8
_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    """The process's writer threads, started on first use (never before a fork)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_POOL_THREADS, thread_name_prefix="png")
    return _pool


def save_pngs(storage_dir: Path, images: Sequence[np.ndarray]) -> list[tuple[str, str]]:
    """`save_png` for a batch of images, in order; each distinct PNG is written once."""
    pool = _threads()
    encoded = [encode_png(image) for image in images]
    shas = [hashlib.sha256(data).hexdigest() for data in encoded]
    todo = {sha: data for sha, data in zip(shas, encoded, strict=True)}
    targets = {sha: Path(storage_dir) / relative_path(sha) for sha in todo}
    missing = [sha for sha, target in targets.items() if not target.exists()]

    def write(share: list[str]) -> None:
        for sha in share:
            _write_atomically(targets[sha], todo[sha])

    # A share of the files per thread: one hand-off each, not one per file.
    threads = min(_POOL_THREADS, len(missing))
    list(pool.map(write, [missing[i::threads] for i in range(threads)]))
    return [(relative_path(sha), sha) for sha in shas]


TEMP_GLOB = "*/.*.png.*.tmp"  # below storage_dir: what _temp_path names, for any sha and pid
DATASET_TEMP_GLOB = "datasets/.*.tmp"  # what api.dataset_upload.write_images names, any id and pid


def _temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


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


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(target)
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
