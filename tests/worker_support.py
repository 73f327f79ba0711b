"""Helpers for the worker tests: a private Redis database, jobs as rows, a runtime, processes.

The worker tests use Redis database 14 (WORKER_REDIS_TEST_URL), not the shared fixture's 15:
other suites flush 15 at the start of each test, which would drop queued messages and kombu's
queue bindings under a running worker. Everything else is the real thing: Redis on loopback and
the migrated SQLite/PostgreSQL databases of tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select

from config import Settings, get_settings
from store import session_scope
from store.models import Item, Job, Tenant, new_id
from worker.lifecycle import Runtime
from worker.model_cache import Loader, ModelCache, kind_loader

WORKER_REDIS_URL = os.environ.get("WORKER_REDIS_TEST_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker_redis_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Redis database 14, flushed; also the process's REDIS_URL, because worker.celery_app builds
    a default app from the process settings when first imported (import it inside the test)."""
    monkeypatch.setenv("REDIS_URL", WORKER_REDIS_URL)
    get_settings.cache_clear()
    client = redis.Redis.from_url(WORKER_REDIS_URL)
    client.flushdb()
    yield WORKER_REDIS_URL
    client.flushdb()
    client.close()
    get_settings.cache_clear()


def add_job(url: str, prompts: Sequence[str], *, params: dict[str, Any] | None = None,
            priority: int = 5, kind: str = "generate", model_ref: str | None = None,
            status: str = "queued", attempt: int = 0, age_seconds: float = 0.0) -> str:
    """Insert a tenant, a job and its items (seed = index) as the API would; returns the job id."""
    created = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age_seconds)
    with session_scope(url) as session:
        tenant = Tenant(name=f"tenant-{new_id()}")
        session.add(tenant)
        session.flush()
        job = Job(tenant_id=tenant.id, kind=kind, status=status, priority=priority,
                  params=params if params is not None else {"rounds": 2},
                  model_version=model_ref, total_items=len(prompts), attempt=attempt,
                  created_at=created, updated_at=created)
        session.add(job)
        session.flush()
        session.add_all(Item(job_id=job.id, index=i, prompt=p, seed=1000 + i)
                        for i, p in enumerate(prompts))
        return job.id


def load_job(url: str, job_id: str) -> Job:
    with session_scope(url) as session:
        return session.get(Job, job_id)


def load_items(url: str, job_id: str) -> list[Item]:
    with session_scope(url) as session:
        return list(session.scalars(select(Item).where(Item.job_id == job_id).order_by(Item.index)))


def set_cancel(url: str, job_id: str) -> None:
    with session_scope(url) as session:
        session.get(Job, job_id).cancel_requested = True


def make_settings(url: str, storage: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": url, "redis_url": WORKER_REDIS_URL,
                              "storage_dir": storage, "batch_size": 4, "lease_seconds": 30,
                              "max_attempts": 3, "model_backend": "stub",
                              "stub_item_seconds": 0.0,
                              "round_beat_seconds": 0.0}  # a heartbeat after every round
    values.update(overrides)
    return Settings(**values)


def make_runtime(url: str, storage: Path, *, loader: Loader | None = None,
                 **overrides: Any) -> Runtime:
    settings = make_settings(url, storage, **overrides)
    models = ModelCache(loader or kind_loader(settings), settings.model_cache_size)
    return Runtime(settings, url, Path(storage), models, "<test model>")


class Processes:
    """Worker and sweeper subprocesses, each in its own session so its whole group can be killed."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.started = env, logs, []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Start `argv` in a new session; its output goes to logs/<name>.log (a restart appends)."""
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.started.append((proc, out))
        return proc

    def worker(self, name: str, queues: str = "generate", *, pool: str = "solo",
               concurrency: int = 1, wait: bool = True) -> subprocess.Popen:
        """The documented worker command line, started and (with `wait`) waited for until it
        says ready (`pool="prefork"` for the cases about a pool child dying; production runs
        solo)."""
        log_file = self.logs / f"{name}.log"
        ready_before = log_file.read_bytes().count(b" ready.") if log_file.exists() else 0
        proc = self.start(name, [sys.executable, "-m", "celery", "-A", "worker.tasks", "worker",
                                 "-Q", queues, f"--pool={pool}", "-c", str(concurrency),
                                 "-n", f"{name}@%h", "--loglevel=INFO", "-E"])
        if wait:
            wait_for(lambda: self.log(name).count(b" ready.") > ready_before, 60,
                     f"worker {name} ready")
        return proc

    def sweeper(self) -> subprocess.Popen:
        return self.start("sweeper", [sys.executable, "-m", "worker.sweeper"])

    def log(self, name: str) -> bytes:
        return (self.logs / f"{name}.log").read_bytes()

    def lines_about(self, job_id: str) -> str:
        """Every log line of these processes that names the job, by process: for failure messages."""
        return "\n".join(f"{path.stem}: {line}" for path in sorted(self.logs.glob("*.log"))
                         for line in path.read_text(errors="replace").splitlines()
                         if job_id in line)

    def stop_all(self, grace: float = 10) -> None:
        """SIGTERM each process group started here, SIGKILL it after `grace` seconds."""
        for proc, out in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(grace)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            out.close()


def processes_for(database_url: str, redis_url: str, tmp_path: Path,
                  **env_overrides: str) -> Processes:
    """Processes whose settings point at the test database and Redis; the stub model by default."""
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url,
               VAR_DIR=str(tmp_path / "var"), STORAGE_DIR=str(tmp_path / "storage"),
               MODEL_BACKEND="stub", STUB_ITEM_SECONDS="0.01", BATCH_SIZE="10",
               LEASE_SECONDS="2", SWEEP_INTERVAL_SECONDS="0.5", STALE_QUEUED_SECONDS="60",
               MAX_ATTEMPTS="3", PYTHONPATH=str(ROOT))
    env.update(env_overrides)
    (tmp_path / "logs").mkdir()
    return Processes(env, tmp_path / "logs")


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
