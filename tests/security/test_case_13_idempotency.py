"""Case 13: Idempotency-Key replay and misuse, on SQLite and PostgreSQL with the real Redis.

- same key + same body -> the identical status and body, one job row, one message;
- same key + another body -> 422 `idempotency_key_reused`;
- tenant B reusing tenant A's key gets its own job;
- two identical POSTs at the same moment (`asyncio.gather`): on PostgreSQL exactly one 202 and one
  409 `idempotency_key_in_use`. Both requests are held at a barrier just before they insert, so
  both miss each other's row and race on the unique (tenant, key) index; the winner keeps its
  uncommitted row for half a second, the loser's insert waits on the index, then fails. On SQLite
  writers are serialized (BEGIN IMMEDIATE, taken when the request reads its tenant), so the second
  request cannot start until the first commits: it finds the job and replays it -- two 202s with
  identical bodies and one row. That is the documented SQLite behaviour;
- a key is honoured for at least `idempotency_ttl_seconds` (24 h): one minute before the end the
  replay still answers with the first job; one second after, the same key starts a new job. The
  store's clock (`store.jobs.utcnow`) is shifted; the rows are not touched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import httpx
import pytest
from sqlalchemy import func, select

import store.jobs
from api.main import create_app
from store.models import Job
from tests.api_fixtures import Api, api, isolated_env, queued_messages  # noqa: F401 - fixtures

KEY = {"Idempotency-Key": "order-2024-0001"}
BODY = {"prompts": ["a small red star left of a blue square", "三个黄色圆形"], "seed": 11}


def job_count(api: Api) -> int:
    with api.session() as session:
        return session.scalar(select(func.count()).select_from(Job))


def test_replay_is_identical_another_body_is_a_422_and_another_tenant_gets_its_own_job(
    api: Api,
) -> None:
    first = api.submit(BODY, **KEY)
    replay = api.submit(dict(reversed(list(BODY.items()))), **KEY)  # same request, other key order
    assert first.status_code == replay.status_code == 202
    assert replay.json() == first.json() and replay.headers["location"] == first.headers["location"]
    assert replay.headers["idempotent-replayed"] == "true"
    other = api.submit({**BODY, "seed": 12}, **KEY)
    assert other.status_code == 422
    assert other.json()["error"] == {
        "code": "idempotency_key_reused",
        "message": f"Idempotency-Key '{KEY['Idempotency-Key']}' was already used with a different "
                   f"request body (job {first.json()['id']})"}
    theirs = api.submit(BODY, tenant="b", **KEY)
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in theirs.headers
    assert job_count(api) == 2 and len(queued_messages(api.settings.redis_url)) == 2


def test_two_concurrent_identical_posts_give_one_202_and_one_409_on_postgres(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    barrier = threading.Barrier(2, timeout=2)
    real_create = store.jobs.create_job

    def create_at_the_same_moment(session, **fields):  # noqa: ANN001, ANN202
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # SQLite: the other request waits for our write lock and never gets here
        job, created = real_create(session, **fields)
        if created:
            time.sleep(0.5)  # hold the uncommitted row (and its unique-index entry)
        return job, created

    monkeypatch.setattr(store.jobs, "create_job", create_at_the_same_moment)
    responses = asyncio.run(post_twice(api, {**api.auth(), **KEY}))
    statuses = sorted(r.status_code for r in responses)
    assert job_count(api) == 1
    if api.settings.database_url.startswith("postgresql"):
        assert statuses == [202, 409]
        assert responses[[r.status_code for r in responses].index(409)].json()["error"] == {
            "code": "idempotency_key_in_use",
            "message": f"another request with Idempotency-Key '{KEY['Idempotency-Key']}' is "
                       "being processed; retry to get its job"}
    else:
        assert statuses == [202, 202] and responses[0].json() == responses[1].json()
        assert sorted(r.headers.get("idempotent-replayed", "") for r in responses) == ["", "true"]


async def post_twice(api: Api, headers: dict[str, str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=create_app(api.settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(await asyncio.gather(
            *(client.post("/v1/jobs", json=BODY, headers=headers) for _ in range(2))))


def test_a_key_is_honoured_for_24_hours_and_then_starts_a_new_job(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ttl = dt.timedelta(seconds=api.settings.idempotency_ttl_seconds)
    assert ttl >= dt.timedelta(hours=24)
    real_utcnow = store.jobs.utcnow
    first = api.submit(BODY, **KEY).json()
    created = real_utcnow()

    monkeypatch.setattr(store.jobs, "utcnow", lambda: created + ttl - dt.timedelta(minutes=1))
    assert api.submit(BODY, **KEY).json() == first
    assert api.submit({**BODY, "seed": 12}, **KEY).status_code == 422

    monkeypatch.setattr(store.jobs, "utcnow", lambda: created + ttl + dt.timedelta(seconds=1))
    fresh = api.submit({**BODY, "seed": 12}, **KEY)
    assert fresh.status_code == 202 and fresh.json()["id"] != first["id"]
    assert "idempotent-replayed" not in fresh.headers
    monkeypatch.setattr(store.jobs, "utcnow", real_utcnow)  # the new job's clock: the key names it
    assert api.submit({**BODY, "seed": 12}, **KEY).json() == fresh.json()
    with api.session() as session:
        keys = dict(session.execute(select(Job.id, Job.idempotency_key)).all())
    assert keys == {first["id"]: None, fresh.json()["id"]: KEY["Idempotency-Key"]}
