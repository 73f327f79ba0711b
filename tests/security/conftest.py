"""Fixtures of the security suite: a private redis-server for the cases that stop it or inject
into it (never the machine's shared Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config import get_settings
from tests.security.servers import RedisServer


@pytest.fixture
def own_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """A redis-server on a free loopback port, password `test`, AOF; stopped after the test.
    It is also the process's REDIS_URL, for worker.celery_app's default app if imported."""
    server = RedisServer(tmp_path / "redis").start()
    monkeypatch.setenv("REDIS_URL", server.url)
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()
