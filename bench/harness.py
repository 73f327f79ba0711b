"""What the benchmarks share: a private store and broker, real worker and API processes on them,
side-by-side timing, and the table they print.

- `Stack`: a fresh PostgreSQL database (POSTGRES_BENCH_URL's server) migrated with Alembic, a
  Redis database of its own (REDIS_BENCH_URL, flushed before and after), a storage folder, and
  the documented process command lines (`celery -A worker.tasks worker --pool=solo`,
  `uvicorn api.main:app`), each in its own process group, all ended on exit.
- `interleaved`: runs the compared cases A, B, A, B, ... and keeps the median of each, so a
  machine busy with other work slows both alike and the ratio stays meaningful.
- `model_env`: which model the worker runs (the shipped checkpoint, another checkpoint
  registered in the catalog, or the untrained tiny model when no checkpoint exists yet).

Benchmarks print figures; they assert nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from store import session_scope
from store.db import dispose_engines
from store.models import TERMINAL_JOB_STATUSES, Job

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_BENCH_URL = os.environ.get("POSTGRES_BENCH_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_BENCH_URL = os.environ.get("REDIS_BENCH_URL", "redis://127.0.0.1:6379/11")
TERMINAL = {s.value for s in TERMINAL_JOB_STATUSES}


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def interleaved(cases: dict[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    """Run every case once per repetition, alternating the order; each case's measurements."""
    names, out = list(cases), {name: [] for name in cases}
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            out[name].append(cases[name]())
            log.info("rep %d %s: %.4g", rep, name, out[name][-1])
    return out


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head")


def wait_for(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


class Stack:
    """A private database, Redis database and storage folder, and the processes started on them."""

    def __init__(self, **env: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="alpaca-bench-"))
        self.db_name = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = make_url(POSTGRES_BENCH_URL)
        self.database_url = self.admin.set(database=self.db_name).render_as_string(
            hide_password=False)
        self.env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": REDIS_BENCH_URL,
                    "VAR_DIR": str(self.tmp / "var"), "STORAGE_DIR": str(self.tmp / "storage"),
                    "PYTHONPATH": str(ROOT), **env}
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def __enter__(self) -> Stack:
        engine = create_engine(self.admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        engine.dispose()
        migrate(self.database_url)
        self.flush_redis()
        (self.tmp / "logs").mkdir()
        return self

    def __exit__(self, *exc: object) -> None:
        for name, proc in reversed(self.procs):
            stop(proc, name)
        dispose_engines()
        engine = create_engine(self.admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        engine.dispose()
        self.flush_redis()
        _remove_at_exit(self.tmp)

    def flush_redis(self) -> None:
        client = redis.Redis.from_url(REDIS_BENCH_URL)
        client.flushdb()
        client.close()

    def start(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        out = open(self.tmp / "logs" / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **env}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / "logs" / f"{name}.log").read_text(errors="replace")

    def worker(self, name: str = "worker", app: str = "worker.tasks", queues: str = "generate",
               **env: str) -> subprocess.Popen:
        """The documented worker command line; returns once it says ready."""
        proc = self.start(name, [sys.executable, "-m", "celery", "-A", app, "worker", "-Q", queues,
                                 "--pool=solo", "-c", "1", "-n", f"{name}@%h", "--loglevel=INFO"],
                          **env)
        wait_for(lambda: " ready." in self.log(name) or proc.poll() is not None, 120,
                 f"{name} ready")
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{self.log(name)[-3000:]}")
        return proc

    def api(self, workers: int = 2, **env: str) -> str:
        """`uvicorn api.main:app` as docker-compose runs it; returns its base URL."""
        port = free_port()
        self.start("api", [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                           "--port", str(port), "--workers", str(workers),
                           "--log-level", "warning"], **env)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base), 60, "the API")
        return base

    def key(self, tenant: str) -> str:
        from store.tenants import create_api_key, get_or_create_tenant

        with session_scope(self.database_url) as session:
            return create_api_key(session, get_or_create_tenant(session, tenant))[1]

    def register(self, name: str, checkpoint: str) -> None:
        """Put a checkpoint in the models catalog under `name` (for every tenant)."""
        import alpaca
        from store.catalog import register_model

        version = alpaca.checkpoint_version(checkpoint)
        with session_scope(self.database_url) as session:
            register_model(session, name=name, version=version, checkpoint_path=checkpoint,
                           sha256=version)

    def register_shipped(self) -> None:
        """Put every kind's shipped default in the catalog, as `make migrate` and the compose
        `migrate` service do (scripts/register_models.py): a job may then name "ads"."""
        from scripts.register_models import register_shipped

        with session_scope(self.database_url) as session:
            register_shipped(session)

    def statuses(self, job_ids: Sequence[str]) -> dict[str, str]:
        with session_scope(self.database_url) as session:
            rows = session.execute(select(Job.id, Job.status).where(Job.id.in_(list(job_ids))))
            return dict(rows.all())

    def wait_done(self, job_ids: Sequence[str], timeout: float = 600) -> None:
        """Until every job is terminal; raises at once if a run was handed back on an error
        (no sweeper runs here to re-send it), with the error and the worker's last lines."""
        def done() -> bool:
            self._raise_handed_back(job_ids)
            statuses = self.statuses(job_ids)
            return len(statuses) == len(job_ids) and set(statuses.values()) <= TERMINAL

        wait_for(done, timeout, f"{len(job_ids)} jobs to finish")

    def _raise_handed_back(self, job_ids: Sequence[str]) -> None:
        with session_scope(self.database_url) as session:
            row = session.execute(
                select(Job.id, Job.error).where(Job.id.in_(list(job_ids)), Job.status == "queued",
                                                Job.error.is_not(None)).limit(1)).first()
        if row is not None:
            tails = {name: self.log(name)[-2000:] for name, _ in self.procs if "worker" in name}
            raise RuntimeError(f"job {row.id} was handed back: {row.error}\n{tails}")


def _remove_at_exit(folder: Path) -> None:
    """Delete a stack's folder when the bench process ends, not when the stack does, and not at
    all with BENCH_KEEP_FOLDERS=1 (for runs back to back: delete them after the last). On ext4
    without a journal (this machine's disk) the kernel passes over every inode freed in the last
    60 s (300 s if its inode table block is dirty) when it allocates one (`recently_deleted`,
    which reads the inode table for each): deleting the thousands of PNGs of one stack made the
    file creations of the next stack's worker cost up to ~0.4 ms of kernel CPU each and P4 fall
    by up to half (perf: 20-25 % of all CPU in `recently_deleted` and the block lookups under
    it)."""
    if os.environ.get("BENCH_KEEP_FOLDERS") == "1":
        log.info("bench folder kept: %s", folder)
        return
    if not _LEFT_BEHIND:
        atexit.register(_remove_left_behind)
    _LEFT_BEHIND.append(folder)


_LEFT_BEHIND: list[Path] = []  # stack folders to delete when the process ends


def _remove_left_behind() -> None:
    for folder in _LEFT_BEHIND:
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def stop(proc: subprocess.Popen, name: str) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop in 20 s; killing it", name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def model_env(checkpoint: str | None, threads: int = 1) -> tuple[dict[str, str], str, str]:
    """(worker env, model name jobs ask for, what the table says) for a benchmark's model.

    The worker runs `threads` torch threads (1 by default: this machine is shared, see
    alpaca.engine.EngineOptions.threads)."""
    import alpaca

    env = {"MODEL_BACKEND": "alpaca", "RUNTIME_THREADS": str(threads)}
    if checkpoint:
        return env, "bench-model", f"checkpoint {checkpoint}, {threads} thread(s)"
    if (alpaca.DEFAULT_CHECKPOINT / "model.json").exists():
        return env, "default", f"the shipped default checkpoint, {threads} thread(s)"
    return ({**env, "MODEL_BACKEND": "tiny"}, "default",
            f"the untrained tiny model (no checkpoint yet), {threads} thread(s)")


def submit(client: httpx.Client, prompts: list[str], **body: Any) -> str:
    """POST /v1/jobs; returns the job id (raises on anything but 202)."""
    response = client.post("/v1/jobs", json={"prompts": prompts, **body})
    if response.status_code != 202:
        raise RuntimeError(f"submit answered {response.status_code}: {response.text[:300]}")
    return response.json()["id"]


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table under a title."""
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def prompts(n: int, seed: int = 0) -> list[str]:
    """n held-out creative-domain briefs (English and Chinese)."""
    import random

    from alpaca import domain

    rng = random.Random(seed)
    return [domain.sample(rng, "heldout")[2] for _ in range(n)]
