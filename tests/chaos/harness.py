"""The chaos cases' cluster: a database, a private Redis, a storage folder and the processes on them.

Built on tests/worker_support.py (`Processes`, `add_job`, `wait_for`): workers run the documented
`celery -A worker.tasks worker` command with the stand-in model (MODEL_BACKEND=stub), the sweeper
is `python -m worker.sweeper`, the API is `uvicorn api.main:app`; each in its own session so a
test can SIGKILL a whole process group, and every group is ended when the test ends.

Test settings follow docs/reliability.md's harness: visibility timeout 15 s, task time limit 10 s,
lease 2 s, sweeper every 0.5 s; a case overrides what it is about.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config import Settings
from store import session_scope
from store.models import Job
from store.tenants import create_api_key, get_or_create_tenant
from tests import invariants
from tests.chaos.servers import RedisServer, free_port
from tests.worker_support import ROOT, Processes, add_job, wait_for

log = logging.getLogger(__name__)

CHAOS_ENV = {
    "VISIBILITY_TIMEOUT_SECONDS": "15", "TASK_TIME_LIMIT_SECONDS": "10", "LEASE_SECONDS": "2",
    "SWEEP_INTERVAL_SECONDS": "0.5", "STALE_QUEUED_SECONDS": "60", "MAX_ATTEMPTS": "3",
    "MODEL_BACKEND": "stub", "STUB_ITEM_SECONDS": "0.01", "BATCH_SIZE": "10",
    "WORKER_SOFT_SHUTDOWN_TIMEOUT_SECONDS": "3",
}
WORKER_RE = re.compile(r"/(\d+)/[0-9a-f]+$")  # "<node>/<pid>/<token>", see worker.tasks.worker_id


@dataclass
class Cluster:
    """What one chaos case runs on; `close()` ends every process it started."""

    database_url: str
    redis: RedisServer
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: Processes | None = None

    def __post_init__(self) -> None:
        (self.tmp / "logs").mkdir(exist_ok=True)
        self.env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis.url,
                    "VAR_DIR": str(self.tmp / "var"), "STORAGE_DIR": str(self.storage),
                    "PYTHONPATH": str(ROOT), **CHAOS_ENV, **self.env}
        self.procs = Processes(self.env, self.tmp / "logs")

    @property
    def storage(self) -> Path:
        return self.tmp / "storage"

    def settings(self) -> Settings:
        """The processes' settings, as the test process sees them (for sending messages)."""
        names = {k.lower(): v for k, v in self.env.items() if k.lower() in Settings.model_fields}
        return Settings(**names)

    def configure(self, **env: str) -> None:
        """Settings for the processes started from now on (names as environment variables)."""
        self.env.update(env)

    def worker(self, name: str, *, pool: str = "solo", concurrency: int = 1) -> subprocess.Popen:
        return self.procs.worker(name, pool=pool, concurrency=concurrency)

    def sweeper(self) -> subprocess.Popen:
        return self.procs.sweeper()

    def api(self, name: str = "api", **env: str) -> str:
        """Start `uvicorn api.main:app` (extra settings in `env`); returns its base URL."""
        port = free_port()
        procs = Processes({**self.env, **env}, self.procs.logs)
        procs.start(name, [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                           "--port", str(port), "--log-level", "info"])
        self.procs.started.extend(procs.started)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base), 60, f"the API on port {port}")
        return base

    def log(self, name: str) -> str:
        return self.procs.log(name).decode(errors="replace")

    def send(self, job_id: str, *, task_id: str | None = None, kind: str = "generate") -> str:
        """Send the job's message as the API does (the same `task_id` twice: a duplicate)."""
        from worker.celery_app import QUEUE_FOR_KIND, TASK_FOR_KIND, broker_priority, make_app

        app = make_app(self.settings())
        result = app.send_task(TASK_FOR_KIND[kind], args=[job_id], queue=QUEUE_FOR_KIND[kind],
                               priority=broker_priority(5), task_id=task_id)
        return result.id

    def submit(self, items: int, *, prompt: str = "brief", **kw: object) -> str:
        """A job of `items` prompts inserted as the API would, then sent; returns its id."""
        job_id = self.add(items, prompt=prompt, **kw)
        self.send(job_id)
        return job_id

    def add(self, items: int, *, prompt: str = "brief", **kw: object) -> str:
        prompts = [f"{prompt} {i}: a small red star left of a blue square" for i in range(items)]
        return add_job(self.database_url, prompts, **{"params": {"rounds": 1}, **kw})

    def queued(self) -> int:
        """Messages waiting in the generate queue (kombu keeps one list per priority step)."""
        client = self.redis.client()
        try:
            return sum(client.llen(k) for k in client.scan_iter("generate*")
                       if client.type(k) == b"list")
        finally:
            client.close()

    def job(self, job_id: str) -> Job:
        with session_scope(self.database_url) as session:
            return session.get(Job, job_id)

    def wait_terminal(self, job_ids: list[str], timeout: float) -> None:
        wait_for(lambda: invariants.all_terminal(self.database_url, job_ids), timeout,
                 f"{len(job_ids)} jobs to finish")

    def wait_status(self, job_id: str, status: str, timeout: float) -> Job:
        wait_for(lambda: self.job(job_id).status == status, timeout, f"job {job_id} {status}")
        return self.job(job_id)

    def done_items(self, job_id: str) -> int:
        return self.job(job_id).done_items

    def key(self, tenant: str) -> str:
        """A new API key for `tenant` (created if needed)."""
        with session_scope(self.database_url) as session:
            return create_api_key(session, get_or_create_tenant(session, tenant))[1]

    def close(self) -> None:
        self.procs.stop_all(grace=3)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def run_pid(job: Job) -> int:
    """The pid of the process that holds the job's run (the task records it as the job's worker)."""
    match = WORKER_RE.search(job.worker or "")
    if match is None:
        raise AssertionError(f"job {job.id} has no worker pid yet ({job.worker!r})")
    return int(match.group(1))


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group of a process this test started, and reap it."""
    os.killpg(proc.pid, sig)
    proc.wait(30)


def wait_running(cluster: Cluster, job_id: str, done_at_least: int = 1, timeout: float = 60) -> Job:
    """Until the job runs and has `done_at_least` items done; returns the row."""
    wait_for(lambda: (j := cluster.job(job_id)).status == "running" and
             j.done_items >= done_at_least, timeout, f"job {job_id} running")
    return cluster.job(job_id)


def elapsed(since: float) -> float:
    return round(time.monotonic() - since, 1)
