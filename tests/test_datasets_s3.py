"""Datasets on S3 (a real SeaweedFS server): an upload through the API stores its images in the
bucket, none on the API's disk; a worker with a folder of its own reads the pairs, each image
fetched once into its cache and checked against its content hash; an image altered in the bucket
refuses the fine-tune (dataset_unavailable) instead of training on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from objects import get_storage
from store import session_scope
from tests.api_fixtures import Api, isolated_env  # noqa: F401
from tests.dataset_cases import good_zip
from tests.test_api_datasets import upload
from tests.test_api_images_s3 import s3_api
from tests.worker_support import make_runtime
from worker.finetune import _pairs
from worker.finetune_plan import Refused


@pytest.fixture
def uploaded(postgres_url, redis_url, tmp_path, isolated_env, s3_server,
             s3_prefix) -> Iterator[tuple[Api, dict]]:
    """The API on S3 storage and the dataset it stored from a 3-image upload."""
    with s3_api(postgres_url, redis_url, tmp_path / "api", s3_server, s3_prefix) as api:
        response = upload(api, good_zip(3))
        assert response.status_code == 201, response.text
        yield api, response.json()


def pairs_on_a_worker(api: Api, dataset: dict, folder: Path) -> list[tuple[str, Path]]:
    storage = {name: getattr(api.settings, name) for name in (
        "storage_url", "s3_endpoint_url", "s3_region", "s3_access_key_id", "s3_secret_access_key")}
    rt = make_runtime(api.settings.database_url, folder / "storage", var_dir=folder / "var",
                      **storage)
    with session_scope(rt.database_url) as session:
        return _pairs(rt, session, dataset["id"], api.tenant_ids["a"])


def test_a_dataset_uploaded_on_s3_reaches_a_worker_that_shares_no_disk(uploaded, tmp_path):
    api, dataset = uploaded
    bucket = get_storage(api.settings)
    keys = sorted(bucket.list(f"datasets/{dataset['id']}/"))
    assert len(keys) == 3 and not list((tmp_path / "api").rglob("*.png"))
    pairs = pairs_on_a_worker(api, dataset, tmp_path / "worker")
    assert [caption for caption, _ in pairs] == [f"a blue circle {i}" for i in range(3)]
    assert sorted(path.read_bytes() for _, path in pairs) == sorted(map(bucket.get, keys))
    assert all(path.is_relative_to(tmp_path / "worker" / "var") for _, path in pairs)


def test_an_image_altered_in_the_bucket_refuses_the_fine_tune(uploaded, tmp_path):
    api, dataset = uploaded
    bucket = get_storage(api.settings)
    bucket.put(next(bucket.list(f"datasets/{dataset['id']}/")), b"not the uploaded image")
    with pytest.raises(Refused, match="sha256") as refused:
        pairs_on_a_worker(api, dataset, tmp_path / "worker")
    assert refused.value.code == "dataset_unavailable"
