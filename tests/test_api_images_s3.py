"""Item images, contact sheets and gallery images read from S3 (a real SeaweedFS server): the API
streams them, or with STORAGE_SERVE=presign answers 307 to a signed URL that serves the same
bytes; the gallery always streams (its page allows images from its own origin only); a row whose
object is missing is a 404, as on the local backend."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from api.sheet import CELL, LINE, PAD
from api.share import make_token, share_key
from objects import get_storage
from store.models import Item
from tests.api_fixtures import Api, isolated_env, running_api  # noqa: F401
from tests.s3_fixtures import SeaweedS3
from tests.test_api_results import finish_item


@contextmanager
def s3_api(database_url: str, redis_url: str, tmp_path: Path, server: SeaweedS3, prefix: str,
           **overrides: str) -> Iterator[Api]:
    """The in-process API with its storage in the S3 server, under `prefix`."""
    env = server.environment(prefix)
    storage = {name.lower(): value for name, value in env.items()}
    with running_api(database_url, redis_url, tmp_path, **storage, **overrides) as api:
        yield api


@pytest.fixture
def s3_api_streaming(postgres_url, redis_url, tmp_path, isolated_env, s3_server,
                     s3_prefix) -> Iterator[Api]:
    with s3_api(postgres_url, redis_url, tmp_path, s3_server, s3_prefix) as api:
        yield api


def test_an_item_image_is_streamed_from_s3(s3_api_streaming: Api) -> None:
    api = s3_api_streaming
    job_id = api.submit().json()["id"]
    png = finish_item(api, job_id, 0, "green", ["a green square"])
    response = api.client.get(f"/v1/jobs/{job_id}/items/0/image.png", headers=api.auth())
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content == png
    assert not api.settings.effective_storage_dir.exists()  # nothing went to the local disk


def test_presign_redirects_to_a_signed_url_that_serves_the_image(
        postgres_url, redis_url, tmp_path, isolated_env, s3_server, s3_prefix) -> None:
    with s3_api(postgres_url, redis_url, tmp_path, s3_server, s3_prefix,
                storage_serve="presign", storage_presign_seconds=60) as api:
        job_id = api.submit().json()["id"]
        png = finish_item(api, job_id, 0, "blue", ["a blue square"])
        response = api.client.get(f"/v1/jobs/{job_id}/items/0/image.png", headers=api.auth(),
                                  follow_redirects=False)
        assert response.status_code == 307
        signed = response.headers["location"]
        assert signed.startswith(s3_server.endpoint) and "X-Amz-Signature" in signed
        assert httpx.get(signed).content == png  # no key, no API: the URL alone
        token = make_token(share_key(api.settings), job_id, int(time.time()) + 600)
        gallery = api.client.get(f"/gallery/{job_id}/items/0.png", params={"token": token},
                                 follow_redirects=False)
        assert gallery.status_code == 200 and gallery.content == png


def test_the_contact_sheet_reads_its_images_from_s3(s3_api_streaming: Api) -> None:
    api = s3_api_streaming
    job_id = api.submit({"prompts": ["a red circle"]}).json()["id"]
    finish_item(api, job_id, 0, "red", ["a red circle"])
    response = api.client.get(f"/v1/jobs/{job_id}/sheet.png", headers=api.auth())
    sheet = Image.open(io.BytesIO(response.content))
    assert sheet.getpixel((PAD + CELL // 2, PAD + LINE + CELL // 2)) == (255, 0, 0)


def test_a_row_whose_object_is_gone_is_image_missing(s3_api_streaming: Api) -> None:
    api = s3_api_streaming
    job_id = api.submit().json()["id"]
    finish_item(api, job_id, 0, "green", ["a green square"])
    with api.session() as session:
        key = session.query(Item).filter_by(job_id=job_id, index=0).one().image_path
    get_storage(api.settings).delete(key)
    response = api.client.get(f"/v1/jobs/{job_id}/items/0/image.png", headers=api.auth())
    assert response.status_code == 404 and response.json()["error"]["code"] == "image_missing"
