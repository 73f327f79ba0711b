"""End to end over real processes: uvicorn API + Celery worker (the real Alpaca model class, tiny
untrained config) + real Redis + SQLite or PostgreSQL. A client submits briefs over HTTP, polls the
job to success, and reads items, PNGs and the contact sheet back, as `make demo` does.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.worker_support import ROOT, Processes, processes_for, wait_for, worker_redis_url  # noqa: F401

BRIEFS = ["a large red star left of a small blue circle", "three yellow circles",
          "一个绿色三角形在一个紫色正方形上面", "左上角有一个粉色心形", "a brown heart"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def stack(database_url: str, worker_redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(API base URL, API key) for a running API and one worker on the tiny real model."""
    procs = processes_for(database_url, worker_redis_url, tmp_path, MODEL_BACKEND="tiny",
                          BATCH_SIZE="2", LEASE_SECONDS="30")
    key = subprocess.run([sys.executable, "-m", "api.keys", "create", "--tenant", "e2e"], cwd=ROOT,
                         env=procs.env, check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    procs.start("api", [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                        "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        procs.worker("e2e")
        wait_for(lambda: _healthy(base), 60, "API healthy")
        yield base, key
    finally:
        procs.stop_all()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_job_submitted_over_http_runs_on_a_real_worker_to_success(stack: tuple[str, str]) -> None:
    base, key = stack
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        accepted = client.post("/v1/jobs", json={"prompts": BRIEFS, "rounds": 2, "seed": 7})
        assert accepted.status_code == 202
        job_id = accepted.json()["id"]
        job = wait_for(lambda: _terminal(client, job_id), 120, "job terminal")
        assert job["status"] == "succeeded"
        assert job["progress"]["done"] == len(BRIEFS) and job["progress"]["total"] == len(BRIEFS)
        items = client.get(f"/v1/jobs/{job_id}/items").json()["items"]
        assert [item["prompt"] for item in items] == BRIEFS
        for item in items:
            assert item["status"] == "succeeded" and 1 <= len(item["control_texts"]) <= 3
            png = Image.open(io.BytesIO(client.get(item["image_url"]).content))
            assert png.format == "PNG" and png.mode == "RGB"
        sheet = Image.open(io.BytesIO(client.get(f"/v1/jobs/{job_id}/sheet.png").content))
        assert sheet.width > png.width and sheet.height > png.height


def _terminal(client: httpx.Client, job_id: str) -> dict | None:
    job = client.get(f"/v1/jobs/{job_id}").json()
    return job if job["status"] in {"succeeded", "failed", "canceled", "partial"} else None
