"""`make demo`: the whole path a job travels, on the embedded defaults, in one command.

Starts the stack (embedded Redis, SQLite, API, one worker, the sweeper, Flower), submits two jobs
with the project's client (client/): the briefs of scripts/demo_briefs.txt to the shapes model and
those of scripts/demo_ads_briefs.txt (16 ad briefs, 8 English and 8 Chinese, seven ad sizes) to
the ads model; follows each with its progress bar, downloads out/<job_id>/ (one PNG per item,
sheet.png, copy.txt, results.json), prints the URLs, and stops what it started.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from client import Client, ClientConfig
from client.files import read_briefs
from client.progress import JobProgress
from config import Settings
from config.embedded import socket_path, stop_embedded_redis
from scripts.services import ROOT, Stack

BRIEFS_FILE = Path(__file__).with_name("demo_briefs.txt")  # the sets change without code
ADS_BRIEFS_FILE = Path(__file__).with_name("demo_ads_briefs.txt")


def create_api_key(stack: Stack, tenant: str) -> str:
    """A fresh key for the demo tenant, made with the same command an operator uses."""
    done = subprocess.run([sys.executable, "-m", "api.keys", "create", "--tenant", tenant],
                          cwd=ROOT, env=stack.env(), check=True, capture_output=True, text=True)
    return done.stdout.split()[-1]


def submit_and_download(client: Client, briefs: list[str], rounds: int, timeout: float,
                        model: str = "default") -> tuple[dict, list[dict], Path]:
    """Submit, follow with the client's progress bar, download into out/<job_id>/."""
    accepted = client.submit(briefs, model=model, rounds=rounds, seed=0)
    print(f"submitted job {accepted['id']} with {len(briefs)} briefs for model {model!r}")
    with JobProgress(Console(stderr=True), accepted["id"]) as progress:
        job = client.wait(accepted["id"], on_progress=progress, timeout_s=timeout)
    out_dir = client.download(job["id"], ROOT / "out" / job["id"])
    items = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))["items"]
    return job, items, out_dir


def run_demo(rounds: int, timeout: float,
             jobs: tuple[tuple[Path, str], ...] = ((BRIEFS_FILE, "default"),
                                                   (ADS_BRIEFS_FILE, "ads"))) -> list[Path]:
    started = time.monotonic()
    settings = Settings()
    redis_was_running = settings.redis_url or socket_path(settings.var_dir).exists()
    stack = Stack(settings)
    try:
        stack.migrate()
        stack.start()
        config = ClientConfig(base_url=stack.api_url, api_key=create_api_key(stack, "demo"))
        out_dirs = []
        with Client(config) as client:
            for briefs_file, model in jobs:
                job, items, out_dir = submit_and_download(client, read_briefs(briefs_file),
                                                          rounds, timeout, model)
                print_summary(job, items, out_dir)
                out_dirs.append(out_dir)
        print_urls(stack)
        print(f"demo wall time {time.monotonic() - started:.1f} s")
        return out_dirs
    finally:
        stack.stop()
        if not redis_was_running:
            stop_embedded_redis(settings.var_dir)


def print_summary(job: dict, items: list[dict], out_dir: Path) -> None:
    ok = sum(item["status"] == "succeeded" for item in items)
    print(f"job {job['id']}: {job['status']}, {ok}/{len(items)} items succeeded")
    for item in items[:4]:
        texts = item.get("control_texts") or [""]
        print(f"  #{item['index']:>2} {item['prompt']!r} -> {texts[-1]!r}")
    print(f"wrote {out_dir} ({ok} PNGs, sheet.png, copy.txt, results.json)")
    print(f"gallery {job['gallery_url']}")


def print_urls(stack: Stack) -> None:
    print(f"API   {stack.api_url}/v1   docs {stack.api_url}/docs")
    print(f"Flower {stack.flower_url} (user {stack.settings.flower_user}, password in "
          f"var/flower_password)" if not stack.settings.flower_password else
          f"Flower {stack.flower_url}")
    print("(the demo stops what it started; `make up` keeps the stack running)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interactor rounds per item")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the job")
    parser.add_argument("--briefs", type=Path, help="only these briefs (one per line)")
    parser.add_argument("--model", default="default", help="the model for --briefs")
    args = parser.parse_args()
    if args.briefs is not None:
        run_demo(args.rounds, args.timeout, ((args.briefs, args.model),))
    else:
        run_demo(args.rounds, args.timeout)


if __name__ == "__main__":
    main()
