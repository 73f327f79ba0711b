"""The gallery: a job's page opened with its signed share link, in the API and in headless
Chromium (16 images that load, Chinese set in the served CJK font); another job's token is a
404, an expired one a 403.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.share import make_token, share_key
from config import Settings
from tests.api_fixtures import Api, api, api_settings, isolated_env  # noqa: F401
from tests.browser import loaded_image_widths, needs_chromium, offline_chromium, served_app
from tests.worker_support import add_job, make_runtime
from worker.engine import run_job

BRIEFS = ["三个黄色圆形", "a large red star left of a small blue circle", "一个绿色三角形",
          "a brown heart"] * 4


def finished_job(settings: Settings, prompts: list[str]) -> str:
    """A job run to the end by the real engine on the stub model, its PNGs in the API's storage."""
    job_id = add_job(settings.database_url, prompts)
    runtime = make_runtime(settings.database_url, settings.effective_storage_dir)
    assert run_job(job_id, runtime, "gallery-test") == "succeeded"
    return job_id


def gallery_of(api: Api, job_id: str) -> str:
    """A share link to the job's page (the link needs no key)."""
    token = make_token(share_key(api.settings), job_id, int(time.time()) + 3600)
    return f"/gallery/{job_id}?token={token}"


def test_the_api_hands_out_a_gallery_link_that_opens_without_a_key(api: Api) -> None:
    accepted = api.submit({"prompts": ["三个黄色圆形"]})
    job = api.client.get(accepted.json()["url"], headers=api.auth()).json()
    page = httpx.URL(job["gallery_url"])
    reply = api.client.get(page.path, params=dict(page.params))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert "三个黄色圆形" in reply.text and 'data-status="pending"' in reply.text


def test_the_page_shows_every_item_and_filters_by_status(api: Api) -> None:
    job_id = finished_job(api.settings, BRIEFS[:4])
    url = gallery_of(api, job_id)
    page = api.client.get(url).text
    assert page.count("<figure") == 4 and page.count("<img") == 4
    assert all(brief in page for brief in BRIEFS[:4])
    assert api.client.get(url + "&status=failed").text.count("<figure") == 0
    image = api.client.get(f"/gallery/{job_id}/items/0.png?{httpx.URL(url).query.decode()}")
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_token_opens_its_own_job_only_and_not_after_it_expires(api: Api) -> None:
    mine, other = finished_job(api.settings, ["a red circle"]), finished_job(api.settings, ["x"])
    key = share_key(api.settings)
    token = make_token(key, mine, int(time.time()) + 60)
    assert api.client.get(f"/gallery/{mine}?token={token}").status_code == 200
    assert api.client.get(f"/gallery/{other}?token={token}").status_code == 404
    assert api.client.get(f"/gallery/{other}/items/0.png?token={token}").status_code == 404
    assert api.client.get(f"/gallery/{mine}?token={token[:-2]}xx").status_code == 404
    expired = make_token(key, mine, int(time.time()) - 1)
    reply = api.client.get(f"/gallery/{mine}?token={expired}")
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "share_link_expired"
    assert api.client.get(f"/gallery/{mine}").status_code == 422  # no token at all


@pytest.fixture
def served(sqlite_url: str, redis_url: str, tmp_path: Path,
           isolated_env: None) -> Iterator[tuple[str, Settings]]:
    """The API on a loopback port: (base URL, its settings)."""
    settings = api_settings(sqlite_url, redis_url, tmp_path)
    with served_app(settings) as base:
        yield base, settings


@needs_chromium
def test_headless_chromium_shows_16_images_and_the_chinese_text(
        served: tuple[str, Settings], tmp_path: Path) -> None:
    base, settings = served
    job_id = finished_job(settings, BRIEFS)
    token = make_token(share_key(settings), job_id, int(time.time()) + 600)
    driver = offline_chromium()
    try:
        driver.get(f"{base}/gallery/{job_id}?token={token}")
        widths = loaded_image_widths(driver)
        cjk = driver.execute_async_script(
            "const done = arguments[0];"
            "document.fonts.load('16px AlpacaCJK', '三个黄色圆形')"
            ".then(faces => done([faces.length, document.fonts.check('16px AlpacaCJK', '三个')]));")
        driver.save_screenshot(str(tmp_path / "gallery.png"))
    finally:
        driver.quit()
    assert len(widths) == 16 and all(width > 0 for width in widths)
    assert cjk[0] >= 1 and cjk[1] is True  # the served CJK face loaded and covers the text


def test_the_share_key_is_read_once_per_process(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    key = share_key(settings)
    (tmp_path / "var" / "share_secret").unlink()  # a job view after this must not touch the disk
    assert share_key(settings) == key
    assert not (tmp_path / "var" / "share_secret").exists()
