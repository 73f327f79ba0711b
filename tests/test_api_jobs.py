"""POST/GET /v1/jobs and cancel, on the in-process app with a real database and real Redis."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select, update

from api.main import create_app
from store.catalog import register_model
from store.models import Item, Job
from tests.api_fixtures import (  # noqa: F401 - fixtures
    Api, api, api_settings, isolated_env, make_tenants, queued_messages,
)
from worker.celery_app import GENERATE_TASK

ROOT = Path(__file__).resolve().parent.parent


def job_row(api: Api, job_id: str) -> Job:
    with api.session() as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def items_of(api: Api, job_id: str) -> list[tuple[int, str, int, str]]:
    with api.session() as session:
        rows = session.execute(select(Item.index, Item.prompt, Item.seed, Item.status)
                               .where(Item.job_id == job_id).order_by(Item.index))
        return [tuple(row) for row in rows]


def test_submit_returns_202_with_location_and_the_message_lands_in_redis(api: Api) -> None:
    response = api.submit({"prompts": ["a red circle", " 三个黄色圆形 "], "seed": 7, "rounds": 2})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and response.headers["location"] == body["url"]
    assert body["url"].endswith(f"/v1/jobs/{body['id']}")
    assert items_of(api, body["id"]) == [(0, "a red circle", 7, "pending"),
                                         (1, "三个黄色圆形", 8, "pending")]
    assert job_row(api, body["id"]).dispatched_at is not None
    (message,) = queued_messages(api.settings.redis_url)
    assert message["headers"]["task"] == GENERATE_TASK
    args = json.loads(base64.b64decode(message["body"]))[0]
    assert args == [body["id"]]


def test_high_priority_job_goes_to_the_front_priority_list(api: Api, redis_url: str) -> None:
    api.submit({"prompts": ["low"], "priority": 0})
    api.submit({"prompts": ["high"], "priority": 9})
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_url)
    assert client.llen("generate") == 1 and client.llen("generate:9") == 1  # kombu serves 0 first
    client.close()


def test_items_keep_their_own_seeds_and_prompts_without_seed_get_a_recorded_one(api: Api) -> None:
    with_items = api.submit({"items": [{"prompt": "x", "seed": 42}, {"prompt": "y", "seed": 0}]})
    assert [row[2] for row in items_of(api, with_items.json()["id"])] == [42, 0]
    random_seeds = api.submit({"prompts": ["x", "y", "z"]}).json()["id"]
    base = job_row(api, random_seeds).params["seed"]
    assert [row[2] for row in items_of(api, random_seeds)] == [base, base + 1, base + 2]


def test_read_job_shows_status_progress_params_and_timings(api: Api) -> None:
    job_id = api.submit({"prompts": ["a", "b", "c"], "rounds": 1, "priority": 8}).json()["id"]
    job = api.client.get(f"/v1/jobs/{job_id}", headers=api.auth()).json()
    assert (job["id"], job["status"], job["kind"], job["priority"]) == (job_id, "queued", "generate", 8)
    assert job["progress"] == {"total": 3, "done": 0, "failed": 0, "current_round": 0}
    assert job["params"]["rounds"] == 1 and job["model"] == "default"
    assert job["error"] is None and job["started_at"] is None
    assert job["created_at"].endswith(("Z", "+00:00"))
    assert job["items_url"].endswith(f"/v1/jobs/{job_id}/items")


def test_a_registered_default_model_is_resolved_to_its_version(api: Api) -> None:
    with api.session() as session:
        register_model(session, name="default", version="v" * 64, checkpoint_path="x", sha256="0" * 64)
    job_id = api.submit({"prompts": ["a"], "model": "default"}).json()["id"]
    assert job_row(api, job_id).model_version == "v" * 64


def test_list_jobs_pages_newest_first_filters_status_and_caps_the_page(api: Api) -> None:
    ids = [api.submit({"prompts": [f"p{i}"]}).json()["id"] for i in range(4)]
    api.submit({"prompts": ["other"]}, tenant="b")
    page = api.client.get("/v1/jobs", params={"limit": 2, "offset": 1}, headers=api.auth()).json()
    assert page["total"] == 4 and [j["id"] for j in page["jobs"]] == [ids[2], ids[1]]
    api.client.post(f"/v1/jobs/{ids[0]}/cancel", headers=api.auth())
    canceled = api.client.get("/v1/jobs", params={"status": "canceled"}, headers=api.auth()).json()
    assert [j["id"] for j in canceled["jobs"]] == [ids[0]]
    huge = api.client.get("/v1/jobs", params={"limit": 10_000}, headers=api.auth()).json()
    assert huge["limit"] == api.settings.max_page_size


def test_cancel_queued_job_cancels_it_and_its_items_at_once(api: Api) -> None:
    job_id = api.submit().json()["id"]
    response = api.client.post(f"/v1/jobs/{job_id}/cancel", headers=api.auth())
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("canceled", True)
    assert {row[3] for row in items_of(api, job_id)} == {"canceled"}
    again = api.client.post(f"/v1/jobs/{job_id}/cancel", headers=api.auth())
    assert again.status_code == 202 and again.json()["status"] == "canceled"


def test_cancel_running_job_asks_the_worker_to_stop(api: Api) -> None:
    job_id = api.submit().json()["id"]
    with api.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(status="running"))
    response = api.client.post(f"/v1/jobs/{job_id}/cancel", headers=api.auth())
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("running", True)


def test_cancel_finished_job_is_a_409(api: Api) -> None:
    job_id = api.submit().json()["id"]
    with api.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(status="succeeded"))
    response = api.client.post(f"/v1/jobs/{job_id}/cancel", headers=api.auth())
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "job_finished", "message": f"job {job_id} is already succeeded; nothing to cancel"}


def test_idempotent_replay_returns_the_same_status_and_body_and_one_job(api: Api) -> None:
    first = api.submit({"prompts": ["a", "b"]}, **{"Idempotency-Key": "order-1"})
    with api.session() as session:  # the job moves on; the replay still answers as the first time
        session.execute(update(Job).values(status="running"))
    replay = api.submit({"rounds": None, "prompts": ["a", "b"]}, **{"Idempotency-Key": "order-1"})
    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    assert replay.headers["location"] == first.headers["location"]
    assert replay.headers["idempotent-replayed"] == "true"
    with api.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
    assert len(queued_messages(api.settings.redis_url)) == 1


def test_idempotency_key_reused_with_another_body_is_a_422(api: Api) -> None:
    first = api.submit({"prompts": ["a"]}, **{"Idempotency-Key": "k"}).json()
    response = api.submit({"prompts": ["b"]}, **{"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "idempotency_key_reused",
        "message": f"Idempotency-Key 'k' was already used with a different request body "
                   f"(job {first['id']})"}


def test_another_tenant_reusing_an_idempotency_key_gets_its_own_job(api: Api) -> None:
    job_a = api.submit(**{"Idempotency-Key": "k"}).json()["id"]
    job_b = api.submit(tenant="b", **{"Idempotency-Key": "k"}).json()["id"]
    assert job_a != job_b


def test_concurrent_duplicate_submissions_make_exactly_one_job(api: Api) -> None:
    app = create_app(api.settings)
    body = {"prompts": ["same"] * 50}
    headers = {**api.auth(), "Idempotency-Key": "race"}

    async def race() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return list(await asyncio.gather(
                *(client.post("/v1/jobs", json=body, headers=headers) for _ in range(6))))

    responses = asyncio.run(race())
    accepted = [r.json() for r in responses if r.status_code == 202]
    conflicts = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
    assert accepted and len(accepted) + len(conflicts) == 6
    assert all(a == accepted[0] for a in accepted) and set(conflicts) <= {"idempotency_key_in_use"}
    with api.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
        assert session.scalar(select(func.count()).select_from(Item)) == 50


def test_broker_down_still_accepts_the_job_as_queued_for_the_sweeper(
    database_url: str, redis_url: str, tmp_path: Path, isolated_env: None
) -> None:
    from fastapi.testclient import TestClient

    settings = api_settings(database_url, "redis://127.0.0.1:1/0", tmp_path)
    keys, _ = make_tenants(database_url)
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.post("/v1/jobs", json={"prompts": ["a"]},
                               headers={"Authorization": f"Bearer {keys['a']}"})
        elapsed = time.monotonic() - started
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert elapsed < 10
    with api_session(database_url) as session:
        job = session.get(Job, response.json()["id"])
        assert (job.status, job.dispatched_at, job.total_items) == ("queued", None, 1)


def api_session(database_url: str):  # noqa: ANN201
    from store.db import session_scope

    return session_scope(database_url)


def test_openapi_and_docs_are_served(api: Api) -> None:
    assert api.client.get("/docs").status_code == 200
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/cancel", "/v1/models",
            "/healthz", "/v1/jobs/{job_id}/sheet.png"} <= set(paths)
    assert "JobCreate" in json.dumps(paths["/v1/jobs"]["post"])


def test_the_api_process_never_imports_torch_or_the_task_bodies(tmp_path: Path) -> None:
    code = ("import sys; from api.main import app; import api.keys, api.submit, worker.celery_app; "
            "app.openapi(); "
            "bad = [m for m in ('torch', 'alpaca', 'worker.tasks') if m in sys.modules]; "
            "assert not bad, bad")
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "REDIS_URL": "redis://127.0.0.1:1/0"}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60, env=env)


def test_a_duplicate_that_loses_the_race_for_its_key_is_a_409_on_postgres(api: Api) -> None:
    """A first request holds the key uncommitted; the duplicate arrives meanwhile. PostgreSQL:
    its insert waits on the unique index, then loses (409). SQLite serializes writers, so the
    duplicate waits for the commit and replays the first job (202)."""
    import threading

    from api.schemas import JobCreate
    from api.submit import request_hash
    from store.db import session_factory
    from store.jobs import NewItem, create_job

    body = {"prompts": ["a"]}
    holder = session_factory(api.settings.database_url)()
    held, _ = create_job(holder, tenant_id=api.tenant_ids["a"], items=[NewItem("a", 1)],
                         params={}, idempotency_key="race", request_hash=request_hash(JobCreate(**body)))
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(
        response=api.submit(body, **{"Idempotency-Key": "race"})))
    thread.start()
    time.sleep(0.5)
    holder.commit()
    holder.close()
    thread.join(timeout=30)
    response = result["response"]
    if api.settings.database_url.startswith("postgresql"):
        assert response.status_code == 409
        assert response.json()["error"] == {
            "code": "idempotency_key_in_use",
            "message": "another request with Idempotency-Key 'race' is being processed; "
                       "retry to get its job"}
    else:
        assert (response.status_code, response.json()["id"]) == (202, held.id)
