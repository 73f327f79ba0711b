"""What every storage backend offers (`Storage`), the shape of a key, and content addressing.

A key is a relative, slash-separated path (`ab/abcd....png`, `datasets/<id>/0001.png`): no
leading slash, no empty, `.` or `..` segment, no backslash or control character, so the same key
means the same object on a local disk and in a bucket, and no key escapes the storage root.
Content-addressed keys (`content_key`) are `<sha[:2]>/<sha><suffix>`, today's PNG paths, so rows
written before object storage still name their files.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

MAX_KEY_CHARS = 1024  # S3's limit, in bytes of UTF-8; kept for both backends
WRITER_THREADS = 8  # a batch's files (or PUTs) in flight at once


class ObjectNotFound(KeyError):
    """The key names no object."""


@runtime_checkable
class Storage(Protocol):
    """Objects under string keys. `put_many` returns only once every object is durable: a row
    that names a key may be committed after it, never before."""

    def put(self, key: str, data: bytes) -> None: ...

    def put_many(self, objects: Mapping[str, bytes], same_bytes_if_present: bool = False) -> None:
        """Store every object, durably, before returning. `same_bytes_if_present`: the caller
        vouches that an object already under a key holds these bytes (content addressing), so
        the backend may skip it (local: a stat) or write it again (S3: cheaper than a HEAD)."""

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str = "") -> Iterator[str]: ...

    def stream(self, key: str, chunk_bytes: int = 1 << 20) -> Iterator[bytes]: ...

    def presigned_url(self, key: str, expires_seconds: int) -> str | None: ...


@functools.cache
def writer_threads() -> ThreadPoolExecutor:
    """The process's pool for a batch's writes, started on first use (never before a fork)."""
    return ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="objects")


def check_key(key: str) -> str:
    """`key` if it is a valid key, else ValueError naming it."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"object key must be a non-empty string, got {key!r}")
    if len(key.encode()) > MAX_KEY_CHARS:
        raise ValueError(f"object key longer than {MAX_KEY_CHARS} bytes: {key[:60]!r}...")
    if "\\" in key or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise ValueError(f"object key has a backslash or control character: {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"object key must be a relative path, no empty, . or .. part: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key's first characters (same rules, may end with `/`)."""
    if prefix:
        check_key(prefix.rstrip("/") or "/")
    return prefix


def content_key(data: bytes, suffix: str = ".png") -> tuple[str, str]:
    """(key, sha256) of `data`: `<sha[:2]>/<sha><suffix>`."""
    sha = hashlib.sha256(data).hexdigest()
    return f"{sha[:2]}/{sha}{suffix}", sha


def write_content(storage: Storage, blobs: Sequence[bytes],
                  suffix: str = ".png") -> list[tuple[str, str]]:
    """Store `blobs` under their content keys, durably, and return (key, sha256) for each in
    order. The call the worker's writer makes between encoding a batch and committing its rows;
    an object already stored under its content key need not be written again."""
    named = [content_key(data, suffix) for data in blobs]
    storage.put_many({key: data for (key, _), data in zip(named, blobs, strict=True)},
                     same_bytes_if_present=True)
    return named
