"""GET /metrics: off without a token, valid Prometheus exposition (checked by Debian's promtool),
a queue-length gauge that follows the real Redis queue, and item counters equal to the store's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from store.models import Item
from tests.api_fixtures import Api, api, isolated_env, running_api  # noqa: F401
from tests.worker_support import processes_for, wait_for

TOKEN = "scrape-token-for-tests"
PROMTOOL = shutil.which("promtool")


@pytest.fixture
def metered(database_url: str, redis_url: str, tmp_path: Path, isolated_env: None) -> Iterator[Api]:
    """The API with /metrics on (bearer TOKEN)."""
    with running_api(database_url, redis_url, tmp_path, metrics_token=TOKEN) as running:
        yield running


def scrape(api: Api) -> str:
    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def queue_length(api: Api, queue: str = "generate") -> float:
    return samples(scrape(api))[("alpaca_queue_length", (("queue", queue),))]


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(
        api: Api, metered: Api) -> None:
    off = api.client.get("/metrics")
    assert off.status_code == 404 and off.json()["error"]["code"] == "metrics_disabled"
    wrong = metered.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert metered.client.get("/metrics").status_code == 401


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: apt-get install prometheus "
                    "(.ci/run installs it)")
def test_exposition_passes_promtool(metered: Api, tmp_path: Path) -> None:
    assert metered.submit().status_code == 202
    text = scrape(metered)
    assert "alpaca_submit_duration_seconds_bucket" in text
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_submit_latency_is_observed_by_path_and_code(metered: Api) -> None:
    key = ("alpaca_submit_duration_seconds_count", (("code", "202"), ("path", "/v1/jobs")))
    before = samples(scrape(metered)).get(key, 0.0)
    assert metered.submit().status_code == 202
    assert metered.submit({"prompts": []}).status_code == 422
    after = samples(scrape(metered))
    assert after[key] == before + 1
    assert after[("alpaca_submit_duration_seconds_count",
                  (("code", "422"), ("path", "/v1/jobs")))] >= 1


def test_queue_gauge_follows_the_queue_and_item_counters_equal_the_store(
        metered: Api, database_url: str, redis_url: str, tmp_path: Path) -> None:
    assert queue_length(metered) == 0
    for n in range(50):
        assert metered.submit({"prompts": [f"a red circle {n}"], "seed": n}).status_code == 202
    assert queue_length(metered) == 50

    procs = processes_for(database_url, redis_url, tmp_path,
                          WORKER_LIVENESS_INTERVAL_SECONDS="0.5")
    try:
        worker = procs.worker("metrics")
        wait_for(lambda: queue_length(metered) == 0 and _jobs(metered, "succeeded") == 50,
                 120, "50 jobs run")
        assert _workers_online(metered) == 1
        os.killpg(worker.pid, signal.SIGKILL)  # no shutdown hook runs: the key must expire
        wait_for(lambda: _workers_online(metered) == 0, 10, "the dead worker's key to expire")
    finally:
        procs.stop_all()

    scraped = samples(scrape(metered))
    finished = {labels: value for (name, labels), value in scraped.items()
                if name == "alpaca_items_finished_total"}
    with metered.session() as session:
        succeeded = session.scalar(select(func.count()).where(Item.status == "succeeded"))
    assert succeeded == 50
    assert sum(v for labels, v in finished.items() if ("outcome", "succeeded") in labels) == 50
    assert scraped[("alpaca_item_model_seconds_count", ())] == 50
    assert scraped[("alpaca_item_queue_wait_seconds_count", ())] == 50
    assert scraped[("alpaca_item_queue_wait_seconds_bucket", (("le", "+Inf"),))] == 50


def _workers_online(api: Api) -> float:
    return samples(scrape(api))[("alpaca_workers_online", ())]


def _jobs(api: Api, status: str) -> float:
    return samples(scrape(api)).get(("alpaca_jobs", (("kind", "generate"), ("status", status))), 0)

