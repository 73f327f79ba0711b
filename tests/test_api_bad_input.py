"""Bad input never gets a 500: every case of tests/bad_input_cases.py, on SQLite and PostgreSQL,
gets its 4xx with a message that says what is wrong; plus the cases that need their own setup
(a body streamed past the limit, the database down)."""

from __future__ import annotations

import asyncio
import os
import select as io_select
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from store.models import Item, Job
from tests.api_fixtures import (  # noqa: F401 - fixtures
    Api, api, api_settings, isolated_env, make_tenants,
)
from tests.bad_input_cases import CASES, Case, Runner

ROOT = Path(__file__).resolve().parent.parent


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


def test_uvicorn_refuses_a_streamed_oversize_body_early_and_closes(
    sqlite_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The real server (`uvicorn api.main:app`): a chunked upload gets its 413 after about the
    limit, the connection is closed, and the server's memory stays flat."""
    keys, _ = make_tenants(sqlite_url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "REDIS_URL": redis_url,
           "VAR_DIR": str(tmp_path / "var")}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port), "--log-level",
         "warning"], cwd=ROOT, env=env)
    try:
        wait_healthy(port)
        rss_before = rss_kib(server.pid)
        sent, answer = stream_until_answered(port, keys["a"], total=512 * 2**20)
        assert answer.startswith(b"HTTP/1.1 413") and b"connection: close" in answer.lower()
        assert b'"code":"body_too_large"' in answer
        assert sent < 64 * 2**20  # stopped long before the 512 MiB it offered
        assert rss_kib(server.pid) - rss_before < 50 * 1024
    finally:
        server.terminate()
        server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError("uvicorn did not become healthy")


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0])


def stream_until_answered(port: int, key: str, total: int) -> tuple[int, bytes]:
    """Send a chunked POST of `total` bytes until the server answers; (bytes sent, answer)."""
    chunk, sent = b" " * 65536, 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /v1/jobs HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        try:
            while sent < total and not io_select.select([sock], [], [], 0)[0]:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return sent, read_until_closed(sock)


def read_until_closed(sock: socket.socket) -> bytes:
    answer = b""
    try:
        while data := sock.recv(65536):
            answer += data
    except ConnectionResetError:
        pass
    return answer
