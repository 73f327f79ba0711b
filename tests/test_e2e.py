"""End to end over real processes: uvicorn API + Celery worker (the real Alpaca model class, tiny
untrained config) + real Redis + SQLite or PostgreSQL. A client submits briefs over HTTP, polls the
job to success, and reads items, PNGs and the contact sheet back, as `make demo` does. Then the
same with object storage on a real S3 server (SeaweedFS) and the API and the worker in temporary
folders of their own, as on two machines: the images reach the client through S3 only.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from config import Settings
from objects import get_storage
from tests.s3_fixtures import SeaweedS3
from tests.worker_support import ROOT, Processes, load_items, processes_for, wait_for
from tests.worker_support import worker_redis_url  # noqa: F401

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
    with running(procs, procs, "e2e") as base_and_key:
        yield base_and_key


@contextmanager
def running(api: Processes, worker: Processes, name: str) -> Iterator[tuple[str, str]]:
    """An API (uvicorn, on a free port) started with `api`'s settings and a worker with
    `worker`'s, until the block ends; (base URL, a new API key)."""
    key = subprocess.run([sys.executable, "-m", "api.keys", "create", "--tenant", "e2e"], cwd=ROOT,
                         env=api.env, check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        api.start("api", [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                          "--port", str(port)])
        worker.worker(name)
        wait_for(lambda: _healthy(base), 60, "API healthy")
        yield base, key
    finally:
        worker.stop_all()
        api.stop_all()


@pytest.fixture
def s3_stack(postgres_url: str, worker_redis_url: str, tmp_path: Path, s3_server: SeaweedS3,
             s3_prefix: str) -> Iterator[tuple[str, str]]:
    """(API base URL, API key) for an API and a worker (stub model) that share PostgreSQL, Redis
    and the S3 server, each with temporary folders of its own."""
    storage = s3_server.environment(s3_prefix)
    folders = [tmp_path / "api", tmp_path / "worker"]
    for folder in folders:
        folder.mkdir()
    api, worker = (processes_for(postgres_url, worker_redis_url, folder, **storage,
                                 STUB_ITEM_SECONDS="0", BATCH_SIZE="4", LEASE_SECONDS="30")
                   for folder in folders)
    with running(api, worker, "s3") as base_and_key:
        yield base_and_key


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_job_submitted_over_http_runs_on_a_real_worker_to_success(stack: tuple[str, str]) -> None:
    with client_of(stack) as client:
        job_id, job = run_briefs(client)
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


def client_of(stack: tuple[str, str]) -> httpx.Client:
    base, key = stack
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def run_briefs(client: httpx.Client) -> tuple[str, dict]:
    """Submit BRIEFS and wait until the job ends: (job id, the job as the API shows it)."""
    accepted = client.post("/v1/jobs", json={"prompts": BRIEFS, "rounds": 2, "seed": 7})
    assert accepted.status_code == 202
    job_id = accepted.json()["id"]
    return job_id, wait_for(lambda: _terminal(client, job_id), 120, "job terminal")


def _terminal(client: httpx.Client, job_id: str) -> dict | None:
    job = client.get(f"/v1/jobs/{job_id}").json()
    return job if job["status"] in {"succeeded", "failed", "canceled", "partial"} else None


def test_a_job_on_s3_storage_is_served_to_the_client_from_the_object_store(
        s3_stack: tuple[str, str], s3_server: SeaweedS3, s3_prefix: str, postgres_url: str,
        tmp_path: Path) -> None:
    with client_of(s3_stack) as client:
        job_id, job = run_briefs(client)
        assert job["status"] == "succeeded"
        items = client.get(f"/v1/jobs/{job_id}/items").json()["items"]
        pngs = [client.get(item["image_url"]) for item in items]
        sheet = client.get(f"/v1/jobs/{job_id}/sheet.png")
    assert [png.status_code for png in pngs] == [200] * len(BRIEFS) and sheet.status_code == 200
    assert all(Image.open(io.BytesIO(png.content)).format == "PNG" for png in pngs)
    env = s3_server.environment(s3_prefix)
    bucket = get_storage(Settings(**{name.lower(): value for name, value in env.items()}))
    rows = load_items(postgres_url, job_id)
    assert [bucket.get(row.image_path) for row in rows] == [png.content for png in pngs]
    assert not list(tmp_path.rglob("*.png"))  # neither process wrote an image to its disk
