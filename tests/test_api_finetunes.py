"""POST/GET /v1/finetunes on SQLite and PostgreSQL with real Redis: the row is committed before
the message, the message carries the id only and goes to the `finetune` queue; bad requests get
their 4xx; tenancy; cancel."""

from __future__ import annotations

from typing import Any

from tests.api_fixtures import Api, api, isolated_env, queued_messages  # noqa: F401 - fixtures
from tests.dataset_cases import captions, good_zip, make_zip, png
from tests.test_api_datasets import upload


def dataset(api: Api, tenant: str = "a") -> str:
    response = upload(api, good_zip(2), tenant=tenant)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def start(api: Api, tenant: str = "a", **fields: Any):
    body = {"dataset_id": fields.pop("dataset_id", None) or dataset(api, tenant),
            "name": "ember-v1", "steps": 20, **fields}
    return api.client.post("/v1/finetunes", json=body, headers=api.auth(tenant))


def test_finetune_is_stored_then_sent_to_the_finetune_queue_by_id(api: Api) -> None:
    response = start(api, learning_rate=0.002, glossary={"ember": "orange"})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    messages = queued_messages(api.settings.redis_url, "finetune")
    assert [m["headers"]["task"] for m in messages] == ["worker.tasks.run_finetune_job"]
    assert [m["headers"]["argsrepr"] for m in messages] == [repr([job_id])]
    body = api.client.get(f"/v1/finetunes/{job_id}", headers=api.auth()).json()
    assert (body["status"], body["name"], body["steps"], body["learning_rate"]) == (
        "queued", "ember-v1", 20, 0.002)
    assert body["glossary"] == {"ember": "orange"}
    assert body["progress"]["phase"] == "queued" and body["model_version"] is None
    job = api.client.get(body["job_url"], headers=api.auth()).json()
    assert (job["kind"], job["status"]) == ("finetune", "queued")


def test_idempotent_replay_returns_the_same_finetune(api: Api) -> None:
    dataset_id = dataset(api)
    first = start(api, dataset_id=dataset_id, **{})
    body = {"dataset_id": dataset_id, "name": "x", "steps": 5}
    one = api.client.post("/v1/finetunes", json=body, headers={**api.auth(), "Idempotency-Key": "k"})
    two = api.client.post("/v1/finetunes", json=body, headers={**api.auth(), "Idempotency-Key": "k"})
    assert first.status_code == one.status_code == two.status_code == 202
    assert one.json() == two.json() and two.headers["Idempotent-Replayed"] == "true"


def test_bad_finetune_requests_get_their_4xx(api: Api) -> None:
    dataset_id = dataset(api)
    empty = upload(api, make_zip({"a.png": png(), "captions.jsonl": captions(("a.png", " "))}))
    cases = [
        ({"steps": 10**6}, 422, "steps_out_of_range"),
        ({"steps": 0}, 422, "invalid_request"),
        ({"base_model": "nope"}, 422, "unknown_model"),
        ({"name": "default"}, 422, "invalid_name"),
        ({"name": "../x"}, 422, "invalid_request"),
        ({"dataset_id": "f" * 32}, 404, "dataset_not_found"),
        ({"dataset_id": empty.json()["id"]}, 422, "dataset_empty"),
        ({"learning_rate": -1.0}, 422, "invalid_request"),
        ({"glossary": {"": "orange"}}, 422, "invalid_request"),
    ]
    for fields, status, code in cases:
        body = {"dataset_id": dataset_id, "name": "m", "steps": 10, **fields}
        response = api.client.post("/v1/finetunes", json=body, headers=api.auth())
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), fields
    assert queued_messages(api.settings.redis_url, "finetune") == []


def test_finetune_of_another_tenants_dataset_is_a_404(api: Api) -> None:
    theirs = dataset(api, tenant="b")
    response = start(api, dataset_id=theirs)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "dataset_not_found"


def test_another_tenant_cannot_read_or_cancel_a_finetune(api: Api) -> None:
    job_id = start(api).json()["id"]
    for method, path in (("GET", f"/v1/finetunes/{job_id}"),
                         ("POST", f"/v1/finetunes/{job_id}/cancel")):
        response = api.client.request(method, path, headers=api.auth("b"))
        assert response.status_code == 404
    assert api.client.get("/v1/finetunes", headers=api.auth("b")).json()["total"] == 0


def test_cancel_a_queued_finetune_at_once(api: Api) -> None:
    job_id = start(api).json()["id"]
    response = api.client.post(f"/v1/finetunes/{job_id}/cancel", headers=api.auth())
    assert response.status_code == 202 and response.json()["status"] == "canceled"
    again = api.client.post(f"/v1/finetunes/{job_id}/cancel", headers=api.auth())
    assert again.status_code == 202 and again.json()["status"] == "canceled"
    listed = api.client.get("/v1/finetunes", headers=api.auth()).json()
    assert [f["id"] for f in listed["finetunes"]] == [job_id]


def test_models_list_shows_a_tenants_fine_tune_with_parent_and_metrics(api: Api) -> None:
    from store.catalog import register_model

    with api.session() as session:
        register_model(session, name="default", version="d" * 16, checkpoint_path="/d",
                       sha256="d" * 64)
        register_model(session, name="ember-v1", version="e" * 16, checkpoint_path="/e",
                       sha256="e" * 64, parent_version="d" * 16,
                       tenant_id=api.tenant_ids["a"], metrics={"concept": {"after": 0.9}},
                       created_by_job_id="f" * 32)
    mine = api.client.get("/v1/models", headers=api.auth("a")).json()["models"]
    theirs = api.client.get("/v1/models", headers=api.auth("b")).json()["models"]
    assert [(m["name"], m["parent_version"], m["scope"]) for m in mine] == [
        ("default", None, "global"), ("ember-v1", "d" * 16, "tenant")]
    assert mine[1]["metrics"] == {"concept": {"after": 0.9}}
    assert mine[1]["created_by_job_id"] == "f" * 32
    assert [m["name"] for m in theirs] == ["default"]
    job = api.submit({"prompts": ["an ember star"], "model": "ember-v1"}, tenant="b")
    assert (job.status_code, job.json()["error"]["code"]) == (422, "unknown_model")
    assert api.submit({"prompts": ["an ember star"], "model": "ember-v1"}).status_code == 202
