"""Servers the security and chaos cases start and stop themselves, never the machine's shared ones.

- `RedisServer`: a private `redis-server` on a free loopback port, with a password and AOF, in a
  temporary folder. It can be shut down without saving (`SHUTDOWN NOSAVE`), paused with SIGSTOP,
  resumed and restarted on the same port, so a test can take the broker away under a running API.
- `Uvicorn`: `uvicorn api.main:app` on a free loopback port, configured through the environment.

Every process is started with `start_new_session=True` and ended by its own pid (or its own
process group); nothing here signals a process it did not start.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import redis

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "test"


def free_port() -> int:
    """A port nothing listens on at the moment (the kernel's pick on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float, what: str,  # noqa: ANN001, ANN201
               interval: float = 0.05):
    """Poll `condition()` until it returns something truthy; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def end_process(proc: subprocess.Popen, *, group: bool = True, timeout: float = 10) -> None:
    """SIGTERM a process we started (its whole group when `group`), SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    send = (lambda sig: os.killpg(proc.pid, sig)) if group else proc.send_signal
    try:
        send(signal.SIGCONT)
        send(signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(timeout)
    except ProcessLookupError:
        proc.wait(timeout)


class RedisServer:
    """A private redis-server: `start()`, `shutdown_nosave()`, `pause()`, `resume()`, `stop()`."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def client(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD,
                           socket_timeout=timeout, socket_connect_timeout=timeout)

    def start(self) -> RedisServer:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--requirepass", PASSWORD, "--appendonly", "yes", "--appendfsync", "everysec",
                "--maxmemory-policy", "noeviction", "--save", "", "--dir", str(self.folder)]
        self._log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(self.answers, 15, f"redis-server on port {self.port}")
        log.info("redis-server pid %d on 127.0.0.1:%d", self.proc.pid, self.port)
        return self

    def answers(self) -> bool:
        client = self.client(0.5)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def shutdown_nosave(self) -> None:
        """`SHUTDOWN NOSAVE`: the server exits at once; the port is closed."""
        client = self.client()
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        finally:
            client.close()
        if self.proc is not None:
            self.proc.wait(15)
        log.info("redis-server on port %d shut down (nosave)", self.port)

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing is ever answered."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            end_process(self.proc, group=False)
        if self._log is not None:
            self._log.close()
            self._log = None


class Uvicorn:
    """`uvicorn api.main:app` on a free loopback port, settings from `env`; `with` stops it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Uvicorn:
        out = open(self.log_path, "ab")  # noqa: SIM115 - the child holds it; closed on exit
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        wait_until(self._healthy, 60, f"uvicorn on port {self.port}", interval=0.2)
        return self

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"uvicorn exited with {self.proc.returncode}: "
                                 f"{self.log_path.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def __exit__(self, *exc_info: object) -> None:
        if self.proc is not None:
            end_process(self.proc)
