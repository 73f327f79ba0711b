"""Items, PNGs, the contact sheet, models, health and the key command, on both databases."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update

from api.main import create_app
from api.sheet import CELL, LINE, PAD, Tile, render_sheet, sheet_font, wrap
from objects import get_storage, write_content
from store.catalog import register_model
from store.models import Item
from tests.api_fixtures import Api, api, api_settings, isolated_env  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


def finish_item(api: Api, job_id: str, index: int, colour: str, texts: list[str]) -> bytes:
    """Do what the worker does for one item: store its PNG (on the settings' backend) and
    record the result."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    png = buffer.getvalue()
    (key, sha), = write_content(get_storage(api.settings), [png])
    with api.session() as session:
        session.execute(update(Item).where(Item.job_id == job_id, Item.index == index).values(
            status="succeeded", image_path=key, image_sha256=sha,
            control_texts=texts, agreements=[0.5] * len(texts), rounds_run=len(texts)))
    return png


def test_items_list_shows_results_and_pages_in_index_order(api: Api) -> None:
    job_id = api.submit({"items": [{"prompt": f"p{i}", "seed": i} for i in range(4)]}).json()["id"]
    finish_item(api, job_id, 1, "red", ["a blue circle", "a red circle"])
    page = api.client.get(f"/v1/jobs/{job_id}/items", params={"limit": 2, "offset": 1},
                          headers=api.auth()).json()
    assert (page["job_id"], page["total"], page["limit"], page["offset"]) == (job_id, 4, 2, 1)
    done, pending = page["items"]
    assert (done["index"], done["prompt"], done["seed"], done["status"]) == (1, "p1", 1, "succeeded")
    assert done["control_texts"] == ["a blue circle", "a red circle"]
    assert done["agreements"] == [0.5, 0.5] and done["rounds_run"] == 2
    assert done["image_url"].endswith(f"/v1/jobs/{job_id}/items/1/image.png")
    assert (pending["index"], pending["status"], pending["image_url"]) == (2, "pending", None)


def test_item_image_is_the_stored_png(api: Api) -> None:
    job_id = api.submit().json()["id"]
    png = finish_item(api, job_id, 0, "green", ["a green square"])
    url = api.client.get(f"/v1/jobs/{job_id}/items", headers=api.auth()).json()["items"][0]["image_url"]
    response = api.client.get(url, headers=api.auth())
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content == png


def test_an_image_path_outside_the_storage_dir_is_never_served(api: Api) -> None:
    job_id = api.submit().json()["id"]
    secret = api.settings.var_dir / "secret.png"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(b"not for you")
    with api.session() as session:
        session.execute(update(Item).where(Item.job_id == job_id).values(image_path="../secret.png"))
    response = api.client.get(f"/v1/jobs/{job_id}/items/0/image.png", headers=api.auth())
    assert response.status_code == 404 and response.json()["error"]["code"] == "image_missing"


def test_contact_sheet_is_a_png_with_one_cell_per_item(api: Api) -> None:
    job_id = api.submit({"prompts": ["a red circle", "三个黄色圆形", "a blue star"]}).json()["id"]
    finish_item(api, job_id, 0, "red", ["a red circle"])
    finish_item(api, job_id, 1, "yellow", ["三个黄色圆形"])
    response = api.client.get(f"/v1/jobs/{job_id}/sheet.png", headers=api.auth())
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    sheet = Image.open(io.BytesIO(response.content))
    # 2 columns, 2 rows; each row a label line, the image and one caption line (the longest)
    assert sheet.size == (PAD + 2 * (CELL + PAD), PAD + 2 * (LINE + CELL + LINE + PAD))
    red_centre = sheet.getpixel((PAD + CELL // 2, PAD + LINE + CELL // 2))
    assert red_centre == (255, 0, 0)


def test_sheet_text_wraps_english_at_spaces_and_chinese_anywhere() -> None:
    font = sheet_font()
    english = wrap("a small red star left of a large blue square " * 3, font, 120, 3)
    assert len(english) == 3 and english[-1].endswith("…")
    assert all(font.getlength(line) <= 120 for line in english)
    assert not any(line.startswith(" ") for line in english)
    chinese = wrap("白色背景上，一个大的红色星星在一个小的蓝色圆形左边", font, 60, 10)
    assert "".join(chinese) == "白色背景上，一个大的红色星星在一个小的蓝色圆形左边"
    empty = Image.open(io.BytesIO(render_sheet([])))
    one = Image.open(io.BytesIO(render_sheet([Tile(None, "#0 pending", "pending")])))
    assert empty.size == one.size


def test_models_lists_global_and_own_versions_only(api: Api) -> None:
    with api.session() as session:
        register_model(session, name="default", version="base", checkpoint_path="c", sha256="s",
                       metrics={"accuracy": 0.9})
        register_model(session, name="mine", version="ft-a", checkpoint_path="c", sha256="s",
                       parent_version="base", tenant_id=api.tenant_ids["a"])
        register_model(session, name="theirs", version="ft-b", checkpoint_path="c", sha256="s",
                       parent_version="base", tenant_id=api.tenant_ids["b"])
    models = api.client.get("/v1/models", headers=api.auth()).json()["models"]
    assert [(m["name"], m["version"], m["parent_version"], m["scope"]) for m in models] == [
        ("default", "base", None, "global"), ("mine", "ft-a", "base", "tenant")]
    assert models[0]["metrics"] == {"accuracy": 0.9} and "checkpoint_path" not in models[0]
    assert api.submit({"prompts": ["a"], "model": "theirs"}).status_code == 422
    assert api.submit({"prompts": ["a"], "model": "mine"}).status_code == 202


def test_health_is_ok_when_database_and_broker_answer(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_health_names_the_broker_when_it_is_down(
    database_url: str, tmp_path: Path, isolated_env: None
) -> None:
    settings = api_settings(database_url, "redis://127.0.0.1:1/0", tmp_path)
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert response.json()["checks"] == {"database": "ok", "broker": "unavailable (ConnectionError)"}


def test_key_command_prints_a_key_that_works(api: Api) -> None:
    env = {**os.environ, "DATABASE_URL": api.settings.database_url,
           "REDIS_URL": api.settings.redis_url}
    done = subprocess.run([sys.executable, "-m", "api.keys", "create", "--tenant", "newco"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60)
    key = done.stdout.strip()
    assert key.startswith("ak_") and "\n" not in key and "shown only now" in done.stderr
    response = api.client.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and response.json()["total"] == 0
    subprocess.run([sys.executable, "-m", "api.keys", "revoke", "--prefix", key[:12]],
                   cwd=ROOT, env=env, capture_output=True, check=True, timeout=60)
    assert api.client.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"}).status_code == 401
