"""`make demo`: the whole path a job travels, on the embedded defaults, in one command.

Starts the stack (embedded Redis, SQLite, API, one worker, the sweeper, Flower), submits a batch of
16 briefs in English and Chinese over HTTP, polls with a progress bar, writes out/<job_id>/ (one
PNG per item, sheet.png, results.json), prints the URLs, and stops what it started.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from config import Settings
from config.embedded import socket_path, stop_embedded_redis
from scripts.services import ROOT, Stack

BRIEFS = [
    "a large red star left of a small blue circle on a white background",
    "three yellow circles",
    "a green triangle above a purple square",
    "a pink heart in the top left",
    "an orange outline diamond",
    "two blue striped squares",
    "a small black cross right of a large yellow hexagon",
    "a red circle and a green star",
    "白色背景上，一个大的红色星星在一个小的蓝色圆形左边",
    "三个黄色圆形",
    "一个绿色三角形在一个紫色正方形上面",
    "左上角有一个粉色心形",
    "一个橙色空心菱形",
    "两个蓝色条纹正方形",
    "一个红色圆形和一个绿色星星",
    "一个棕色星星",
]
TERMINAL = {"succeeded", "failed", "canceled", "partial"}


def create_api_key(stack: Stack, tenant: str) -> str:
    """A fresh key for the demo tenant, made with the same command an operator uses."""
    done = subprocess.run([sys.executable, "-m", "api.keys", "create", "--tenant", tenant],
                          cwd=ROOT, env=stack.env(), check=True, capture_output=True, text=True)
    return done.stdout.split()[-1]


def submit(client: httpx.Client, briefs: list[str], rounds: int) -> dict:
    body = {"items": [{"prompt": p, "seed": i} for i, p in enumerate(briefs)], "rounds": rounds}
    response = client.post("/v1/jobs", json=body)
    response.raise_for_status()
    return response.json()


def poll(client: httpx.Client, job_id: str, timeout: float) -> dict:
    """Poll the job until it is terminal, drawing a progress bar on stderr."""
    deadline, last_line = time.monotonic() + timeout, ""
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        last_line = draw_progress(job, last_line)
        if job["status"] in TERMINAL:
            sys.stderr.write("\n")
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['status']} after {timeout:.0f}s")
        time.sleep(0.5)


def draw_progress(job: dict, last_line: str, width: int = 32) -> str:
    """Redraw the bar on stderr when it changed; returns the line drawn."""
    progress = job["progress"]
    done, total = progress["done"] + progress["failed"], max(1, progress["total"])
    filled = int(width * done / total)
    line = (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} items, "
            f"round {progress['current_round']}, {job['status']:<9}")
    if line != last_line:
        sys.stderr.write("\r" + line)
        sys.stderr.flush()
    return line


def download(client: httpx.Client, job: dict, out_dir: Path) -> list[dict]:
    """One PNG per item, the contact sheet and results.json into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    items = client.get(f"/v1/jobs/{job['id']}/items", params={"limit": 1000}).json()["items"]
    for item in items:
        if item.get("image_url"):
            png = client.get(item["image_url"])
            png.raise_for_status()
            (out_dir / f"{item['index']:03d}.png").write_bytes(png.content)
    sheet = client.get(f"/v1/jobs/{job['id']}/sheet.png")
    sheet.raise_for_status()
    (out_dir / "sheet.png").write_bytes(sheet.content)
    (out_dir / "results.json").write_text(
        json.dumps({"job": job, "items": items}, indent=2, ensure_ascii=False))
    return items


def run_demo(rounds: int, timeout: float) -> Path:
    started = time.monotonic()
    settings = Settings()
    redis_was_running = settings.redis_url or socket_path(settings.var_dir).exists()
    stack = Stack(settings)
    try:
        stack.migrate()
        stack.start()
        key = create_api_key(stack, "demo")
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=stack.api_url, headers=headers, timeout=30) as client:
            job = submit(client, BRIEFS, rounds)
            print(f"submitted job {job['id']} with {len(BRIEFS)} briefs")
            job = poll(client, job["id"], timeout)
            out_dir = ROOT / "out" / job["id"]
            items = download(client, job, out_dir)
        print_summary(stack, job, items, out_dir)
        print(f"demo wall time {time.monotonic() - started:.1f} s")
        return out_dir
    finally:
        stack.stop()
        if not redis_was_running:
            stop_embedded_redis(settings.var_dir)


def print_summary(stack: Stack, job: dict, items: list[dict], out_dir: Path) -> None:
    ok = sum(item["status"] == "succeeded" for item in items)
    print(f"job {job['id']}: {job['status']}, {ok}/{len(items)} items succeeded")
    for item in items[:4]:
        texts = item.get("control_texts") or [""]
        print(f"  #{item['index']:>2} {item['prompt']!r} -> {texts[-1]!r}")
    print(f"wrote {out_dir} ({ok} PNGs, sheet.png, results.json)")
    print(f"API   {stack.api_url}/v1   docs {stack.api_url}/docs")
    print(f"Flower {stack.flower_url} (user {stack.settings.flower_user}, password in "
          f"var/flower_password)" if not stack.settings.flower_password else
          f"Flower {stack.flower_url}")
    print("(the demo stops what it started; `make up` keeps the stack running)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interactor rounds per item")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the job")
    args = parser.parse_args()
    run_demo(args.rounds, args.timeout)


if __name__ == "__main__":
    main()
