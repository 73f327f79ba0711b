"""Print the bad-input acceptance table (input, status, code, message) as measured.

    .venv/bin/python -m bench.bad_input_table [--database-url URL] [--redis-url URL]

Runs every case of tests/bad_input_cases.py, plus "database down", against the in-process app
(default limits) on a fresh, migrated SQLite database in a temporary directory, or on
--database-url, and prints a markdown table. A row whose status, code or message differs from
the expected one is marked; the exit status is 1 if any row is.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from bench.harness import migrate
from config import Settings
from store.db import session_scope
from store.tenants import create_api_key, get_or_create_tenant
from tests.bad_input_cases import CASES, Runner

DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


def make_keys(url: str) -> dict[str, str]:
    with session_scope(url) as session:
        return {name: create_api_key(session, get_or_create_tenant(session, name))[1]
                for name in ("a", "b")}


def row(name: str, status: int, code: str, message: str, ok: bool) -> str:
    cell = message.replace("|", "\\|")
    mark = "" if ok else " **unexpected**"
    return f"| {name} | {status}{mark} | `{code}` | {cell} |"


def measure(client: TestClient, keys: dict[str, str]) -> tuple[list[str], int]:
    runner, rows, bad = Runner(client, keys), [], 0
    for case in CASES:
        response, expected = runner.run(case)
        error = response.json().get("error", {})
        ok = (response.status_code, error.get("code"), error.get("message")) == (
            case.status, case.code, expected)
        bad += not ok
        rows.append(row(case.name, response.status_code, error.get("code", ""),
                        error.get("message", ""), ok))
    return rows, bad


def measure_database_down(settings: Settings) -> str:
    dead = settings.model_copy(update={"database_url": DEAD_DATABASE})
    with TestClient(create_app(dead)) as client:
        response = client.get("/v1/jobs", headers={"Authorization": "Bearer ak_any-key-at-all"})
    error = response.json()["error"]
    name = f"database down (Retry-After: {response.headers.get('retry-after')})"
    return row(name, response.status_code, error["code"], error["message"],
               response.status_code == 503)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="a migrated database (default: temp SQLite)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args(argv)
    # worker.celery_app builds a default app from the environment when first imported.
    os.environ.setdefault("REDIS_URL", args.redis_url)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/jobs.db"
        if not args.database_url:
            migrate(url)
        settings = Settings(database_url=url, redis_url=args.redis_url, var_dir=Path(tmp) / "var")
        with TestClient(create_app(settings)) as client:
            rows, bad = measure(client, make_keys(url))
        rows.append(measure_database_down(settings))
    print("| input | status | code | message |\n| --- | --- | --- | --- |")
    print("\n".join(rows))
    print(f"\n{len(rows)} cases on {url.split(':')[0]}, {bad} unexpected", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
