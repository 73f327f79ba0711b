"""The local-directory backend: a key is a file under the root (`make demo`'s default).

Durability (`put_many`): every object of a batch is written to a temporary name beside its target
(`.<name>.<pid>-<random>.tmp`, unique even for two writes of one key at once), its data is
flushed, each is renamed to its key, and the renames are flushed. A crash before the last flush
can lose a rename but never leaves a final name on a file whose data is not on disk, so a later
batch that finds a key present may trust it; the rows that name the keys commit only after
`put_many` returns. (Today's worker/storage.py fsyncs each
file but never the folder, so a crash could lose a PNG whose row had committed.) Two ways to
flush (`sync`, setting STORAGE_LOCAL_SYNC):

- "fsync" (default): each file fsynced right after it is written, the batch's files at once on a
  few threads (concurrent fsyncs share the file system's journal commits), then after the renames
  the folders whose entries changed, fsynced together.
- "syncfs" (Linux): no fsync per file; one `syncfs` of the root's file system after the writes
  and one after the renames. It also flushes every other writer's dirty pages on that file
  system, so it pays off on a volume of the storage's own and loses on a busy shared disk.

bench/storage.py prints both beside today's writer on the machine it runs on. Here (2 cores
shared with six other sessions, load 15-20, one ext4 disk for everything), over five runs:
"fsync" wrote 0.76-1.23x today's files/s, "syncfs" 0.52-1.15x; CPU per file (last two runs)
0.78-0.96x and 0.77-0.79x of today's. Hence "fsync" as the default, and "syncfs" for a worker
whose storage has a volume of its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from objects.base import ObjectNotFound, check_key, check_prefix, writer_threads

TEMP_SUFFIX = ".tmp"  # temporary names start with "." and end with this
SYNC_MODES = ("fsync", "syncfs")


class LocalStorage:
    """Objects as files under `root` (created on first write)."""

    def __init__(self, root: Path | str, sync: str = "fsync") -> None:
        if sync not in SYNC_MODES:
            raise ValueError(f"sync must be one of {SYNC_MODES}, got {sync!r}")
        if sync == "syncfs" and _libc_syncfs is None:
            raise ValueError("sync='syncfs' needs Linux's syncfs(2); use sync='fsync'")
        self.root = Path(root)
        self.sync = sync

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file that holds `key` (whether or not it exists)."""
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        self.put_many({key: data})

    def put_many(self, objects: Mapping[str, bytes], same_bytes_if_present: bool = False) -> None:
        targets = {self.path(key): data for key, data in objects.items()}
        if same_bytes_if_present:
            targets = {path: data for path, data in targets.items() if not path.is_file()}
        if not targets:
            return
        per_file = self.sync == "fsync"
        write = functools.partial(_write_temp, fsync=per_file)
        temps = dict(zip(targets, writer_threads().map(write, targets.items()), strict=True))
        if not per_file:
            _syncfs(self.root)  # the batch's data, in one flush
        for path, temp in temps.items():
            os.replace(temp, path)
        if per_file:
            list(writer_threads().map(fsync_path, self._folders_above(temps)))
        else:
            _syncfs(self.root)  # the new names, in one flush

    def _folders_above(self, paths: Iterable[Path]) -> set[Path]:
        """The folders between each path and the root, the root included: the entries that a
        rename or a new folder changed."""
        folders = {self.root}
        for path in paths:
            folders.update(parent for parent in path.parents if self.root in parent.parents)
        return folders

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink()
        except (FileNotFoundError, NotADirectoryError):
            pass

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in lexicographic order (as S3 lists them)."""
        check_prefix(prefix)
        start = self.root / prefix.rpartition("/")[0]
        if not start.is_dir():
            return iter(())
        keys = (path.relative_to(self.root).as_posix() for path in _files_below(start))
        return iter(sorted(key for key in keys if key.startswith(prefix)))

    def stream(self, key: str, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
        try:
            handle = open(self.path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        return _chunks(handle, chunk_bytes)

    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        """None: a local file has no URL of its own; the API streams it."""
        check_key(key)
        return None

    def remove_stale_temp_files(self, older_than: float) -> list[Path]:
        """Delete temporary files last modified before `older_than` (epoch seconds): a live
        writer renames them within moments, so an old one was left by a killed writer."""
        removed = []
        for path in self.root.rglob(f".*{TEMP_SUFFIX}"):
            try:
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_mtime < older_than:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue  # renamed or removed meanwhile
        return removed


def _write_temp(item: tuple[Path, bytes], fsync: bool) -> Path:
    """Write `data` to a temporary name beside `target` (on disk before this returns if fsync)."""
    target, data = item
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = f"{os.getpid()}-{secrets.token_hex(6)}"
    temp = target.with_name(f".{target.name}.{writer}{TEMP_SUFFIX}")
    with open(temp, "wb") as handle:
        handle.write(data)
        if fsync:
            handle.flush()
            os.fsync(handle.fileno())
    return temp


def _files_below(directory: Path) -> Iterator[Path]:
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                yield Path(dirpath) / name


def _chunks(handle, chunk_bytes: int) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(chunk_bytes):
            yield chunk


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[int]:
    """A read-only descriptor of a file or folder, closed after use."""
    fd = os.open(path, os.O_RDONLY)
    try:
        yield fd
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    """Make a file's data, or a folder's entries (new names, renames), durable."""
    with _opened(path) as fd:
        os.fsync(fd)


_libc = ctypes.CDLL(None, use_errno=True) if os.name == "posix" else None
_libc_syncfs = getattr(_libc, "syncfs", None)  # None off Linux (and on Windows)


def _syncfs(root: Path) -> None:
    """syncfs(2): flush the whole file system that holds `root` (Linux)."""
    with _opened(root) as fd:
        if _libc_syncfs(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"syncfs failed on {root}: {os.strerror(errno)}")
