"""The storage contract (objects/), run against both backends: a local directory and a real S3
server (SeaweedFS, tests/s3_fixtures.py). What one backend does, the other does the same way."""

from __future__ import annotations

import hashlib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import Settings
from objects import LocalStorage, ObjectNotFound, Storage, get_storage, write_content
from objects import local as local_backend
from objects.s3 import S3Storage
from tests.s3_fixtures import SeaweedS3


def s3_settings(server: SeaweedS3, prefix: str, **overrides) -> Settings:
    fields = {name.lower(): value for name, value in server.environment(prefix).items()}
    return Settings(**{**fields, **overrides})


@pytest.fixture(params=["local-fsync", "local-syncfs", "s3"])
def storage(request, tmp_path: Path) -> Storage:
    if request.param.startswith("local-"):
        sync = request.param.removeprefix("local-")
        return get_storage(Settings(storage_dir=tmp_path / "objects", storage_local_sync=sync))
    server = request.getfixturevalue("s3_server")
    return get_storage(s3_settings(server, request.getfixturevalue("s3_prefix")))


def test_get_storage_picks_the_backend_the_settings_name(tmp_path, s3_server, s3_prefix):
    local = get_storage(Settings(storage_dir=tmp_path))
    s3 = get_storage(s3_settings(s3_server, s3_prefix))
    assert isinstance(local, LocalStorage) and isinstance(s3, S3Storage)
    assert isinstance(local, Storage) and isinstance(s3, Storage)  # both offer the whole interface


def test_a_bucket_that_does_not_exist_fails_loudly(s3_server):
    storage = get_storage(s3_settings(s3_server, "", storage_url="s3://nope"))
    with pytest.raises(Exception, match="(?i)bucket|404|not found"):
        list(storage.list())


def test_a_stored_object_reads_back_and_is_gone_after_delete(storage):
    assert not storage.exists("ab/one.png")
    storage.put("ab/one.png", b"first")
    assert storage.exists("ab/one.png") and storage.get("ab/one.png") == b"first"
    storage.put("ab/one.png", b"second")
    assert storage.get("ab/one.png") == b"second"
    storage.delete("ab/one.png")
    assert not storage.exists("ab/one.png")
    with pytest.raises(ObjectNotFound):
        storage.get("ab/one.png")
    storage.delete("ab/one.png")  # deleting what is gone is not an error


def test_missing_object_raises_object_not_found_for_get_and_stream(storage):
    with pytest.raises(ObjectNotFound):
        storage.get("no/such.png")
    with pytest.raises(ObjectNotFound):
        b"".join(storage.stream("no/such.png"))


def test_put_many_stores_every_object_of_a_batch(storage):
    batch = {f"{i:02x}/{i}.png": bytes([i]) * (100 + i) for i in range(20)}
    storage.put_many(batch)
    assert {key: storage.get(key) for key in batch} == batch
    assert list(storage.list()) == sorted(batch)  # nothing else, no temporary names


def test_list_matches_by_string_prefix_in_order(storage):
    for key in ["ab/2.png", "ab/1.png", "abc/3.png", "b/4.png", "ab/sub/5.png"]:
        storage.put(key, b"x")
    assert list(storage.list("ab/")) == ["ab/1.png", "ab/2.png", "ab/sub/5.png"]
    assert list(storage.list("ab")) == ["ab/1.png", "ab/2.png", "ab/sub/5.png", "abc/3.png"]
    assert list(storage.list("ab/s")) == ["ab/sub/5.png"]
    assert list(storage.list("zz/")) == []


def test_stream_yields_the_object_in_chunks(storage):
    data = bytes(range(256)) * 40
    storage.put("big/blob.bin", data)
    chunks = list(storage.stream("big/blob.bin", chunk_bytes=1024))
    assert b"".join(chunks) == data


@pytest.mark.parametrize("key", ["", "/abs.png", "../up.png", "a/../b.png", "a//b.png", "a/./b",
                                 "a\\b.png", "a/b\x00.png", "x" * 1025])
def test_a_bad_key_is_refused_with_a_value_error(storage, key):
    with pytest.raises(ValueError, match="object key"):
        storage.put(key, b"x")
    with pytest.raises(ValueError, match="object key"):
        storage.get(key)


def test_write_content_returns_content_keys_and_stores_each_blob(storage):
    blobs = [b"png one", b"png two", b"png one"]
    stored = write_content(storage, blobs)
    shas = [hashlib.sha256(blob).hexdigest() for blob in blobs]
    assert stored == [(f"{sha[:2]}/{sha}.png", sha) for sha in shas]
    assert stored[0] == stored[2]
    assert [storage.get(key) for key, _ in stored] == blobs
    assert write_content(storage, blobs) == stored  # again: same keys


def test_concurrent_writes_of_one_key_leave_one_whole_object(storage):
    versions = [bytes([i]) * 5000 for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda data: storage.put_many({"same/key.bin": data, f"own/{data[0]}": data}),
                      versions))
    assert storage.get("same/key.bin") in versions
    assert len(list(storage.list())) == 17  # no temporary name left behind


def test_local_write_content_leaves_an_object_already_present_alone(tmp_path):
    storage = LocalStorage(tmp_path)
    ((key, _),) = write_content(storage, [b"pixels"])
    storage.path(key).write_bytes(b"kept")
    write_content(storage, [b"pixels"])
    assert storage.get(key) == b"kept"


@pytest.mark.parametrize(("sync", "shares"), [("syncfs", [10]), ("fsync", [2] * 2 + [1] * 6)])
def test_local_batch_is_written_in_one_share_unless_each_file_is_fsynced(
        tmp_path, monkeypatch, sync, shares):
    """Without an fsync per file a write only fills the page cache: writer threads would only
    contend for the GIL. Fsyncs wait on the disk: up to WRITER_THREADS shares."""
    if sync == "syncfs" and local_backend._libc_syncfs is None:
        pytest.skip("syncfs(2) is Linux only")
    written, write = [], local_backend._write_share
    monkeypatch.setattr(local_backend, "_write_share",
                        lambda items, fsync: written.append(len(items)) or write(items, fsync))
    storage = LocalStorage(tmp_path, sync=sync)
    storage.put_many({f"batch/{n}": bytes([n]) for n in range(10)})
    assert sorted(written, reverse=True) == shares
    assert [storage.get(f"batch/{n}") for n in range(10)] == [bytes([n]) for n in range(10)]


def test_presigned_url_serves_the_object_on_s3_and_is_none_locally(storage):
    storage.put("signed/a.png", b"signed bytes")
    url = storage.presigned_url("signed/a.png", 60)
    if isinstance(storage, LocalStorage):
        assert url is None
        return
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"signed bytes"


def test_s3_prefix_keeps_objects_apart(s3_server, s3_prefix):
    one = get_storage(s3_settings(s3_server, f"{s3_prefix}/one"))
    two = get_storage(s3_settings(s3_server, f"{s3_prefix}/two"))
    one.put("k/a.png", b"1")
    assert not two.exists("k/a.png") and list(two.list()) == []
    assert list(get_storage(s3_settings(s3_server, s3_prefix)).list()) == ["one/k/a.png"]


def test_s3_with_wrong_credentials_fails_loudly(s3_server, s3_prefix):
    storage = get_storage(s3_settings(s3_server, s3_prefix, s3_secret_access_key="wrong"))
    with pytest.raises(Exception, match="(?i)signature|access|denied|forbidden|403"):
        storage.put("k/a.png", b"x")


@pytest.mark.parametrize("url", ["http://bucket/x", "bucket/x", "s3:bucket"])
def test_a_storage_url_that_is_not_s3_is_refused_at_start(url):
    with pytest.raises(ValidationError, match="STORAGE_URL must be empty or s3://bucket/prefix"):
        Settings(storage_url=url)


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "s3://bucket/a/../b", "s3://b/x?y=1"])
def test_a_malformed_s3_url_is_refused_by_the_backend(url):
    with pytest.raises(ValueError, match="STORAGE_URL must look like|object key"):
        S3Storage(url)
