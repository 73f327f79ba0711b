"""Case 14: cross-tenant access (BOLA), over every route of the OpenAPI document, on both databases.

tests/test_api_auth.py covers the routes that take a job id with a generate job and a missing key.
This suite takes every kind of id a route can carry -- a generate job with a finished item (so its
PNG and contact sheet exist), a dataset, a fine-tune -- all owned by tenant A, and asserts:

- tenant B gets 404 (never 403, never 200) on every id-taking route and method, the same answer
  as for an id that does not exist, while A gets 200 on the same GET routes (the ids are live);
  B's cancels leave A's jobs untouched;
- B's lists (every parameterless GET under /v1) never mention one of A's ids, while A's do;
- no key, an unknown key, a revoked key, an empty bearer and the Basic scheme are each a 401 on
  every /v1 route, whatever the body: a malformed body does not get its 400 before the key is
  known to be good.

A route whose path takes an id kind this suite cannot create fails the test by name, so a new
route cannot slip past it.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from sqlalchemy import select

from store.models import Job
from store.tenants import revoke_api_key
from tests.api_fixtures import Api, api, isolated_env  # noqa: F401 - fixtures
from tests.dataset_cases import good_zip
from tests.test_api_datasets import upload
from tests.test_api_results import finish_item

NOT_FOUND_CODES = {"job_not_found", "dataset_not_found", "item_not_found"}
PARAM = re.compile(r"{(\w+)}")


def operations(api: Api) -> list[tuple[str, str]]:
    paths = api.client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def tenant_a_resources(api: Api) -> dict[str, str]:
    """One live resource of each kind, all owned by tenant A."""
    job_id = api.submit({"prompts": ["a red circle", "a blue square"]}, tenant="a").json()["id"]
    finish_item(api, job_id, 0, "red", ["a red circle"])
    dataset = upload(api, good_zip(2), tenant="a")
    assert dataset.status_code == 201, dataset.text
    finetune = api.client.post("/v1/finetunes", headers=api.auth("a"), json={
        "dataset_id": dataset.json()["id"], "name": "ember-v1", "steps": 5})
    assert finetune.status_code == 202, finetune.text
    return {"job_id": job_id, "dataset_id": dataset.json()["id"],
            "finetune_id": finetune.json()["id"], "index": "0"}


def fill(path: str, ids: dict[str, str]) -> str:
    """The path with tenant A's ids; a fine-tune route's {job_id} is A's fine-tune."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "job_id" and path.startswith("/v1/finetunes/"):
            name = "finetune_id"
        if name not in ids:
            raise AssertionError(f"{path} takes {{{name}}}: teach this test how tenant A owns one")
        return ids[name]
    return PARAM.sub(value, path)


def unknown(path: str) -> str:
    return PARAM.sub(lambda m: "0" if m.group(1) == "index" else "f" * 32, path)


def test_tenant_b_gets_404_on_every_route_that_takes_an_id_of_tenant_a(api: Api) -> None:
    ids = tenant_a_resources(api)
    with_ids = [(m, p) for m, p in operations(api) if PARAM.search(p)]
    assert {"{job_id}", "{dataset_id}", "{index}"} <= {x for _, p in with_ids for x in
                                                       re.findall(r"{\w+}", p)}
    for method, path in with_ids:
        theirs = api.client.request(method, fill(path, ids), headers=api.auth("b"))
        missing = api.client.request(method, unknown(path), headers=api.auth("b"))
        assert (theirs.status_code, missing.status_code) == (404, 404), (method, path, theirs.text)
        assert theirs.json()["error"]["code"] in NOT_FOUND_CODES
        assert theirs.json()["error"]["code"] == missing.json()["error"]["code"], (method, path)
        if method == "GET":
            assert api.client.get(fill(path, ids), headers=api.auth("a")).status_code == 200, path
    with api.session() as session:
        untouched = session.execute(select(Job.status, Job.cancel_requested).where(
            Job.id.in_([ids["job_id"], ids["finetune_id"]]))).all()
    assert untouched == [("queued", False)] * 2


def test_lists_never_include_another_tenants_resources(api: Api) -> None:
    ids = tenant_a_resources(api)
    api.submit({"prompts": ["b's own"]}, tenant="b")
    lists = [p for m, p in operations(api) if m == "GET" and p.startswith("/v1/")
             and not PARAM.search(p)]
    assert {"/v1/jobs", "/v1/datasets", "/v1/finetunes", "/v1/models"} <= set(lists)
    a_ids = [ids["job_id"], ids["dataset_id"], ids["finetune_id"]]
    for path in lists:
        theirs = api.client.get(path, headers=api.auth("b"))
        assert theirs.status_code == 200 and not [i for i in a_ids if i in theirs.text], path
    mine = "".join(api.client.get(p, headers=api.auth("a")).text for p in lists)
    assert all(i in mine for i in a_ids)


def bad_credentials(api: Api) -> dict[str, dict[str, str]]:
    with api.session() as session:
        prefix = api.keys["b"][:12]
        assert revoke_api_key(session, prefix) == 1
    return {
        "missing": {},
        "unknown key": {"Authorization": "Bearer ak_" + "x" * 43},
        "revoked key": api.auth("b"),
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": "Basic YTpi"},
    }


def test_no_or_invalid_key_is_a_401_on_every_v1_route(api: Api) -> None:
    ids = tenant_a_resources(api)
    v1 = [(m, p) for m, p in operations(api) if p.startswith("/v1/")]
    bodies: list[dict[str, Any]] = [{"json": {"prompts": ["x"]}}, {"content": b"\xd7\xff{"}]
    for name, headers in bad_credentials(api).items():
        for (method, path), body in itertools.product(v1, bodies):
            if method != "POST" and "content" in body:
                continue
            response = api.client.request(method, fill(path, ids), **body, headers={
                **headers, "Content-Type": "application/json"})
            assert response.status_code == 401, (name, method, path, body, response.text)
            assert response.json()["error"]["code"] in {"missing_api_key", "invalid_api_key"}
            assert response.headers["www-authenticate"].startswith("Bearer")
