"""Tenancy over every route: taken from the OpenAPI document, so a new route cannot slip by.

Every /v1 route refuses a missing key with 401; every route that takes a job id answers another
tenant's job, and an unknown id, with the same 404 (never 403), and leaves the job untouched.
"""

from __future__ import annotations

from store.models import Job
from tests.api_fixtures import Api, api, isolated_env  # noqa: F401


def routes(api: Api) -> list[tuple[str, str]]:
    paths = api.client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def url(path: str, job_id: str) -> str:
    return path.replace("{job_id}", job_id).replace("{index}", "0")


def test_every_v1_route_needs_a_key(api: Api) -> None:
    v1 = [(m, p) for m, p in routes(api) if p.startswith("/v1/")]
    assert len(v1) >= 7
    for method, path in v1:
        response = api.client.request(method, url(path, "0" * 32))
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


def test_another_tenants_job_is_a_404_on_every_route_that_takes_a_job_id(api: Api) -> None:
    job_a = api.submit(tenant="a").json()["id"]
    with_id = [(m, p) for m, p in routes(api) if "{job_id}" in p]
    assert len(with_id) >= 5
    for method, path in with_id:
        theirs = api.client.request(method, url(path, job_a), headers=api.auth("b"))
        unknown = api.client.request(method, url(path, "f" * 32), headers=api.auth("b"))
        assert (theirs.status_code, unknown.status_code) == (404, 404), (method, path)
        assert theirs.json()["error"] == {"code": "job_not_found", "message": f"job {job_a} not found"}
        assert unknown.json()["error"]["code"] == "job_not_found"
    with api.session() as session:
        job = session.get(Job, job_a)
        assert (job.status, job.cancel_requested) == ("queued", False)


def test_lists_never_show_another_tenants_jobs(api: Api) -> None:
    mine = api.submit(tenant="a").json()["id"]
    api.submit(tenant="b")
    listed = api.client.get("/v1/jobs", headers=api.auth("a")).json()
    assert [job["id"] for job in listed["jobs"]] == [mine] and listed["total"] == 1


def test_health_and_docs_need_no_key(api: Api) -> None:
    assert api.client.get("/healthz").status_code == 200
    assert api.client.get("/openapi.json").status_code == 200
