"""Model families through the seam: the real worker serves any registered kind, unchanged.

A toy family (tests/toy_kind.py), registered through MODEL_KINDS, runs a job end to end through
the engine, the model cache and the catalog: its payloads land with the items and its refusal
fails its item with the refusal's code. The ads family (alpaca_ads.kind, registered by entry
point) is served the same way from a catalog version of kind "ads".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kinds import registry
from store import session_scope
from store.catalog import register_model
from tests import toy_kind
from tests.worker_support import add_job, load_items, load_job, make_runtime
from worker.engine import run_job


@pytest.fixture
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The toy kind registered for this process, as a deployment would through MODEL_KINDS."""
    monkeypatch.setenv(registry.EXTRA_ENV, "tests.toy_kind:KIND")
    registry.kinds.cache_clear()
    yield
    registry.kinds.cache_clear()


def add_version(url: str, name: str, checkpoint: Path, version: str, kind: str) -> None:
    with session_scope(url) as session:
        register_model(session, name=name, version=version, checkpoint_path=str(checkpoint),
                       sha256="0" * 64, kind=kind)


def test_a_second_model_family_runs_a_job_end_to_end_through_the_worker(
        database_url: str, tmp_path: Path, toy_registered: None) -> None:
    version = toy_kind.save(shade=20, checkpoint_dir=tmp_path / "toy-ckpt")
    add_version(database_url, "flat", tmp_path / "toy-ckpt", version, "toy")
    job_id = add_job(database_url, ["red", "plaid", "blue"], params={"rounds": 1},
                     model_ref=version)
    rt = make_runtime(database_url, tmp_path / "storage", model_backend="alpaca")
    assert run_job(job_id, rt, "w1") == "partial"
    job, items = load_job(database_url, job_id), load_items(database_url, job_id)
    assert (job.model_version, job.done_items, job.failed_items) == (version, 3, 1)
    red, plaid, blue = items
    assert [i.status for i in items] == ["succeeded", "failed", "succeeded"]
    assert (plaid.error_code, plaid.error) == ("colour_unknown", "no colour called 'plaid'")
    assert red.payload == {"colour": "red", "rgb": [220, 20, 20]}
    assert blue.payload == {"colour": "blue", "rgb": [20, 20, 220]}
    pixels = np.asarray(Image.open(tmp_path / "storage" / blue.image_path))
    assert pixels.shape == (8, 8, 3) and {tuple(p) for p in pixels.reshape(-1, 3)} == {
        (20, 20, 220)}
    assert rt.models.loads == 1


def test_a_version_of_a_kind_this_worker_does_not_know_fails_its_job(sqlite_url: str,
                                                                     tmp_path: Path) -> None:
    add_version(sqlite_url, "flat", tmp_path / "toy-ckpt", "t0", "toy")  # toy not registered
    job_id = add_job(sqlite_url, ["red"], model_ref="t0")
    rt = make_runtime(sqlite_url, tmp_path / "storage", model_backend="alpaca")
    assert run_job(job_id, rt, "w1") == "failed"
    job = load_job(sqlite_url, job_id)
    assert job.error_code == "model_unavailable" and "no model kind 'toy'" in job.error


def test_an_ads_version_in_the_catalog_is_served_with_its_copy_and_design(
        sqlite_url: str, tmp_path: Path) -> None:
    import alpaca_ads

    # The shipped checkpoint, saved as a catalog version: an untrained model cannot place the
    # product of a brief, and refuses it (brief_not_understood) as it should.
    version = alpaca_ads.save(alpaca_ads.load(None), tmp_path / "ads-ckpt")
    add_version(sqlite_url, "banners", tmp_path / "ads-ckpt", version, "ads")
    brief = json.dumps({"brief": "Summer sale on running shoes, 30% off", "size": "300x250"})
    job_id = add_job(sqlite_url, [brief], params={"rounds": 0}, model_ref=version)
    rt = make_runtime(sqlite_url, tmp_path / "storage", model_backend="alpaca")
    assert run_job(job_id, rt, "w1") == "succeeded"
    (item,) = load_items(sqlite_url, job_id)
    assert load_job(sqlite_url, job_id).model_version == version
    assert {"copy", "design"} <= set(item.payload) and item.payload["copy"] is not None
    assert item.payload["design"] is not None
    assert Image.open(tmp_path / "storage" / item.image_path).size == (300, 250)
