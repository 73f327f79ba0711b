"""Case 21: Schemathesis against the live API's OpenAPI document, with a valid key and without one.

`uvicorn api.main:app` runs on a free loopback port over a real database (SQLite and PostgreSQL)
and a private redis-server; the schemathesis CLI runs every phase (examples, coverage, fuzzing,
stateful) with every check but one, bounded to 20 examples per operation and a fixed seed:

    schemathesis run http://127.0.0.1:PORT/openapi.json [-H "Authorization: Bearer KEY"] \\
        --checks all --exclude-checks positive_data_acceptance --max-examples 20 --seed 1 \\
        --workers 1 --generation-database none --report json,har

`positive_data_acceptance` (a schema-valid request must get a 2xx) is left out on purpose: the
API validates what a schema cannot say -- that a model name or dataset id exists for this tenant
(422 unknown_model, 404), limits read from settings (items, rounds, steps), dataset archives
checked member by member -- and answers those with a 4xx that names the problem.

Asserted: no failed check (so no 5xx, responses and headers match the schema, schema-invalid
input gets a 4xx, auth is not ignored), no 5xx among the recorded responses, and without a key
every /v1 answer is a 401 (or a 405 naming the allowed methods). The figures (test cases,
requests, responses by status) are logged; run with `-o log_cli=true --log-cli-level=INFO`.
"""

from __future__ import annotations

import collections
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_fixtures import make_tenants
from tests.security.servers import RedisServer, Uvicorn

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = 20


@pytest.fixture
def live_api(database_url: str, own_redis: RedisServer,
             tmp_path: Path) -> Iterator[tuple[Uvicorn, str]]:
    keys, _ = make_tenants(database_url)
    env = {"DATABASE_URL": database_url, "REDIS_URL": own_redis.url,
           "VAR_DIR": str(tmp_path / "var")}
    with Uvicorn(env, tmp_path / "uvicorn.log") as server:
        yield server, keys["a"]


def run_schemathesis(url: str, key: str | None, out: Path) -> tuple[dict, list[dict], str]:
    """Run the CLI; (JSON report, HAR entries, console output)."""
    argv = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", "all",
            "--exclude-checks", "positive_data_acceptance", "--max-examples", str(MAX_EXAMPLES),
            "--seed", "1", "--workers", "1", "--generation-database", "none", "--no-color",
            "--request-timeout", "30", "--report", "json,har",
            "--report-json-path", str(out / "report.json"),
            "--report-har-path", str(out / "run.har")]
    if key is not None:
        argv += ["-H", f"Authorization: Bearer {key}"]
    done = subprocess.run(argv, cwd=out, capture_output=True, text=True, timeout=300,
                          start_new_session=True)
    report = json.loads((out / "report.json").read_text())
    entries = json.loads((out / "run.har").read_text())["log"]["entries"]
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return report, entries, done.stdout


def figures(report: dict, entries: list[dict], label: str) -> collections.Counter:
    statuses = collections.Counter(e["response"]["status"] for e in entries)
    log.info("schemathesis %s: %d test cases (%d with failures, %d errored), %d requests, "
             "%d 5xx; responses by status %s", label, report["test_cases"]["generated"],
             report["test_cases"]["with_failures"], report["test_cases"]["errored"],
             len(entries), sum(n for s, n in statuses.items() if s >= 500),
             dict(sorted(statuses.items())))
    return statuses


def assert_clean(report: dict, statuses: collections.Counter) -> None:
    assert report["failures"] == [] and report["errors"] == []
    assert report["test_cases"]["with_failures"] == report["test_cases"]["errored"] == 0
    assert all(phase["status"] != "failure" for phase in report["phases"].values())
    assert report["operations"]["tested"] == report["operations"]["selected"] >= 15
    assert not [s for s in statuses if s >= 500]


def test_schemathesis_with_a_valid_key_finds_no_5xx_and_no_schema_violation(
    live_api: tuple[Uvicorn, str], tmp_path: Path,
) -> None:
    server, key = live_api
    report, entries, _ = run_schemathesis(server.url, key, tmp_path)
    statuses = figures(report, entries, "with a key")
    assert_clean(report, statuses)
    assert report["test_cases"]["generated"] >= 500
    assert statuses[202] > 0 and statuses[200] > 0 and statuses[422] > 0  # reached the handlers


def test_schemathesis_without_a_key_gets_only_401s_on_v1(
    live_api: tuple[Uvicorn, str], tmp_path: Path,
) -> None:
    server, _ = live_api
    report, entries, _ = run_schemathesis(server.url, None, tmp_path)
    statuses = figures(report, entries, "without a key")
    assert_clean(report, statuses)
    v1 = collections.Counter(e["response"]["status"] for e in entries
                             if e["request"]["url"].startswith(f"{server.url}/v1/"))
    assert set(v1) <= {401, 405} and v1[401] >= 500
