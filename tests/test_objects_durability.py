"""Durable batch writes (objects/): a crash between the object write and the row commit never
leaves a committed row whose object is missing, on either backend; and the local backend's
order of flushes is the one that makes that hold across a power loss, which no killed process
can show (the page cache outlives it), so it is checked as a sequence of system calls."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.settings import Settings
import objects.local
from objects import LocalStorage, get_storage

ROOT = Path(__file__).resolve().parent.parent

# The writer: batches of 8 distinct blobs, each batch stored (write_content) and then its rows
# committed in one transaction; KILL_AFTER_WRITE=n makes it SIGKILL itself between the object
# write and the commit of batch n. Prints the batch number after each commit.
WRITER = """
import os, signal, sqlite3, sys
from config.settings import Settings
from objects import get_storage, write_content

storage = get_storage(Settings())
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS items (key TEXT, sha TEXT)")
kill_after = int(os.environ.get("KILL_AFTER_WRITE", "-1"))
for batch in range(10_000):
    blobs = [os.urandom(64) + b"%d-%d" % (batch, i) for i in range(8)]
    stored = write_content(storage, blobs)
    if batch == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
    db.execute("BEGIN")
    db.executemany("INSERT INTO items VALUES (?, ?)", stored)
    db.execute("COMMIT")
    print(batch, flush=True)
"""


@pytest.fixture(params=["local-fsync", "local-syncfs", "s3"])
def backend_env(request, tmp_path: Path) -> dict[str, str]:
    """The settings, as environment variables, of a fresh local folder or S3 prefix."""
    if request.param.startswith("local-"):
        return {"STORAGE_URL": "", "STORAGE_DIR": str(tmp_path / "objects"),
                "STORAGE_LOCAL_SYNC": request.param.removeprefix("local-")}
    return request.getfixturevalue("s3_server").environment(request.getfixturevalue("s3_prefix"))


def start_writer(db: Path, env: dict[str, str], **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env, **extra})


def committed_rows(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT key, sha FROM items").fetchall()


def assert_every_committed_row_has_its_object(db: Path, env: dict[str, str]) -> int:
    storage = get_storage(Settings(**{name.lower(): value for name, value in env.items()}))
    rows = committed_rows(db)
    for key, sha in rows:
        assert hashlib.sha256(storage.get(key)).hexdigest() == sha, key
    return len(rows)


def test_writer_killed_between_object_write_and_row_commit(tmp_path, backend_env):
    writer = start_writer(tmp_path / "rows.db", backend_env, KILL_AFTER_WRITE="3")
    out, _ = writer.communicate(timeout=120)
    assert writer.returncode == -signal.SIGKILL
    assert out.split() == ["0", "1", "2"]  # batch 3's objects were written, its rows never were
    assert assert_every_committed_row_has_its_object(tmp_path / "rows.db", backend_env) == 24


def test_writer_killed_at_a_random_moment_leaves_no_row_without_its_object(tmp_path, backend_env):
    writer = start_writer(tmp_path / "rows.db", backend_env)
    assert writer.stdout.readline().strip() == "0"  # running: a batch committed
    time.sleep(0.05 + (os.getpid() % 7) / 20)  # somewhere in a later batch
    writer.kill()
    writer.wait(timeout=30)
    assert assert_every_committed_row_has_its_object(tmp_path / "rows.db", backend_env) >= 8


@pytest.fixture
def flushes(monkeypatch) -> list[tuple[str, str]]:
    """The fsyncs (of which file or folder), syncfs calls and renames made, in order."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace, real_syncfs = os.fsync, os.replace, objects.local._syncfs

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("rename", str(dst)))
        real_replace(src, dst)

    def syncfs(root: Path) -> None:
        events.append(("syncfs", str(root)))
        real_syncfs(root)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(objects.local, "_syncfs", syncfs)
    return events


BATCH = {"ab/one.png": b"1", "ab/two.png": b"2", "cd/three.png": b"3"}


def test_local_fsync_mode_syncs_each_file_then_renames_then_syncs_the_folders(tmp_path, flushes):
    LocalStorage(tmp_path, sync="fsync").put_many(BATCH)
    kinds = [kind for kind, _ in flushes]
    first_rename, last_rename = kinds.index("rename"), len(kinds) - kinds[::-1].index("rename") - 1
    data_syncs = [Path(path).name for _, path in flushes[:first_rename]]
    folder_syncs = {path for _, path in flushes[last_rename + 1:]}
    assert kinds[first_rename:last_rename + 1] == ["rename"] * 3
    assert len(data_syncs) == 3 and all(name.endswith(".tmp") for name in data_syncs)
    assert folder_syncs == {str(tmp_path), str(tmp_path / "ab"), str(tmp_path / "cd")}


def test_local_syncfs_mode_flushes_once_before_and_once_after_the_renames(tmp_path, flushes):
    LocalStorage(tmp_path, sync="syncfs").put_many(BATCH)
    assert [kind for kind, _ in flushes] == ["syncfs", "rename", "rename", "rename", "syncfs"]


def test_an_unknown_sync_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sync must be one of"):
        LocalStorage(tmp_path, sync="never")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs(2) is Linux's")
def test_the_default_local_storage_flushes_a_batch_once_before_and_once_after_the_renames(
        tmp_path, flushes):
    get_storage(Settings(storage_dir=tmp_path)).put_many(BATCH)
    assert [kind for kind, _ in flushes] == ["syncfs", "rename", "rename", "rename", "syncfs"]
