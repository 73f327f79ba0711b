"""The request path of `POST /v1/jobs`, measured: which files and functions of the repository run.

One submission of 8 briefs through the in-process app (a fresh SQLite file, Redis db 13), then
its delivery through the real task body `worker.tasks.run_generate_job` (eagerly, in this
process) with the shipped default model. Every function of the repository that runs is
recorded with `sys.setprofile` and `threading.setprofile`; the counts are of the SECOND
submission and delivery (the steady state: the first also runs lazy set-up). Comprehensions,
generator expressions and lambdas are not counted; nested named functions are.

    .venv/bin/python -m bench.request_path [--list]

Prints the functions per side (API: api/, kinds/, store/, config/ during the request; worker:
worker/, kinds/, store/, config/ during the delivery; the model's own files apart) and totals.
docs/architecture.md keeps the figures before and after issue 12.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ("api", "kinds", "store", "config", "worker")
MODELS = ("alpaca", "alpaca_ads")
SKIPPED = {"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>", "<lambda>", "<module>"}
BRIEFS = ["two red circles on a white background", "一个蓝色的方形在左边",
          "a small yellow star above a green triangle", "三个紫色的三角形",
          "a large orange heart in the centre", "一个黑色的圆形和一个白色的方形",
          "four pink diamonds in a row", "一个红色的心形在右上角"]


class Recorder:
    """Counts calls of functions defined in the repository's packages."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.on = False

    def profile(self, frame, event, _arg):  # noqa: ANN001 - the sys.setprofile signature
        if not self.on or event != "call":
            return
        code = frame.f_code
        try:
            rel = Path(code.co_filename).resolve().relative_to(ROOT)
        except ValueError:
            return
        if rel.parts[0] in BACKEND + MODELS and code.co_name not in SKIPPED:
            self.calls[(str(rel), code.co_qualname)] += 1

    def __enter__(self) -> Recorder:
        self.calls.clear()
        self.on = True
        sys.setprofile(self.profile)
        threading.setprofile(self.profile)
        return self

    def __exit__(self, *exc: object) -> None:
        self.on = False
        sys.setprofile(None)
        threading.setprofile(None)


def _environment(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'path.db'}"
    os.environ.update(DATABASE_URL=url, REDIS_URL="redis://127.0.0.1:6379/13",
                      VAR_DIR=str(workdir / "var"), CELERY_TASK_ALWAYS_EAGER="0")
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head")


def _submit_and_deliver(app, key: str, recorder: Recorder) -> tuple[Counter, Counter]:
    """One submission and its delivery. The app's lifespan is already running; a client not
    entered as a context runs each request on a new thread, which the recorder then sees."""
    from fastapi.testclient import TestClient

    from worker import tasks

    body = {"prompts": BRIEFS, "seed": 7, "rounds": 2}
    with recorder:
        answer = TestClient(app).post("/v1/jobs", json=body,
                                      headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 202, answer.text
    api_calls = Counter(recorder.calls)
    with recorder:
        tasks.run_generate_job.apply(args=[answer.json()["id"]])
    return api_calls, Counter(recorder.calls)


def _summary(title: str, calls: Counter, show: bool) -> None:
    backend = {k: n for k, n in calls.items() if k[0].split("/")[0] in BACKEND}
    model = {k: n for k, n in calls.items() if k[0].split("/")[0] in MODELS}
    for label, group in (("backend", backend), ("model", model)):
        files = sorted({f for f, _ in group})
        print(f"{title} {label}: {len(group)} functions in {len(files)} files")
        for path in files if show else []:
            names = ", ".join(f"{q}" + (f" x{group[(p, q)]}" if group[(p, q)] > 1 else "")
                              for p, q in sorted(group) if p == path)
            print(f"  {path}: {names}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every file and function")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="request-path-"))
    _environment(workdir)
    import redis
    from fastapi.testclient import TestClient

    from api.main import create_app
    from config import get_settings
    from store.db import session_scope
    from store.tenants import create_api_key, get_or_create_tenant

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    get_settings.cache_clear()
    with session_scope(os.environ["DATABASE_URL"]) as session:
        key = create_api_key(session, get_or_create_tenant(session, "path"))[1]
    recorder = Recorder()
    app = create_app(get_settings())
    with TestClient(app):  # runs the lifespan around both submissions
        _submit_and_deliver(app, key, recorder)  # the first: lazy set-up
        api_calls, worker_calls = _submit_and_deliver(app, key, recorder)
    _summary("API side", api_calls, args.list)
    _summary("worker side", worker_calls, args.list)
    both = {k for k in api_calls if k[0].split("/")[0] in BACKEND}
    both |= {k for k in worker_calls if k[0].split("/")[0] in BACKEND}
    print(f"both sides (backend): {len(both)} functions in {len({f for f, _ in both})} files")


if __name__ == "__main__":
    main()
