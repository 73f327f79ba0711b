"""/docs and /redoc work without internet: every script, style and icon they reference is served
by the API itself, and headless Chromium with no route out renders every operation."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.api_fixtures import Api, api, api_settings, isolated_env  # noqa: F401
from tests.browser import needs_chromium, offline_chromium, requested_urls, served_app



class References(HTMLParser):
    """Every src and href in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


def operation_count(openapi: dict) -> int:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sum(method in methods for path in openapi["paths"].values() for method in path)


@pytest.mark.parametrize(("page", "expected"), [
    ("/docs", {"/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"}),
    ("/redoc", {"/docs-assets/redoc.standalone.js"}),
])
def test_docs_pages_reference_only_assets_the_api_serves(api: Api, page: str,
                                                         expected: set[str]) -> None:
    response = api.client.get(page)
    assert response.status_code == 200
    assert "cdn." not in response.text and "fonts.googleapis" not in response.text
    urls = references(response.text)
    assert expected <= set(urls)
    for url in urls:
        assert url.startswith("/"), f"{page} references {url}, which is not on the API"
        asset = api.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url


def test_the_openapi_document_is_reachable_without_a_key(api: Api) -> None:
    assert operation_count(api.client.get("/openapi.json").json()) > 10


@pytest.fixture
def served_api(sqlite_url: str, redis_url: str, tmp_path: Path,
               isolated_env: None) -> Iterator[str]:
    with served_app(api_settings(sqlite_url, redis_url, tmp_path)) as base:
        yield base


@needs_chromium
def test_headless_chromium_with_no_route_out_renders_every_operation(served_api: str) -> None:
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    expected = operation_count(httpx.get(f"{served_api}/openapi.json").json())
    driver = offline_chromium()
    try:
        driver.get(f"{served_api}/docs")
        WebDriverWait(driver, 60).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= expected)
        rendered = len(driver.find_elements(By.CSS_SELECTOR, ".opblock"))
        paths = {element.get_attribute("data-path")
                 for element in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        urls = requested_urls(driver)
    finally:
        driver.quit()
    assert rendered == expected
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/models"} <= paths
    assert [u for u in urls if not u.startswith((served_api, "data:", "blob:"))] == []
