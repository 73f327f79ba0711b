"""A fine-tune's snapshots in S3 (worker/snapshot_store.py): each pushed snapshot is stored and
only the newest KEEP_SNAPSHOTS kept, a step missing a file does not count, a run on a machine
with no local snapshot pulls the newest one (and one as new locally is not fetched again), and a
finished job's snapshots are dropped. On the local backend nothing is copied."""

from __future__ import annotations

from pathlib import Path

import pytest

from objects import LocalStorage, Storage, get_storage
from tests.worker_support import make_settings
from worker.checkpoints import RUN_FILES
from worker.snapshot_store import drop, pull, push, scratch_root, stored_steps

JOB = "f" * 32


@pytest.fixture
def s3(tmp_path: Path, s3_server, s3_prefix) -> Storage:
    env = s3_server.environment(s3_prefix)
    return get_storage(make_settings("sqlite://", tmp_path / "unused",
                                     **{name.lower(): value for name, value in env.items()}))


def snapshot_folder(root: Path, step: int) -> Path:
    folder = root / f"step-{step:08d}"
    folder.mkdir(parents=True)
    for name in RUN_FILES:
        (folder / name).write_bytes(f"{name} at step {step}".encode())
    return folder


def test_snapshots_move_to_another_machine_through_s3(s3, tmp_path):
    machine_a, machine_b = tmp_path / "a" / "checkpoints", tmp_path / "b" / "checkpoints"
    for step in (4, 8, 12):
        push(s3, JOB, snapshot_folder(machine_a, step))
    s3.put(f"finetunes/{JOB}/step-00000016/{RUN_FILES[0]}", b"a writer killed midway")
    assert stored_steps(s3, JOB) == [8, 12]  # two kept; step 16 is incomplete
    pull(s3, JOB, machine_b)
    newest = machine_b / "step-00000012"
    assert sorted(p.name for p in machine_b.iterdir()) == [newest.name]
    assert all((newest / n).read_bytes() == (machine_a / newest.name / n).read_bytes()
               for n in RUN_FILES)
    s3.delete(f"finetunes/{JOB}/step-00000012/{RUN_FILES[0]}")
    pull(s3, JOB, machine_b)  # step 8 is older than what machine b has: nothing fetched
    assert sorted(p.name for p in machine_b.iterdir()) == [newest.name]
    drop(s3, JOB)
    assert list(s3.list(f"finetunes/{JOB}/")) == []


def test_on_the_local_backend_snapshots_stay_in_the_storage_folder(tmp_path):
    storage = LocalStorage(tmp_path / "storage")
    root = scratch_root(storage, tmp_path / "storage", tmp_path / "var", JOB)
    assert root == tmp_path / "storage" / "finetunes" / JOB
    push(storage, JOB, snapshot_folder(root / "checkpoints", 4))
    assert sorted(storage.list("")) == sorted(f"finetunes/{JOB}/checkpoints/step-00000004/{n}"
                                              for n in RUN_FILES)  # no second copy
