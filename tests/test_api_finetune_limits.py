"""POST /v1/finetunes is rate limited and quota-checked per tenant like POST /v1/jobs, on SQLite
and PostgreSQL with the real Redis: 429 with Retry-After and the one error shape, nothing stored
or queued, other tenants untouched; jobs and fine-tunes share the rate counter; cancelling a
fine-tune frees its share of the quota."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from store.models import Job, JobKind
from tests.api_fixtures import Api, api_settings, isolated_env, make_tenants  # noqa: F401
from tests.api_fixtures import queued_messages
from tests.test_api_finetunes import dataset

PINNED_NOW = 28_333_334 * 60 + 12.5  # 12.5 s into a clock minute: no minute boundary mid-test


def make_api(database_url: str, redis_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Api]:
    settings = api_settings(database_url, redis_url, tmp_path, **overrides)
    keys, ids = make_tenants(database_url)
    app = create_app(settings)
    app.state.services.rate_limiter.clock = lambda: PINNED_NOW
    with TestClient(app) as client:
        yield Api(client, settings, keys, ids)


@pytest.fixture
def rate_limited(database_url: str, redis_url: str, tmp_path: Path,
                 isolated_env: None) -> Iterator[Api]:
    yield from make_api(database_url, redis_url, tmp_path, rate_limit_per_minute=3)


@pytest.fixture
def quota(database_url: str, redis_url: str, tmp_path: Path, isolated_env: None) -> Iterator[Api]:
    yield from make_api(database_url, redis_url, tmp_path, max_active_finetunes_per_tenant=2)


def start(api: Api, dataset_id: str, tenant: str = "a", name: str = "ember-v1", **headers: str):
    body = {"dataset_id": dataset_id, "name": name, "steps": 20}
    return api.client.post("/v1/finetunes", json=body, headers={**api.auth(tenant), **headers})


def finetunes_of(api: Api, tenant: str) -> int:
    with api.session() as session:
        return session.scalar(select(func.count()).select_from(Job).where(
            Job.tenant_id == api.tenant_ids[tenant], Job.kind == JobKind.FINETUNE.value))


def test_finetunes_over_the_rate_limit_are_a_429_with_retry_after_and_store_nothing(
    rate_limited: Api,
) -> None:
    api = rate_limited
    ours, theirs = dataset(api, "a"), dataset(api, "b")
    responses = [start(api, ours, name=f"m{i}") for i in range(4)]
    assert [r.status_code for r in responses] == [202, 202, 202, 429]
    retry_after = math.ceil(60 - PINNED_NOW % 60)
    assert responses[-1].headers["retry-after"] == str(retry_after) == "48"
    assert responses[-1].json() == {"error": {
        "code": "rate_limited",
        "message": f"more than 3 job submissions in one minute for this tenant; "
                   f"retry in {retry_after} s"}}
    assert start(api, theirs, tenant="b").status_code == 202
    assert (finetunes_of(api, "a"), finetunes_of(api, "b")) == (3, 1)
    assert len(queued_messages(api.settings.redis_url, "finetune")) == 4


def test_jobs_and_finetunes_share_the_tenants_rate_limit(rate_limited: Api) -> None:
    api = rate_limited
    ours = dataset(api, "a")
    assert [api.submit({"prompts": ["a red circle"]}).status_code for _ in range(2)] == [202, 202]
    assert start(api, ours).status_code == 202
    assert start(api, ours, name="m2").json()["error"]["code"] == "rate_limited"
    assert api.submit({"prompts": ["a red circle"]}).status_code == 429


def test_unfinished_finetunes_over_the_quota_are_a_429_and_cancelling_frees_the_share(
    quota: Api,
) -> None:
    api = quota
    ours = dataset(api, "a")
    first = start(api, ours, **{"Idempotency-Key": "k1"}).json()
    assert start(api, ours, name="m2").status_code == 202
    assert api.submit({"prompts": ["a red circle"]}).status_code == 202  # not a fine-tune
    refused = start(api, ours, name="m3")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "5")
    assert refused.json() == {"error": {
        "code": "quota_exceeded",
        "message": "this job would make 3 unfinished fine-tunes for this tenant; the limit is 2 "
                   "(wait for jobs to finish or cancel some)"}}
    assert finetunes_of(api, "a") == 2
    assert len(queued_messages(api.settings.redis_url, "finetune")) == 2
    replay = start(api, ours, **{"Idempotency-Key": "k1"})
    assert (replay.status_code, replay.json()) == (202, first)
    assert start(api, dataset(api, "b"), tenant="b").status_code == 202
    cancel = api.client.post(f"/v1/finetunes/{first['id']}/cancel", headers=api.auth())
    assert cancel.status_code == 202
    assert start(api, ours, name="m3").status_code == 202
