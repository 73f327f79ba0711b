"""Fixtures of the chaos cases: private servers (never the shared 6379/5432) and a cluster on them.

- `own_redis`: a redis-server with AOF on a free port, stopped and removed after the test;
- `own_postgres`: a private PostgreSQL cluster (initdb + pg_ctl), stopped and removed after;
- `own_pg_url`: a fresh, migrated database on `own_postgres`;
- `cluster` / `pg_cluster` / `any_cluster`: a `Cluster` on SQLite / on `own_pg_url` / on each
  in turn, with `own_redis`; every process it started is ended (its process group) when the
  test ends, before the servers stop.

Every test module in this folder is marked `chaos` (still run by `make test`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config import get_settings
from store.db import dispose_engines
from tests.chaos.harness import Cluster
from tests.chaos.servers import PostgresServer, RedisServer
from tests.conftest import migrate


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.close()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    dispose_engines()
    server.close()


@pytest.fixture
def own_pg_url(own_postgres: PostgresServer) -> str:
    url = own_postgres.create_database()
    migrate(url)
    return url


def _cluster(url: str, redis: RedisServer, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    monkeypatch.setenv("REDIS_URL", redis.url)  # worker.celery_app's default app, if imported
    get_settings.cache_clear()
    cluster = Cluster(url, redis, tmp_path)
    yield cluster
    cluster.close()
    dispose_engines()
    get_settings.cache_clear()


@pytest.fixture
def cluster(sqlite_url: str, own_redis: RedisServer, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    yield from _cluster(sqlite_url, own_redis, tmp_path, monkeypatch)


@pytest.fixture
def pg_cluster(own_pg_url: str, own_redis: RedisServer, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    yield from _cluster(own_pg_url, own_redis, tmp_path, monkeypatch)


@pytest.fixture(params=["sqlite_url", "own_pg_url"], ids=["sqlite", "postgres"])
def any_cluster(request: pytest.FixtureRequest, own_redis: RedisServer, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    """A `Cluster` on SQLite, then on PostgreSQL: for the cases where the database's locking
    decides the outcome (a compare-and-set race)."""
    url = request.getfixturevalue(request.param)
    yield from _cluster(url, own_redis, tmp_path, monkeypatch)
