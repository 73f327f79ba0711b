"""The local-directory backend: a key is a file under the root (`make demo`'s default).

Durability (`put_many`): every object of a batch is written to a temporary name beside its target
(`.<name>.<pid>-<random>-<n>.tmp`, unique even for two writes of one key at once), its data is
flushed, each is renamed to its key, and the renames are flushed. A crash before the last flush
can lose a rename but never leaves a final name on a file whose data is not on disk, so a later
batch that finds a key present may trust it; the rows that name the keys commit only after
`put_many` returns. Two ways to flush (`sync`, setting STORAGE_LOCAL_SYNC):

- "fsync" (the default off Linux): the batch's files in up to WRITER_THREADS shares at once,
  one share per thread (one hand-off each, not one per file), each writing its files, then fsyncing
  them (concurrent fsyncs share the file system's journal commits); after the renames, the
  folders whose entries changed, fsynced together the same way.
- "syncfs" (Linux, the default there): no fsync per file; the files written by the calling
  thread, one `syncfs` of the root's file system after the writes and one after the renames.
  It also flushes every other writer's dirty pages on that file system. A write then only
  fills the page cache (~25 us a file here), and writer threads only contended for the GIL:
  in P4's worker on 2 CPUs, 8 writer threads made ~36 futex calls per item, 2 made ~7
  (`strace -c`, one run of 1000 items each), and with none P4 went from a median of 2.85x to
  3.26x (5 alternating runs each, with the stub's sleep(0) gone too).

bench/storage.py prints both beside the writer they replaced. In a storage-only loop on this
machine (2 cores shared with other sessions, one ext4 disk, without a journal, for everything)
the two came out alike (0.5-1.2x of the old writer's files/s, five runs), which once made
"fsync" the default; through the whole system they do not: in P4 (bench/p4_throughput.py, a
null-model worker writing 32 PNGs per batch) "fsync" cost the worker 0.9-1.0 ms of kernel CPU
per item (an fsync per file and per folder, each syncing its parent folder and flushing the
disk's cache) against 0.2 ms with "syncfs", and the system ran 320-540 items/s against
620-920 (alternating runs). Hence "syncfs" as the default on Linux (config.Settings), "fsync"
elsewhere, or where a disk shared with heavy writers makes flushing theirs too expensive.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from objects.base import WRITER_THREADS, ObjectNotFound, check_key, check_prefix, writer_threads

T, R = TypeVar("T"), TypeVar("R")

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
        write = functools.partial(_write_share, fsync=per_file)
        shares = WRITER_THREADS if per_file else 1  # fsyncs wait on the disk; without them a
        # write only fills the page cache (~25 us a file), and more threads contend for the GIL
        temps = dict(zip(targets, _on_threads(write, list(targets.items()), shares), strict=True))
        if not per_file:
            _syncfs(self.root)  # the batch's data, in one flush
        for path, temp in temps.items():
            os.replace(temp, path)
        if per_file:
            _on_threads(_fsync_share, sorted(self._folders_above(temps)), WRITER_THREADS)
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


def _on_threads(work: Callable[[list[T]], list[R]], items: list[T], shares: int) -> list[R]:
    """`work` over `items` in up to `shares` (at most WRITER_THREADS) shares at once, one share
    per thread (one hand-off each, not one per item: on two busy cores a hand-off per file spent
    more in GIL and futex traffic than the writes); the results in the order of `items`."""
    shares = min(shares, WRITER_THREADS, len(items))
    if shares <= 1:
        return work(items)
    done = list(writer_threads().map(work, [items[i::shares] for i in range(shares)]))
    out: list[R] = [None] * len(items)  # type: ignore[list-item]
    for i, results in enumerate(done):
        out[i::shares] = results
    return out


def _write_share(items: list[tuple[Path, bytes]], fsync: bool) -> list[Path]:
    """Write each `(target, data)` to a temporary name beside its target; with `fsync`, every
    file of the share is written first, then each flushed (on disk before this returns)."""
    temps, fds, writer = [], [], f"{os.getpid()}-{secrets.token_hex(6)}"
    try:
        for number, (target, data) in enumerate(items):
            target.parent.mkdir(parents=True, exist_ok=True)
            temps.append(target.with_name(f".{target.name}.{writer}-{number}{TEMP_SUFFIX}"))
            fds.append(os.open(temps[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            _write_all(fds[-1], data)
        for fd in fds if fsync else ():
            os.fsync(fd)
    finally:
        for fd in fds:
            os.close(fd)
    return temps


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_share(paths: list[Path]) -> list[None]:
    return [fsync_path(path) for path in paths]


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
