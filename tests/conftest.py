"""Shared fixtures: real Redis and real databases (SQLite and PostgreSQL) over real connections.

- `redis_url`: the machine's Redis (REDIS_TEST_URL, default redis://127.0.0.1:6379/15), flushed
  before each test that uses it.
- `database_url`: parametrized over a fresh SQLite file and a fresh PostgreSQL database
  (POSTGRES_TEST_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test); both are
  migrated with Alembic, so every test also exercises the migrations.
- `sqlite_url`: SQLite only, for tests where one database is enough.
- `s3_server`, `s3_prefix`: a real S3 server (SeaweedFS, started on first use, once per session)
  and a bucket prefix of the test's own (tests/s3_fixtures.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from store.db import dispose_engines
from tests.s3_fixtures import s3_prefix, s3_server  # noqa: F401 (one S3 server per session)

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_TEST_URL = os.environ.get(
    "POSTGRES_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def migrate(url: str, revision: str = "head") -> None:
    """Run `alembic upgrade` against `url` in-process."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.downgrade(cfg, revision)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    migrate(url)
    yield url
    dispose_engines()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped after the test."""
    admin_url = make_url(POSTGRES_TEST_URL)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    migrate(url)
    yield url
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    client.close()
    return REDIS_TEST_URL
