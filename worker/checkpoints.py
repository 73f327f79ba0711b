"""Fine-tune checkpoints on disk: refuse unsafe ones, snapshot them atomically, restore.

`alpaca.train` writes its checkpoint into a work folder as several files (weights, JSON,
optimizer moments, run state), each replaced atomically but not all at once, so a kill between
two of them leaves a mixed folder. The worker therefore never resumes from the work folder: after
each checkpoint it copies the four files into `checkpoints/.step-N.tmp/`, fsyncs every file and
the folder, renames it to `checkpoints/step-N/` and fsyncs the parent. A resumed run rebuilds
the work folder from the newest complete snapshot (checked first), so it continues from the last
completed checkpoint and never reads a partial file. The final model (weights + JSON,
MODEL_FILES) is published to object storage by worker.model_store.

`guard_checkpoint` runs before any checkpoint is given to the model code: only safetensors +
JSON folders pass; pickled weights (.pt/.bin/..., pickle or torch-zip magic, a "safetensors" file
that is not one) raise UnsafeCheckpoint, and nothing is ever unpickled -- there is no fallback.
Knows files and the checkpoint layout (kinds.checkpoint_files' names); not the store or Celery.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import struct
from pathlib import Path

from kinds.checkpoint_files import META, OPTIM, PICKLE_SUFFIXES, TRAIN_STATE, WEIGHTS, file_sha256
from kinds.errors import MissingCheckpoint, UnsafeCheckpoint

log = logging.getLogger(__name__)

MODEL_FILES = (WEIGHTS, META)
RUN_FILES = (WEIGHTS, META, OPTIM, TRAIN_STATE)
SAFETENSORS = (WEIGHTS, OPTIM)
KEEP_SNAPSHOTS = 2
SNAPSHOT_NAME = re.compile(r"step-(\d{8})")
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")
MAX_SAFETENSORS_HEADER = 100_000_000


def guard_checkpoint(path: Path, files: tuple[str, ...] = MODEL_FILES) -> None:
    """Raise UnsafeCheckpoint or MissingCheckpoint unless `path` is a safetensors + JSON folder."""
    path = Path(path)
    if path.is_file() or path.suffix in PICKLE_SUFFIXES:
        if path.suffix in PICKLE_SUFFIXES or _looks_pickled(path):
            raise UnsafeCheckpoint(f"{path.name} is a pickled checkpoint; only safetensors "
                                   "checkpoints are loaded")
        raise MissingCheckpoint(f"{path} is a file, not a checkpoint folder")
    if not path.is_dir():
        raise MissingCheckpoint(f"no checkpoint folder at {path}")
    for entry in path.iterdir():  # known files are checked by structure below
        other = entry.is_file() and entry.name not in RUN_FILES
        if entry.suffix in PICKLE_SUFFIXES or (other and _looks_pickled(entry)):
            raise UnsafeCheckpoint(f"{entry.name} in the checkpoint is pickled; refusing the "
                                   "whole checkpoint")
    for name in files:
        if not (path / name).is_file():
            raise MissingCheckpoint(f"the checkpoint at {path} has no {name}")
    for name in set(files) & set(SAFETENSORS):
        _check_safetensors(path / name)
    for name in set(files) - set(SAFETENSORS):
        _check_json(path / name)


def _looks_pickled(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4).startswith(_PICKLE_MAGIC)


def _check_safetensors(path: Path) -> None:
    """A safetensors file starts with an 8-byte header length and a JSON header."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    size = struct.unpack("<Q", head[:8])[0] if len(head) == 9 else 0
    if not 0 < size < MAX_SAFETENSORS_HEADER or head[8:9] != b"{":
        raise UnsafeCheckpoint(f"{path.name} is not a safetensors file")


def _check_json(path: Path) -> None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeCheckpoint(f"{path.name} is not a JSON file: {exc}") from exc


def checkpoint_step(folder: Path) -> int | None:
    """The step of the complete checkpoint in `folder` (run state and weights agree), or None."""
    try:
        state = json.loads((folder / TRAIN_STATE).read_text(encoding="utf-8"))
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    complete = (state.get("step") == meta.get("step")
                and meta.get("weights_sha256") == file_sha256(folder / WEIGHTS)
                and state.get("optimizer_sha256") == file_sha256(folder / OPTIM))
    return int(state["step"]) if complete else None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_synced(src: Path, dst: Path) -> None:
    with open(src, "rb") as reader, open(dst, "wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        os.fsync(writer.fileno())


def copy_atomically(src: Path, dst: Path, files: tuple[str, ...]) -> Path:
    """Copy `files` from src into a new folder dst: temp folder, fsync, rename, fsync parent."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name in files:
            _copy_synced(src / name, tmp / name)
        fsync_dir(tmp)
        os.replace(tmp, dst)
        fsync_dir(dst.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst


def snapshots(root: Path) -> list[tuple[int, Path]]:
    """Complete snapshots under root, oldest first (temporary folders are not listed)."""
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir()
             if p.is_dir() and (m := SNAPSHOT_NAME.fullmatch(p.name))]
    return sorted(found)


def snapshot(work: Path, root: Path, step: int) -> Path | None:
    """Snapshot the work folder's checkpoint of `step`; None if the folder is not at that step."""
    final = root / f"step-{step:08d}"
    if final.is_dir():
        return final
    if checkpoint_step(work) != step:
        return None
    copy_atomically(work, final, RUN_FILES)
    for _old_step, old in snapshots(root)[:-KEEP_SNAPSHOTS]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def restore(work: Path, root: Path) -> int | None:
    """Rebuild the work folder from the newest complete snapshot; its step, or None (fresh)."""
    shutil.rmtree(work, ignore_errors=True)
    found = snapshots(root)
    if not found:
        work.mkdir(parents=True)
        return None
    step, newest = found[-1]
    guard_checkpoint(newest, RUN_FILES)
    if checkpoint_step(newest) != step:
        raise UnsafeCheckpoint(f"snapshot {newest.name} does not match its own files")
    shutil.copytree(newest, work)
    return step

