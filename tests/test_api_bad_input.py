"""Bad input never gets a 500: every case of tests/bad_input_cases.py, on SQLite and PostgreSQL,
gets its 4xx with a message that says what is wrong; plus the cases that need their own setup
(a body streamed past the limit, the database down)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from store.models import Item, Job
from tests.api_fixtures import Api, api, api_settings, isolated_env, make_tenants  # noqa: F401
from tests.bad_input_cases import CASES, Case, Runner


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_gets_a_4xx_that_says_what_is_wrong(api: Api, case: Case) -> None:
    response, message = Runner(api.client, api.keys).run(case)
    assert (response.status_code, response.json()["error"]["code"]) == (case.status, case.code)
    assert response.json()["error"]["message"] == message


def test_rejected_submissions_leave_no_job_behind(api: Api) -> None:
    runner = Runner(api.client, api.keys)
    for case in CASES:
        if case.path == "/v1/jobs" and case.method == "POST" and case.first_json is None:
            assert runner.run(case)[0].status_code == case.status
    with api.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        assert session.scalar(select(func.count()).select_from(Item)) == 0


def test_missing_or_invalid_key_is_a_401_with_www_authenticate(api: Api) -> None:
    missing = api.client.get("/v1/jobs")
    wrong = api.client.get("/v1/jobs", headers={"Authorization": "Bearer ak_nope-nope-nope"})
    basic = api.client.get("/v1/jobs", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert [r.status_code for r in (missing, wrong, basic)] == [401, 401, 401]
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert basic.json()["error"]["code"] == "missing_api_key"


def test_a_streamed_body_past_the_limit_is_refused_without_reading_the_rest(
    api: Api,
) -> None:
    app = create_app(api.settings)
    chunk, chunks = b" " * 65536, 2048  # 128 MiB offered; the limit is about 1 MB
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(chunks):
            sent += 1
            yield chunk

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/v1/jobs", content=body(), headers={
                **api.auth(), "Content-Type": "application/json"})

    response = asyncio.run(post())
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    assert sent * len(chunk) <= api.settings.max_body_bytes + 2 * len(chunk)


@pytest.mark.parametrize("dead_url", [
    "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
    "sqlite:///{tmp}/a-directory-not-a-database",
], ids=["postgres", "sqlite"])
def test_database_down_is_a_503_with_retry_after(
    dead_url: str, redis_url: str, tmp_path: Path, isolated_env: None
) -> None:
    (tmp_path / "a-directory-not-a-database").mkdir()
    settings = api_settings(dead_url.format(tmp=tmp_path), redis_url, tmp_path)
    with TestClient(create_app(settings)) as client:
        for response in (client.get("/v1/jobs", headers={"Authorization": "Bearer ak_whatever-key"}),
                         client.post("/v1/jobs", json={"prompts": ["a"]},
                                     headers={"Authorization": "Bearer ak_whatever-key"})):
            assert response.status_code == 503
            assert response.headers["retry-after"] == str(settings.retry_after_seconds)
            assert response.json()["error"] == {
                "code": "database_unavailable",
                "message": "the database is not answering; retry in a few seconds"}
        health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["checks"]["database"].startswith("unavailable")
