"""Case 23: rate limit and quota abuse, per tenant, on SQLite and PostgreSQL with the real Redis.

- Tenant A loops POST /v1/jobs past `rate_limit_per_minute` while tenant B submits: A gets 429
  `rate_limited` with a Retry-After that ends with the minute, and no rows; B gets 202 every time
  and its latency stays that of an idle API.
- Unfinished work over `max_active_jobs_per_tenant` / `max_active_items_per_tenant`: 429
  `quota_exceeded`, nothing stored; an idempotent replay is still answered; cancelling a job
  frees its share; other tenants are unaffected.
- Redis down: the rate limit fails open (202, the job waits for the sweeper); configured to fail
  closed, it is a 503 `broker_unavailable` with Retry-After and no row.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from store.models import Job
from tests.api_fixtures import Api, api_settings, isolated_env, make_tenants  # noqa: F401

PINNED_NOW = 28_333_334 * 60 + 12.5  # 12.5 s into a clock minute (Nov 2023)
LIMIT = 5


@contextlib.contextmanager
def make_api(database_url: str, redis_url: str, tmp_path: Path,
             **overrides: Any) -> Iterator[Api]:
    settings = api_settings(database_url, redis_url, tmp_path, **overrides)
    keys, ids = make_tenants(database_url)
    app = create_app(settings)
    app.state.services.rate_limiter.clock = lambda: PINNED_NOW  # no minute boundary mid-test
    with TestClient(app) as client:
        yield Api(client, settings, keys, ids)


@pytest.fixture
def limited(database_url: str, redis_url: str, tmp_path: Path, isolated_env: None) -> Iterator[Api]:
    with make_api(database_url, redis_url, tmp_path, rate_limit_per_minute=LIMIT) as api:
        yield api


def jobs_of(api: Api, tenant: str) -> int:
    with api.session() as session:
        return session.scalar(select(func.count()).select_from(Job)
                              .where(Job.tenant_id == api.tenant_ids[tenant]))


def test_over_n_submits_a_minute_is_a_429_with_retry_after_and_other_tenants_are_unaffected(
    limited: Api,
) -> None:
    idle = [timed_submit(limited, "b")[1] for _ in range(3)]
    codes_a: list[httpx.Response] = []
    flood = threading.Thread(target=lambda: codes_a.extend(
        limited.submit({"prompts": ["a red circle"]}, tenant="a") for _ in range(40)))
    flood.start()
    under_flood = [timed_submit(limited, "b") for _ in range(LIMIT - 3)]
    flood.join(60)
    assert [r.status_code for r in codes_a] == [202] * LIMIT + [429] * (40 - LIMIT)
    refused = codes_a[-1]
    retry_after = math.ceil(60 - PINNED_NOW % 60)
    assert refused.headers["retry-after"] == str(retry_after) == "48"
    assert refused.json()["error"] == {
        "code": "rate_limited",
        "message": f"more than {LIMIT} job submissions in one minute for this tenant; "
                   f"retry in {retry_after} s"}
    assert [r.status_code for r, _ in under_flood] == [202] * (LIMIT - 3)
    assert max(t for _, t in under_flood) < max(2.0, 10 * statistics.median(idle))
    assert (jobs_of(limited, "a"), jobs_of(limited, "b")) == (LIMIT, LIMIT)


def timed_submit(api: Api, tenant: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = api.submit({"prompts": ["a blue square"]}, tenant=tenant)
    return response, time.monotonic() - started


@pytest.fixture
def quota(database_url: str, redis_url: str, tmp_path: Path, isolated_env: None) -> Iterator[Api]:
    with make_api(database_url, redis_url, tmp_path, max_active_jobs_per_tenant=2,
                  max_active_items_per_tenant=5) as api:
        yield api


def test_unfinished_jobs_over_the_quota_are_a_429_and_cancelling_frees_the_share(
    quota: Api,
) -> None:
    first = quota.submit({"prompts": ["a"]}, **{"Idempotency-Key": "k1"}).json()
    quota.submit({"prompts": ["b"]})
    refused = quota.submit({"prompts": ["c"]})
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "5")
    assert refused.json()["error"] == {
        "code": "quota_exceeded",
        "message": "this job would make 3 unfinished jobs for this tenant; the limit is 2 "
                   "(wait for jobs to finish or cancel some)"}
    assert jobs_of(quota, "a") == 2
    replay = quota.submit({"prompts": ["a"]}, **{"Idempotency-Key": "k1"})
    assert (replay.status_code, replay.json()) == (202, first)
    assert quota.submit({"prompts": ["other tenant"]}, tenant="b").status_code == 202
    quota.client.post(f"/v1/jobs/{first['id']}/cancel", headers=quota.auth())
    assert quota.submit({"prompts": ["c"]}).status_code == 202


def test_unfinished_items_over_the_quota_are_a_429(quota: Api) -> None:
    assert quota.submit({"prompts": ["a", "b", "c"]}).status_code == 202
    refused = quota.submit({"prompts": ["d", "e", "f"]})
    assert refused.status_code == 429
    assert refused.json()["error"]["message"] == (
        "this job would make 6 unfinished items for this tenant; the limit is 5 "
        "(wait for jobs to finish or cancel some)")
    assert quota.submit({"prompts": ["d", "e"]}).status_code == 202
    assert jobs_of(quota, "a") == 2


@pytest.mark.parametrize("fail_open", [True, False], ids=["fails-open", "fails-closed"])
def test_rate_limit_with_redis_down_fails_open_by_default_or_closed_when_configured(
    sqlite_url: str, redis_url: str, tmp_path: Path, isolated_env: None, fail_open: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = "redis://127.0.0.1:1/0"
    with make_api(sqlite_url, dead, tmp_path, rate_limit_per_minute=1,
                  rate_limit_fail_open=fail_open) as api:
        responses = [api.submit({"prompts": ["a"]}) for _ in range(2)]
    if fail_open:
        assert [(r.status_code, r.json()["status"]) for r in responses] == [(202, "queued")] * 2
        assert "failing open" in caplog.text and jobs_of(api, "a") == 2
        return
    assert [r.status_code for r in responses] == [503, 503]
    assert responses[0].headers["retry-after"] == str(api.settings.retry_after_seconds)
    assert responses[0].json()["error"] == {
        "code": "broker_unavailable",
        "message": "the rate limiter cannot reach Redis; retry in a few seconds"}
    assert jobs_of(api, "a") == 0


def test_request_threads_racing_to_first_use_share_one_redis_client(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second client built by the race would be dropped, and a dropped redis-py client
    closes its pool's sockets under the request still using them."""
    from api import rate_limiter

    built: list[object] = []

    def slow_client(url: str, timeout: float) -> object:
        time.sleep(0.05)  # widen the window between "no client yet" and "client stored"
        built.append(object())
        return built[-1]

    monkeypatch.setattr(rate_limiter, "redis_client", slow_client)
    limiter = rate_limiter.RateLimiter("redis://127.0.0.1:6379/0", per_window=1, timeout=0.5)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(limiter._redis())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and all(client is built[0] for client in seen)

