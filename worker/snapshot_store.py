"""A fine-tune's snapshots in object storage, so a run resumes on another machine.

On the local backend the snapshots already live in the storage folder
(`<storage>/finetunes/<job>/checkpoints/step-N/`, worker.checkpoints) and nothing here acts. On
S3 the run works in a scratch folder of this machine (`<var_dir>/finetunes/<job>/`); each
snapshot is then copied to `finetunes/<job>/step-N/<file>` (`push`, durable on return, before the
job row names its step) and the older ones deleted, and a run that starts with no local snapshot
as new as the newest stored one downloads it first (`pull`). A stored step counts only with all
its files, since a writer killed midway leaves some; worker.checkpoints.restore then checks it as
it checks any snapshot. `drop` deletes a finished job's stored snapshots.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from objects import LocalStorage, Storage
from worker.checkpoints import KEEP_SNAPSHOTS, RUN_FILES, SNAPSHOT_NAME, snapshots


def remote(storage: Storage) -> bool:
    """Whether snapshots must be copied to storage (it is not the local folder they live in)."""
    return not isinstance(storage, LocalStorage)


def _prefix(job_id: str) -> str:
    return f"finetunes/{job_id}/"


def stored_steps(storage: Storage, job_id: str) -> list[int]:
    """The steps of the job's complete snapshots in storage, oldest first."""
    files: dict[int, set[str]] = {}
    for key in storage.list(_prefix(job_id)):
        folder, _, name = key[len(_prefix(job_id)):].partition("/")
        if (match := SNAPSHOT_NAME.fullmatch(folder)) is not None:
            files.setdefault(int(match.group(1)), set()).add(name)
    return sorted(step for step, names in files.items() if names >= set(RUN_FILES))


def push(storage: Storage, job_id: str, folder: Path) -> None:
    """Store snapshot `folder` (`step-N`) durably, then delete the job's older stored ones
    beyond the newest KEEP_SNAPSHOTS."""
    if not remote(storage):
        return
    prefix = f"{_prefix(job_id)}{folder.name}/"
    storage.put_many({prefix + name: (folder / name).read_bytes() for name in RUN_FILES})
    for step in stored_steps(storage, job_id)[:-KEEP_SNAPSHOTS]:
        for name in RUN_FILES:
            storage.delete(f"{_prefix(job_id)}step-{step:08d}/{name}")


def pull(storage: Storage, job_id: str, root: Path) -> None:
    """Download the newest stored snapshot into `root` unless `root` has one as new."""
    if not remote(storage):
        return
    stored = stored_steps(storage, job_id)
    local = [step for step, _ in snapshots(root)]
    if not stored or (local and local[-1] >= stored[-1]):
        return
    name = f"step-{stored[-1]:08d}"
    temp = root / f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    temp.mkdir(parents=True)
    try:
        for file in RUN_FILES:
            (temp / file).write_bytes(storage.get(f"{_prefix(job_id)}{name}/{file}"))
        temp.rename(root / name)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def drop(storage: Storage, job_id: str) -> None:
    """Delete every stored object of the job's snapshots (the job is over)."""
    if remote(storage):
        for key in list(storage.list(_prefix(job_id))):
            storage.delete(key)


def scratch_root(storage: Storage, storage_dir: Path, var_dir: Path, job_id: str) -> Path:
    """Where a run keeps the job's work folder and snapshots on this machine."""
    return (var_dir if remote(storage) else storage_dir) / "finetunes" / job_id
