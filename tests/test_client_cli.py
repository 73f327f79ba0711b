"""`alpaca` against the live stack (uvicorn API + a Celery worker on the tiny real model), run in a
pseudo-terminal as a user would: a live progress bar, then the job's files on disk."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.test_e2e import BRIEFS, stack  # noqa: F401
from tests.worker_support import ROOT, worker_redis_url  # noqa: F401


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The client sees only HTTP: one database is enough here."""
    return sqlite_url


def run_in_pty(args: list[str], env: dict[str, str], timeout: float = 180) -> tuple[int, str]:
    """`python -m client ARGS` on a 120-column pseudo-terminal: (exit status, all it wrote)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "client", *args], cwd=ROOT, env=env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.wait(10), b"".join(chunks).decode("utf-8", errors="replace")


def cli_env(base: str, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "CI", "COLUMNS"}}
    return {**env, "ALPACA_API_URL": base, "ALPACA_API_KEY": key, "TERM": "xterm-256color",
            "PYTHONPATH": str(ROOT)}


def test_submit_wait_draws_a_progress_bar_and_writes_the_jobs_files(
        stack: tuple[str, str], tmp_path: Path) -> None:
    base, key = stack
    briefs = tmp_path / "briefs.txt"
    briefs.write_text("# the e2e briefs\n" + "\n".join(BRIEFS) + "\n\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    status, output = run_in_pty(["submit", str(briefs), "--rounds", "2", "--seed", "7", "--wait",
                                 "--out", str(out_dir)], cli_env(base, key))
    assert status == 0, output
    n = len(BRIEFS)
    assert "━" in output and f"{n}/{n}" in output and "round 2/2" in output  # the rich bar
    assert "\x1b[?25l" in output  # a live display (cursor hidden while it redraws)
    results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    assert results["job"]["status"] == "succeeded"
    assert [item["prompt"] for item in results["items"]] == BRIEFS
    for index in range(n):
        assert Image.open(out_dir / f"{index:03d}.png").format == "PNG"
    assert Image.open(out_dir / "sheet.png").width > 64
    assert len((out_dir / "copy.txt").read_text(encoding="utf-8").splitlines()) == n


def test_status_models_and_download_of_a_finished_job(stack: tuple[str, str],
                                                      tmp_path: Path) -> None:
    from client import Client, ClientConfig

    base, key = stack
    with Client(ClientConfig(base_url=base, api_key=key)) as client:
        job = client.wait(client.submit(BRIEFS[:2], rounds=0)["id"], timeout_s=120)
        models = client.models()
    env = cli_env(base, key)
    status, output = run_in_pty(["status", job["id"]], env)
    assert status == 0 and f"job {job['id']}: succeeded, 2/2 items succeeded" in output
    status, output = run_in_pty(["download", job["id"], "--out", str(tmp_path / "d")], env)
    assert status == 0 and sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "000.png", "001.png", "copy.txt", "results.json", "sheet.png"]
    status, output = run_in_pty(["models"], env)
    assert models and all(model["version"][:8] in output for model in models)
    assert status == 0
    status, output = run_in_pty(["cancel", job["id"]], env)
    assert status == 1 and "409 job_finished" in output
