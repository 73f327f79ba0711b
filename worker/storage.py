"""Content-addressed PNG storage: `<storage>/<sha[:2]>/<sha>.png`, written atomically.

A PNG is encoded in memory, written to a temporary name in the target folder, flushed to disk and
renamed with `os.replace`, so a reader (or a worker killed mid-write) never sees a partial file
under the final name. The same pixels always give the same bytes and so the same path: a redone
item finds its file already there and writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
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


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
