"""An item's round-by-round strip (worker/strip.py), end to end: the real engine runs a model
whose rounds draw different images, and the API serves the strip it stored, pixel for pixel,
to the job's tenant (`/v1/jobs/{id}/items/{i}/rounds.png`) and under the job's share token
(`/gallery/{id}/items/{i}/rounds.png`, shown on the page and loaded by headless Chromium);
another tenant, or another job's token, gets a 404.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from api.share import make_token, share_key
from config import Settings
from kinds import DEFAULT_KIND, Step
from tests import invariants
from tests.api_fixtures import Api, api, api_settings, isolated_env  # noqa: F401
from tests.browser import loaded_image_widths, needs_chromium, offline_chromium, served_app
from tests.worker_support import add_job, load_items, make_runtime
from worker.engine import run_job
from worker.strip import GAP, LABEL_HEIGHT

# "<change|same> N": the item is done after round N; "change" draws a new picture (and size)
# every round, "same" the one picture throughout.
PROMPTS = ["change 2", "change 0", "same 3"]


def picture(prompt: str, round_: int) -> np.ndarray:
    """Random pixels, so a panel equals only its own round's image; sizes differ per round."""
    index = 9 if prompt.startswith("same") else round_
    rng = np.random.default_rng(index)
    return rng.integers(0, 256, (12 + 3 * index, 10 + 5 * index, 3), dtype=np.uint8)


class RoundsModel:
    """A ServableModel whose items exit at the round their prompt names."""

    kind, name, version = DEFAULT_KIND, "rounds", "rounds-v1"

    def generate(self, prompts: Sequence[str], seeds: Sequence[int], rounds: int = 3,
                 early_exit: bool = True) -> Iterator[Step]:
        for r in range(rounds + 1):
            done = [r >= int(p.split()[1]) for p in prompts]
            yield Step(round=r, images=[picture(p, r) for p in prompts],
                       control_texts=[f"round {r} of {p}" for p in prompts],
                       agreement=[1.0 if d else 0.5 for d in done], done=done)
            if all(done):
                return


def run_rounds_job(settings: Settings, job_id: str) -> None:
    runtime = make_runtime(settings.database_url, settings.effective_storage_dir,
                           loader=lambda _location: RoundsModel())
    assert run_job(job_id, runtime, "rounds-test") == "succeeded"


def submitted_and_run(api: Api) -> str:
    """A job of tenant "a" with PROMPTS (3 rounds after the first), run to its end."""
    job_id = api.submit({"prompts": PROMPTS, "rounds": 3}).json()["id"]
    run_rounds_job(api.settings, job_id)
    return job_id


def png_array(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def test_an_item_of_three_rounds_has_a_strip_of_its_three_images(api: Api) -> None:
    job_id = submitted_and_run(api)
    reply = api.client.get(f"/v1/jobs/{job_id}/items/0/rounds.png", headers=api.auth())
    assert reply.status_code == 200 and reply.headers["content-type"] == "image/png"
    strip = png_array(reply.content)
    rounds = [picture("change 2", r) for r in range(3)]
    assert strip.shape == (LABEL_HEIGHT + max(r.shape[0] for r in rounds),
                           sum(r.shape[1] for r in rounds) + 2 * GAP, 3)
    x = 0
    for image in rounds:
        h, w = image.shape[:2]
        assert np.array_equal(strip[LABEL_HEIGHT:LABEL_HEIGHT + h, x:x + w], image)
        assert (strip[:LABEL_HEIGHT, x:x + w] < 128).any()  # the round's label is drawn
        x += w + GAP
    listed = api.client.get(f"/v1/jobs/{job_id}/items", headers=api.auth()).json()["items"][0]
    assert listed["rounds_run"] == 3
    assert listed["rounds_url"].endswith(f"/v1/jobs/{job_id}/items/0/rounds.png")


def test_an_item_whose_rounds_did_not_change_it_is_its_own_strip(api: Api) -> None:
    job_id = submitted_and_run(api)
    rows = load_items(api.settings.database_url, job_id)
    assert [(i.rounds_run, i.rounds_path is not None) for i in rows] == [
        (3, True), (1, False), (4, False)]
    storage = api.settings.effective_storage_dir  # every object stored is named by a row
    assert invariants.item_problems(rows, storage) == []
    assert invariants.orphan_files(api.settings.database_url, storage) == []
    for index in (1, 2):
        image = api.client.get(f"/v1/jobs/{job_id}/items/{index}/image.png", headers=api.auth())
        strip = api.client.get(f"/v1/jobs/{job_id}/items/{index}/rounds.png", headers=api.auth())
        assert strip.status_code == 200 and strip.content == image.content


def test_another_tenant_cannot_read_the_strip(api: Api) -> None:
    job_id = submitted_and_run(api)
    reply = api.client.get(f"/v1/jobs/{job_id}/items/0/rounds.png", headers=api.auth("b"))
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "job_not_found"
    pending = api.submit({"prompts": ["change 1"]}).json()["id"]
    reply = api.client.get(f"/v1/jobs/{pending}/items/0/rounds.png", headers=api.auth())
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "image_not_ready"


def test_the_gallery_shows_the_strip_under_its_token_only(api: Api) -> None:
    job_id, other = submitted_and_run(api), submitted_and_run(api)
    key = share_key(api.settings)
    token = make_token(key, job_id, int(time.time()) + 600)
    page = api.client.get(f"/gallery/{job_id}?token={token}").text
    assert page.count('class="rounds"') == 1  # item 0 only: the others' rounds changed nothing
    assert f'/gallery/{job_id}/items/0/rounds.png?token={token}' in page
    shared = api.client.get(f"/gallery/{job_id}/items/0/rounds.png?token={token}")
    owned = api.client.get(f"/v1/jobs/{job_id}/items/0/rounds.png", headers=api.auth())
    assert shared.status_code == 200 and shared.content == owned.content
    assert api.client.get(f"/gallery/{other}/items/0/rounds.png?token={token}").status_code == 404
    expired = make_token(key, job_id, int(time.time()) - 1)
    assert api.client.get(f"/gallery/{job_id}/items/0/rounds.png?token={expired}"
                          ).status_code == 403


@needs_chromium
def test_headless_chromium_loads_the_strip_on_the_page(sqlite_url: str, redis_url: str,
                                                       tmp_path: Path, isolated_env: None) -> None:
    settings = api_settings(sqlite_url, redis_url, tmp_path)
    job_id = add_job(settings.database_url, PROMPTS, params={"rounds": 3})
    run_rounds_job(settings, job_id)
    token = make_token(share_key(settings), job_id, int(time.time()) + 600)
    with served_app(settings) as base:
        driver = offline_chromium()
        try:
            driver.get(f"{base}/gallery/{job_id}?token={token}")
            widths = loaded_image_widths(driver, "a.rounds img")
        finally:
            driver.quit()
    assert widths == [sum(picture("change 2", r).shape[1] for r in range(3)) + 2 * GAP]
