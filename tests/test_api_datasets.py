"""POST/GET /v1/datasets on SQLite and PostgreSQL: good uploads, every malformed case, tenancy.

Each malformed case of tests/dataset_cases.py is its own test: refused as a whole with its 4xx
code (and nothing stored), or accepted with the bad file rejected under its reason code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.api_fixtures import Api, api, isolated_env  # noqa: F401 - fixtures
from tests.dataset_cases import CASES, Case, good_zip, png

ROOT = Path(__file__).resolve().parent.parent


def upload(api: Api, data: bytes, tenant: str = "a", name: str | None = "brand", **kw):
    form = {"name": name} if name is not None else {}
    return api.client.post("/v1/datasets", files={"file": ("data.zip", data, "application/zip")},
                           data=form, headers=api.auth(tenant), **kw)


def storage(api: Api) -> Path:
    return api.settings.effective_storage_dir


def stored_files(api: Api) -> list[Path]:
    """Everything under the storage dir's datasets folder (temporary folders included)."""
    return [p for p in (storage(api) / "datasets").glob("**/*") if p.is_file()]


def test_upload_stores_every_pair_and_reads_back(api: Api) -> None:
    response = upload(api, good_zip(3))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["accepted_files"], body["rejected_files"]) == ("ready", 3, 0)
    assert [f["caption"] for f in body["files"]] == [f"a blue circle {i}" for i in range(3)]
    assert {(f["width"], f["height"], f["format"]) for f in body["files"]} == {(16, 16, "PNG")}
    again = api.client.get(f"/v1/datasets/{body['id']}", headers=api.auth())
    assert again.status_code == 200 and again.json() == body
    stored = sorted((storage(api) / "datasets" / body["id"]).glob("*.png"))
    assert len(stored) == 3


def test_jpeg_is_accepted_and_stored_as_png(api: Api) -> None:
    from tests.dataset_cases import captions, jpeg, make_zip

    data = make_zip({"p.jpg": jpeg(), "captions.jsonl": captions(("p.jpg", "a gray square"))})
    body = upload(api, data).json()
    assert [(f["status"], f["format"]) for f in body["files"]] == [("accepted", "JPEG")]


def test_another_tenants_dataset_is_a_404(api: Api) -> None:
    dataset_id = upload(api, good_zip(1)).json()["id"]
    response = api.client.get(f"/v1/datasets/{dataset_id}", headers=api.auth("b"))
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "dataset_not_found",
                                        "message": f"dataset {dataset_id} not found"}
    listed = api.client.get("/v1/datasets", headers=api.auth("b")).json()
    assert listed["total"] == 0 and listed["datasets"] == []


def test_upload_without_a_key_is_a_401(api: Api) -> None:
    response = api.client.post("/v1/datasets", files={"file": ("d.zip", good_zip(1))})
    assert response.status_code == 401


def test_upload_that_is_not_multipart_is_a_415(api: Api) -> None:
    response = api.client.post("/v1/datasets", content=good_zip(1), headers={
        **api.auth(), "Content-Type": "application/zip"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_form_without_the_file_field_is_a_400(api: Api) -> None:
    response = api.client.post("/v1/datasets", data={"name": "x"},
                               files={"other": ("d.zip", good_zip(1))}, headers=api.auth())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_upload"


def test_upload_over_the_dataset_limit_is_a_413(sqlite_url: str, redis_url: str, tmp_path: Path,
                                                isolated_env: None) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.api_fixtures import api_settings, make_tenants

    settings = api_settings(sqlite_url, redis_url, tmp_path, max_dataset_bytes=20_000)
    keys, _ = make_tenants(sqlite_url)
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/datasets", files={"file": ("d.zip", b"\x00" * 30_000)},
                               headers={"Authorization": f"Bearer {keys['a']}"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_a_json_route_keeps_the_small_body_limit(api: Api) -> None:
    response = api.client.post("/v1/jobs", content=b"{" + b" " * api.settings.max_body_bytes,
                               headers={**api.auth(), "Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_dataset_gets_a_clear_error(api: Api, case: Case, tmp_path: Path) -> None:
    response = upload(api, case.build())
    assert response.status_code == case.status, response.text
    body = response.json()
    if case.status != 201:
        assert body["error"]["code"] == case.code and body["error"]["message"]
        assert stored_files(api) == []
        return
    rejected = [f for f in body["files"] if f["status"] == "rejected"]
    assert [(f["file"], f["reason"]) for f in rejected] == [(case.file, case.file_reason)]
    assert rejected[0]["message"]
    assert body["accepted_files"] == 1  # the good file next to it is kept


def test_zip_slip_writes_nothing_outside_the_dataset_folder(api: Api, tmp_path: Path) -> None:
    from tests.dataset_cases import captions, make_zip

    escape = "../" * 12 + str(tmp_path / "escaped.png").lstrip("/")
    data = make_zip({escape: png(), "captions.jsonl": captions((escape, "x"))})
    response = upload(api, data)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == escape
    assert not (tmp_path / "escaped.png").exists()
    assert stored_files(api) == []


def test_bomb_image_is_refused_from_its_header_with_flat_memory(tmp_path: Path) -> None:
    """Validate the 30000x30000 bomb in a fresh process: its peak RSS stays near a tiny upload's."""
    from tests.dataset_cases import bomb_png, captions, make_zip

    def peak_kib(data: bytes) -> int:
        path = tmp_path / "upload.zip"
        path.write_bytes(data)
        code = ("import resource, sys; from api.archive import ArchiveLimits, check_archive; "
                "v = check_archive(open(sys.argv[1], 'rb'), ArchiveLimits()); "
                "print([x.reason for x in v]); "
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.split("\n")
        return out[0], int(out[1])

    reasons, bomb_peak = peak_kib(make_zip({"b.png": bomb_png(),
                                            "captions.jsonl": captions(("b.png", "x"))}))
    _, tiny_peak = peak_kib(good_zip(1))
    assert reasons == "['image_too_large']"
    assert bomb_peak - tiny_peak < 30 * 1024  # decoding it would take 112 MB


def test_uploads_over_the_rate_are_a_429_on_their_own_counter(database_url: str, redis_url: str,
                                                              tmp_path: Path,
                                                              isolated_env: None) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.api_fixtures import api_settings, make_tenants

    settings = api_settings(database_url, redis_url, tmp_path, dataset_uploads_per_minute=2,
                            rate_limit_per_minute=2)
    keys, ids = make_tenants(database_url)
    app = create_app(settings)
    app.state.services.rate_limiter.clock = lambda: 28_333_334 * 60 + 12.5  # 12.5 s into a minute
    with TestClient(app) as client:
        api = Api(client, settings, keys, ids)
        answers = [upload(api, good_zip(1)) for _ in range(3)]
        assert [r.status_code for r in answers] == [201, 201, 429]
        assert answers[2].headers["retry-after"] == "48"
        assert answers[2].json()["error"] == {
            "code": "rate_limited",
            "message": "more than 2 dataset uploads in one minute for this tenant; retry in 48 s"}
        assert upload(api, good_zip(1), tenant="b").status_code == 201  # other tenants unaffected
        assert api.submit().status_code == 202  # submissions count on their own
        listed = client.get("/v1/datasets", headers=api.auth("a")).json()
    assert listed["total"] == 2
