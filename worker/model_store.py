"""Model checkpoints and dataset images in object storage, as files on this machine: a
fine-tuned model is published under `models/<version>/` (its weights and JSON) and the catalog
names that key prefix, so any worker that shares the storage can serve it; `local_folder` gives a
loader a folder on this machine, `local_file` gives a fine-tune a dataset image.

On the local backend the folder is the storage's own (`<storage>/models/<version>/`, where
published models have always lived). On S3 the files are fetched on first use into a cache
folder of this machine (`<var_dir>/object-cache/models/<version>/`), the weights checked against
the catalog's sha256 before the folder gets its final name, so a cached folder is always a
complete, checked copy (dataset images likewise, each checked against its row's sha256). A
catalog path that is not a `models/...` key (rows written before object storage, the shipped
default's folder) is a local folder, used as it is.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path

from config import Settings
from kinds.checkpoint_files import WEIGHTS
from kinds.errors import MissingCheckpoint, UnsafeCheckpoint
from objects import LocalStorage, ObjectNotFound, Storage, check_key
from worker.checkpoints import MODEL_FILES

MODELS_PREFIX = "models/"
CACHE_FOLDER = "object-cache"  # under var_dir


def cache_root(settings: Settings) -> Path:
    """This machine's folder of fetched checkpoints and dataset images."""
    return settings.var_dir / CACHE_FOLDER


def publish(storage: Storage, src: Path, version: str) -> str:
    """Store the model files of folder `src` under `models/<version>/`, durably; returns the
    key prefix the catalog records. The version is the weights' hash, so an object already
    there holds the same bytes and is not written again."""
    prefix = check_key(f"{MODELS_PREFIX}{version}")
    storage.put_many({f"{prefix}/{name}": (src / name).read_bytes() for name in MODEL_FILES},
                     same_bytes_if_present=True)
    return prefix


def is_stored(checkpoint: str) -> bool:
    """Whether a catalog checkpoint path is a key prefix in object storage."""
    if not checkpoint.startswith(MODELS_PREFIX):
        return False
    try:
        check_key(checkpoint)
    except ValueError:
        return False
    return True


def local_folder(storage: Storage, checkpoint: str, cache: Path,
                 sha256: str | None = None) -> Path:
    """A folder on this machine holding the checkpoint the catalog path names (fetched into
    `cache` on first use). MissingCheckpoint if storage lacks a file, UnsafeCheckpoint if
    the weights are not the ones the catalog's `sha256` names."""
    if not is_stored(checkpoint):
        return Path(checkpoint)
    if isinstance(storage, LocalStorage):
        return storage.path(checkpoint)
    target = cache / checkpoint
    if not target.is_dir():
        fetch(storage, checkpoint, target, sha256)
    return target


def local_file(storage: Storage, key: str, cache: Path, sha256: str) -> Path:
    """A file on this machine holding the object under `key` (fetched into `cache` on first
    use and checked against `sha256`); a path that does not exist if storage has no such object,
    UnsafeCheckpoint if its bytes are not the ones `sha256` names."""
    if isinstance(storage, LocalStorage):
        return storage.path(key)
    target = cache / check_key(key)
    if not target.is_file():
        try:
            data = storage.get(key)
        except ObjectNotFound:
            return target
        if hashlib.sha256(data).hexdigest() != sha256:
            raise UnsafeCheckpoint(f"{key} does not match its sha256 {sha256[:12]}...")
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_beside(target)
        temp.write_bytes(data)
        temp.replace(target)
    return target


def _temp_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def fetch(storage: Storage, prefix: str, target: Path, sha256: str | None) -> None:
    """Download the model files under `prefix` into `target`, checked, via a temporary folder
    renamed into place (a process killed midway leaves no half folder under the final name)."""
    temp = _temp_beside(target)
    temp.mkdir(parents=True)
    try:
        for name in MODEL_FILES:
            (temp / name).write_bytes(_checked(storage, f"{prefix}/{name}", name, sha256))
        try:
            temp.rename(target)
        except OSError:
            if not target.is_dir():  # not another process's copy that got there first
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _checked(storage: Storage, key: str, name: str, sha256: str | None) -> bytes:
    try:
        data = storage.get(key)
    except ObjectNotFound:
        raise MissingCheckpoint(f"no object {key} in {storage!r}") from None
    if name == WEIGHTS and sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise UnsafeCheckpoint(f"{key} does not match the catalog's sha256 {sha256[:12]}...")
    return data
