"""Model checkpoints in object storage (worker/model_store.py): a published model is fetched on
first use into this machine's cache, checked against the catalog's sha256, and served from the
cache after; wrong weights or a missing file are refused and leave no folder in the cache; on the
local backend the storage's own folder is used, and a catalog path that is no key is a folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kinds.checkpoint_files import META, WEIGHTS
from kinds.errors import MissingCheckpoint, UnsafeCheckpoint
from objects import LocalStorage, Storage, get_storage
from tests.worker_support import make_settings
from worker.model_store import local_folder, publish

FILES = {WEIGHTS: b"weights of version v1", META: b'{"version": "v1"}'}
SHA = hashlib.sha256(FILES[WEIGHTS]).hexdigest()


@pytest.fixture
def s3(tmp_path: Path, s3_server, s3_prefix) -> Storage:
    env = s3_server.environment(s3_prefix)
    return get_storage(make_settings("sqlite://", tmp_path / "unused",
                                     **{name.lower(): value for name, value in env.items()}))


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "trained"
    folder.mkdir()
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    return folder


def test_a_published_model_is_fetched_once_into_the_cache_and_checked(s3, model_folder, tmp_path):
    prefix = publish(s3, model_folder, "v1")
    assert prefix == "models/v1"
    folder = local_folder(s3, prefix, tmp_path / "cache", SHA)
    assert folder == tmp_path / "cache" / "models" / "v1"
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == FILES
    s3.delete(f"{prefix}/{WEIGHTS}")  # the cache serves it from now on
    assert local_folder(s3, prefix, tmp_path / "cache", SHA) == folder


def test_weights_that_do_not_match_the_catalog_are_refused(s3, model_folder, tmp_path):
    prefix = publish(s3, model_folder, "v1")
    with pytest.raises(UnsafeCheckpoint, match="sha256"):
        local_folder(s3, prefix, tmp_path / "cache", "0" * 64)
    assert not any((tmp_path / "cache" / "models").iterdir())  # no folder, whole or partial


def test_a_model_missing_from_storage_is_a_missing_checkpoint(s3, tmp_path):
    with pytest.raises(MissingCheckpoint, match="models/v9"):
        local_folder(s3, "models/v9", tmp_path / "cache", SHA)
    assert not any((tmp_path / "cache" / "models").iterdir())


def test_the_local_backend_uses_its_own_folder_and_old_paths_stay_folders(model_folder,
                                                                         tmp_path):
    storage = LocalStorage(tmp_path / "storage")
    prefix = publish(storage, model_folder, "v1")
    assert local_folder(storage, prefix, tmp_path / "cache", SHA) == tmp_path / "storage" / prefix
    assert (tmp_path / "storage" / prefix / WEIGHTS).read_bytes() == FILES[WEIGHTS]
    assert local_folder(storage, str(model_folder), tmp_path / "cache") == model_folder
    assert not (tmp_path / "cache").exists()
