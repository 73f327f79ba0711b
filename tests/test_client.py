"""The client library against the in-process API: retries after a real 429 and a lost answer
make exactly one job each; Retry-After is honoured and bounded; the async client mirrors it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from client import ApiError, AsyncClient, Client, ClientConfig, calls
from client.retry import RetryPolicy, retry_after_seconds
from tests.api_fixtures import Api, api, api_settings, isolated_env, make_tenants  # noqa: F401

LAST_SECOND_OF_A_MINUTE = 28_333_334 * 60 + 59.0


class FakeClock:
    """The rate limiter's clock; the client's `sleep` advances it instead of waiting."""

    def __init__(self, now: float) -> None:
        self.now, self.sleeps = now, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def job_count(api: Api, tenant: str = "a") -> int:
    return api.client.get("/v1/jobs", headers=api.auth(tenant)).json()["total"]


def client_for(api: Api, tenant: str = "a", **kwargs) -> Client:
    return Client(ClientConfig(api_key=api.keys[tenant]), http=api.client, **kwargs)


@pytest.fixture
def one_per_minute(database_url: str, redis_url: str, tmp_path: Path,
                   isolated_env: None) -> Iterator[tuple[Api, FakeClock]]:
    settings = api_settings(database_url, redis_url, tmp_path, rate_limit_per_minute=1)
    keys, ids = make_tenants(database_url)
    app = create_app(settings)
    clock = FakeClock(LAST_SECOND_OF_A_MINUTE)
    app.state.services.rate_limiter.clock = clock
    with TestClient(app) as test_client:
        yield Api(test_client, settings, keys, ids), clock


def test_a_429_then_success_makes_exactly_one_job(one_per_minute) -> None:
    api, clock = one_per_minute
    assert api.submit().status_code == 202  # the minute's one submission is used up
    client = client_for(api, sleep=clock.sleep)
    accepted = client.submit(["three yellow circles", "一个棕色星星"], rounds=1)
    assert clock.sleeps == [1.0]  # the server's Retry-After, waited once
    assert job_count(api) == 2
    assert client.status(accepted["id"])["progress"]["total"] == 2


class LoseFirstAnswer(httpx.BaseTransport):
    """Passes each request to the app but answers the first submission with a 503, as a proxy
    that timed out after the API had already stored the job would."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.lost = inner, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and not self.lost:
            self.lost += 1
            response.read()
            return httpx.Response(503, headers={"Retry-After": "0"}, request=request)
        return response


def test_a_retried_submit_whose_first_answer_was_lost_makes_one_job(api: Api) -> None:
    lossy = httpx.Client(transport=LoseFirstAnswer(api.client._transport),
                         base_url=api.client.base_url)
    client = Client(ClientConfig(api_key=api.keys["a"]), http=lossy, sleep=lambda s: None)
    accepted = client.submit(["a red circle"])
    assert lossy._transport.lost == 1
    assert job_count(api) == 1
    assert client.status(accepted["id"])["id"] == accepted["id"]


def test_a_retry_after_beyond_the_bound_is_not_waited_for(one_per_minute) -> None:
    api, clock = one_per_minute
    clock.now -= 50  # 9 s into the minute: Retry-After 51 s
    assert api.submit().status_code == 202
    client = Client(ClientConfig(api_key=api.keys["a"], max_wait_s=10), http=api.client,
                    sleep=clock.sleep)
    with pytest.raises(ApiError) as raised:
        client.submit(["a red circle"])
    assert (raised.value.status, raised.value.code) == (429, "rate_limited")
    assert clock.sleeps == [] and job_count(api) == 1


def test_retries_are_bounded_in_number() -> None:
    answers = httpx.MockTransport(lambda request: httpx.Response(503, headers={"Retry-After": "2"}))
    sleeps: list[float] = []
    client = Client(ClientConfig(max_retries=3), http=httpx.Client(transport=answers,
                    base_url="http://api"), sleep=sleeps.append)
    with pytest.raises(ApiError, match="503"):
        client.models()
    assert sleeps == [2.0, 2.0, 2.0]


def test_retry_after_as_an_http_date_and_unreadable() -> None:
    import datetime as dt
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    dated = httpx.Response(429, headers={"Retry-After": "Thu, 01 Jan 2026 00:00:07 GMT"})
    assert retry_after_seconds(dated, now) == 7.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert RetryPolicy(backoff_s=0.5).delay(2, httpx.Response(503)) == 2.0
    assert RetryPolicy().delay(0, httpx.Response(400)) is None


def test_every_submit_carries_its_own_idempotency_key() -> None:
    keys: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return httpx.Response(202, json={"id": "j", "status": "queued", "url": "u"})

    client = Client(ClientConfig(), http=httpx.Client(transport=httpx.MockTransport(answer),
                    base_url="http://api"))
    client.submit(["a"]), client.submit(["a"])
    assert len(keys) == 2 and len(set(keys)) == 2


def test_bad_arguments_are_a_clear_error_before_anything_is_sent(api: Api) -> None:
    client = client_for(api)
    with pytest.raises(ValueError, match="non-blank"):
        client.submit(["ok", "  "])
    with pytest.raises(ValueError, match="job id"):
        client.status("")
    with pytest.raises(ApiError) as raised:
        client.status("../models")  # quoted into the path: a job id, not another route
    assert raised.value.status == 404


def test_the_async_client_submits_waits_and_cancels(api: Api) -> None:
    app = api.client.app

    async def scenario() -> tuple[dict, dict, list]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver")
        async with AsyncClient(ClientConfig(api_key=api.keys["a"]), http=http) as client:
            accepted = await client.submit(["a red circle", "三个黄色圆形"], rounds=1)
            canceled = await client.cancel(accepted["id"])  # no worker: canceled while queued
            seen: list[dict] = []
            job = await client.wait(accepted["id"], on_progress=seen.append, timeout_s=30)
            return canceled, job, await client.models()

    canceled, job, models = asyncio.run(scenario())
    assert canceled["cancel_requested"] and job["status"] == "canceled"
    assert models == client_for(api).models()
    assert job_count(api) == 1


def test_the_alpaca_console_script_names_the_cli_app() -> None:
    import importlib
    import tomllib

    from client.cli import app as cli_app
    from tests.conftest import ROOT

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["alpaca"].partition(":")
    assert getattr(importlib.import_module(module), name) is cli_app


def test_image_urls_are_fetched_from_the_clients_own_api_with_the_key() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url} {request.headers.get('Authorization')}")
        return httpx.Response(200, content=b"png")

    client = Client(ClientConfig(base_url="http://api", api_key="k"),
                    http=httpx.Client(transport=httpx.MockTransport(answer), base_url="http://api"))
    client.send(calls.image("http://inner-host:8000/v1/jobs/j/items/0/image.png?v=1"))
    assert seen == ["http://api/v1/jobs/j/items/0/image.png?v=1 Bearer k"]


def test_the_cli_names_a_missing_or_empty_briefs_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from client.cli import app as cli_app

    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n")
    for path, why in ((tmp_path / "missing.txt", "No such file"), (empty, "holds no briefs")):
        result = CliRunner().invoke(cli_app, ["submit", str(path)],
                                    env={"ALPACA_API_URL": "http://127.0.0.1:9"})
        assert result.exit_code == 1 and "error:" in result.output and why in result.output


def test_progress_counts_a_failed_item_once() -> None:
    from client.progress import job_counts

    # the API's `done` counts every finished item; `failed` says how many of those failed
    partial = {"progress": {"total": 16, "done": 16, "failed": 1, "current_round": 2}}
    assert job_counts(partial) == (16, 16)
