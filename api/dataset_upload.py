"""Storing a validated dataset: images into object storage durably, then the rows.

The order is the one that leaves nothing half-done: the archive is checked in full (api.archive),
the accepted images are stored under `datasets/<id>/`, and only then are the dataset and file
rows committed. If the commit fails the images are removed. On the local backend they are
written into a temporary folder, fsynced and renamed to `datasets/<id>/` in one step; on S3 they
are PUT together (`put_many`, durable on return). Images are stored under their content hash,
never under a name from the archive.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from api.archive import ArchiveLimits, Verdict, check_archive
from config import Settings
from objects import LocalStorage, Storage
from store.datasets import NewDatasetFile, create_dataset
from store.models import Dataset, new_id

log = logging.getLogger(__name__)


def archive_limits(settings: Settings) -> ArchiveLimits:
    return ArchiveLimits(
        max_members=settings.max_dataset_members,
        max_uncompressed_bytes=settings.max_dataset_uncompressed_bytes,
        max_ratio=settings.max_compression_ratio, max_image_bytes=settings.max_image_bytes,
        max_image_pixels=settings.max_image_pixels, max_image_side=settings.max_image_side,
        max_caption_chars=settings.max_caption_chars,
    )


def digest(upload: IO[bytes]) -> tuple[str, int]:
    """SHA-256 and size of the upload; leaves it rewound."""
    upload.seek(0)
    sha, size = hashlib.sha256(), 0
    for block in iter(lambda: upload.read(1 << 20), b""):
        sha.update(block)
        size += len(block)
    upload.seek(0)
    return sha.hexdigest(), size


def save_dataset(session: Session, storage: Storage, settings: Settings, tenant_id: str,
                 name: str, upload: IO[bytes]) -> Dataset:
    """Validate, store and record an upload; raises api.archive.ArchiveError if it is refused."""
    sha, size = digest(upload)
    verdicts = check_archive(upload, archive_limits(settings))
    dataset_id = new_id()
    relative = f"datasets/{dataset_id}"
    undo = store_images(storage, relative, verdicts)
    try:
        dataset = create_dataset(
            session, dataset_id=dataset_id, tenant_id=tenant_id, name=name,
            storage_path=relative, archive_sha256=sha, archive_bytes=size,
            files=[_file(relative, v) for v in verdicts])
        session.commit()
    except BaseException:
        session.rollback()
        undo()
        raise
    log.info("dataset %s: stored for tenant %s, %d accepted, %d rejected, %d bytes", dataset_id,
             tenant_id, dataset.accepted_files, dataset.rejected_files, size)
    return dataset


def _file(relative: str, v: Verdict) -> NewDatasetFile:
    if v.image is None:
        return NewDatasetFile(v.name, accepted=False, reason=v.reason, message=v.message,
                              caption=v.caption)
    return NewDatasetFile(v.name, accepted=True, caption=v.caption,
                          image_path=f"{relative}/{v.image.sha256}.png", sha256=v.image.sha256,
                          width=v.image.width, height=v.image.height, format=v.image.format)


def store_images(storage: Storage, relative: str, verdicts: list[Verdict]) -> Callable[[], None]:
    """Store the accepted images under `relative/<sha256>.png`, durably; returns what removes
    them again."""
    if isinstance(storage, LocalStorage):
        folder = write_images(storage.root, relative, verdicts)
        return lambda: shutil.rmtree(folder, ignore_errors=True)
    images = {f"{relative}/{v.image.sha256}.png": v.image.png
              for v in verdicts if v.image is not None}
    storage.put_many(images)
    return lambda: [storage.delete(key) for key in images]


def write_images(storage: Path, relative: str, verdicts: list[Verdict]) -> Path:
    """Write the accepted images into storage/relative atomically (temp folder, fsync, rename)."""
    final = storage / relative
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True)
    try:
        for v in verdicts:
            if v.image is not None and not (tmp / f"{v.image.sha256}.png").exists():
                _write_synced(tmp / f"{v.image.sha256}.png", v.image.png)
        fsync_dir(tmp)
        os.replace(tmp, final)
        fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (new names, renames) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
