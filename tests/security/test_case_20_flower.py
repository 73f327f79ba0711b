"""Case 20: Flower without credentials. Two ways of starting it, each on a free loopback port and a
private Redis: the documented command (`celery -A worker.celery_app flower --address=127.0.0.1
--port=P --basic-auth=u:p`) and the product's launcher (`python -m worker.flower`, credentials
from FLOWER_USER / FLOWER_PASSWORD, handed over in the environment).

- the dashboard, /api/workers, /api/task/async-apply/<x> and /api/worker/shutdown/<x> answer 401
  without credentials and with wrong ones, and something else than 401 with the right ones;
- every listening socket of the process is on 127.0.0.1, and the machine's own non-loopback
  address (when it has one) refuses the connection;
- the launcher refuses to start without a password (exit 2, nothing listens) and keeps the
  password out of the process's command line; FLOWER_UNAUTHENTICATED_API is not passed on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.security.servers import ROOT, RedisServer, end_process, free_port, wait_until

pytestmark = pytest.mark.chaos

USER, PASSWORD = "ops", "s3cret-flower"
PROBES = [("GET", "/"), ("GET", "/api/workers"), ("POST", "/api/task/async-apply/x"),
          ("POST", "/api/worker/shutdown/x")]


def start_flower(how: str, redis_url: str, port: int, log: Path,
                 password: str = PASSWORD) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT),
           "FLOWER_UNAUTHENTICATED_API": "true"}  # must not open the API
    if how == "celery flower":
        argv = [sys.executable, "-m", "celery", "-A", "worker.celery_app", "flower",
                "--address=127.0.0.1", f"--port={port}", f"--basic-auth={USER}:{password}"]
    else:
        argv = [sys.executable, "-m", "worker.flower"]
        env.update(FLOWER_USER=USER, FLOWER_PASSWORD=password, FLOWER_PORT=str(port))
    with open(log, "ab") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


@pytest.fixture(params=["celery flower", "python -m worker.flower"])
def flower(request: pytest.FixtureRequest, own_redis: RedisServer,
           tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    proc = start_flower(request.param, own_redis.url, port, tmp_path / "flower.log")
    try:
        wait_until(lambda: answers(port, proc, tmp_path / "flower.log"), 60, "Flower", 0.2)
        yield proc, port
    finally:
        end_process(proc)


def answers(port: int, proc: subprocess.Popen, log: Path) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"Flower exited with {proc.returncode}: {log.read_text()[-2000:]}")
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2)
    except httpx.HTTPError:
        return False
    return True


def test_flower_needs_credentials_on_the_dashboard_and_the_api(
    flower: tuple[subprocess.Popen, int],
) -> None:
    _, port = flower
    base = f"http://127.0.0.1:{port}"
    for method, path in PROBES:
        anonymous = httpx.request(method, base + path, timeout=10)
        wrong = httpx.request(method, base + path, auth=(USER, "guess"), timeout=10)
        right = httpx.request(method, base + path, auth=(USER, PASSWORD), timeout=10)
        assert (anonymous.status_code, wrong.status_code) == (401, 401), (method, path)
        assert right.status_code != 401, (method, path, right.text[:200])
    assert httpx.get(base + "/api/workers", auth=(USER, PASSWORD), timeout=10).status_code == 200


def own_non_loopback_address() -> str | None:
    """This machine's outward address (no packet is sent), or None on a loopback-only machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_flower_listens_on_loopback_only(flower: tuple[subprocess.Popen, int]) -> None:
    proc, port = flower
    processes = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    listening = [c.laddr for p in processes for c in p.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and {addr.ip for addr in listening} == {"127.0.0.1"}
    assert port in {addr.port for addr in listening}
    outward = own_non_loopback_address()
    if outward is not None:
        with pytest.raises(OSError):
            socket.create_connection((outward, port), timeout=2).close()


def test_the_launcher_refuses_to_start_without_a_password(
    own_redis: RedisServer, tmp_path: Path,
) -> None:
    port = free_port()
    proc = start_flower("python -m worker.flower", own_redis.url, port, tmp_path / "f.log",
                        password="")
    try:
        assert proc.wait(60) == 2
    finally:
        end_process(proc)
    assert ("refusing to start Flower without credentials: set FLOWER_PASSWORD"
            in (tmp_path / "f.log").read_text())
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_launcher_keeps_the_password_off_the_command_line(
    own_redis: RedisServer, tmp_path: Path,
) -> None:
    port = free_port()
    proc = start_flower("python -m worker.flower", own_redis.url, port, tmp_path / "f.log")
    try:
        wait_until(lambda: answers(port, proc, tmp_path / "f.log"), 60, "Flower", 0.2)
        command_line = " ".join(psutil.Process(proc.pid).cmdline())
        environ = psutil.Process(proc.pid).environ()
    finally:
        end_process(proc)
    assert "flower" in command_line and PASSWORD not in command_line
    assert environ["FLOWER_BASIC_AUTH"] == f"{USER}:{PASSWORD}"
    assert "FLOWER_UNAUTHENTICATED_API" not in environ
