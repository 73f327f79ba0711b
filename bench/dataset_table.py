"""Print the malformed-dataset acceptance table (upload, status, code or file verdict, message).

    .venv/bin/python -m bench.dataset_table [--database-url URL]

Uploads every case of tests/dataset_cases.py to the in-process app (default limits) on a fresh,
migrated SQLite database in a temporary directory, or on --database-url, and prints a markdown
table. A row whose status or code differs from the expected one is marked; the exit status is 1
if any row is.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from bench.bad_input_table import make_keys, migrate
from config import Settings
from tests.dataset_cases import CASES, Case


def outcome(case: Case, response) -> tuple[str, str, bool]:  # noqa: ANN001 - an httpx Response
    """(code or file verdict, message, as expected) of one upload."""
    body = response.json()
    if response.status_code != 201:
        error = body.get("error", {})
        return (f"`{error.get('code')}`", error.get("message", ""),
                (response.status_code, error.get("code")) == (case.status, case.code))
    rejected = [f for f in body["files"] if f["status"] == "rejected"]
    verdict = ", ".join(f"{f['file']}: `{f['reason']}`" for f in rejected)
    message = "; ".join(f["message"] or "" for f in rejected)
    expected = [(f["file"], f["reason"]) for f in rejected] == [(case.file, case.file_reason)]
    return (f"accepted {body['accepted_files']}, rejected {verdict}", message,
            case.status == 201 and expected)


def measure(client: TestClient, key: str) -> tuple[list[str], int]:
    rows, bad = [], 0
    for case in CASES:
        response = client.post("/v1/datasets", files={"file": ("d.zip", case.build())},
                               headers={"Authorization": f"Bearer {key}"})
        what, message, ok = outcome(case, response)
        bad += not ok
        mark = "" if ok else " **unexpected**"
        cell = message.replace("|", "\\|")[:160]
        rows.append(f"| {case.name} | {response.status_code}{mark} | {what} | {cell} |")
    return rows, bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url",
                        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'jobs.db'}"
        migrate(url)
        keys = make_keys(url)
        settings = Settings(database_url=url, redis_url=args.redis_url, var_dir=Path(tmp) / "var")
        with TestClient(create_app(settings)) as client:
            rows, bad = measure(client, keys["a"])
    print("| malformed upload | status | code / per-file verdict | message |")
    print("| --- | --- | --- | --- |")
    print("\n".join(rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
