"""Fixtures for the API tests: the in-process app on a real database and the real Redis.

`api` gives a TestClient for an app whose Settings point at the test database (SQLite and
PostgreSQL, via conftest's `database_url`) and at Redis db 15, with two tenants, "a" and "b",
each holding one API key. Import the fixtures into a test module by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from config import Settings, get_settings
from store.db import session_scope
from store.tenants import create_api_key, get_or_create_tenant


@dataclass
class Api:
    client: TestClient
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)
    tenant_ids: dict[str, str] = field(default_factory=dict)

    def auth(self, tenant: str = "a") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    def submit(self, body: dict[str, Any] | None = None, tenant: str = "a", **headers: str):
        body = body if body is not None else {"prompts": ["a red circle", "三个黄色圆形"]}
        return self.client.post("/v1/jobs", json=body, headers={**self.auth(tenant), **headers})

    def session(self):  # noqa: ANN201 - a context manager yielding a Session
        return session_scope(self.settings.database_url)


def make_tenants(database_url: str, names: tuple[str, ...] = ("a", "b")) -> tuple[dict, dict]:
    keys, ids = {}, {}
    with session_scope(database_url) as session:
        for name in names:
            tenant = get_or_create_tenant(session, name)
            keys[name] = create_api_key(session, tenant)[1]
            ids[name] = tenant.id
    return keys, ids


def api_settings(database_url: str, redis_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, redis_url=redis_url, var_dir=tmp_path / "var",
                    **overrides)


@pytest.fixture
def isolated_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """worker.celery_app builds a default app from the process settings when first imported;
    point those at the test Redis so no embedded server is started on the way."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@contextmanager
def running_api(database_url: str, redis_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Api]:
    """The in-process app on these settings (plus `overrides`), with tenants "a" and "b"."""
    settings = api_settings(database_url, redis_url, tmp_path, **overrides)
    keys, ids = make_tenants(database_url)
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings, keys, ids)


@pytest.fixture
def api(database_url: str, redis_url: str, tmp_path: Path, isolated_env: None) -> Iterator[Api]:
    with running_api(database_url, redis_url, tmp_path) as running:
        yield running


def queued_messages(redis_url: str, queue: str = "generate") -> list[dict[str, Any]]:
    """Every Celery message waiting in `queue` (kombu keeps one list per priority step)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [k for k in client.keys(f"{queue}*") if client.type(k) == b"list"]
        return [json.loads(raw) for key in keys for raw in client.lrange(key, 0, -1)]
    finally:
        client.close()
