"""API start-up: each server process opens its database pool before it takes requests, and
starts anyway (503s until it is back) when the database is down."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from store.db import dispose_engines
from tests.api_fixtures import api_settings, isolated_env  # noqa: F401 - fixture


def pool_of(app):  # noqa: ANN001, ANN201 - the app's SQLAlchemy pool
    return app.state.services.sessions.kw["bind"].pool


def test_start_up_opens_the_warm_connections_and_keeps_them_pooled(
        database_url: str, redis_url: str, tmp_path: Path, isolated_env: None) -> None:
    app = create_app(api_settings(database_url, redis_url, tmp_path, api_db_warm_connections=3))
    with TestClient(app) as client:
        assert pool_of(app).checkedin() == 3  # opened at start-up, idle in the pool
        assert client.get("/healthz").status_code == 200
        assert pool_of(app).checkedin() == 3  # the request reused one of them


def test_no_more_than_the_pool_keeps_are_opened(
        database_url: str, redis_url: str, tmp_path: Path, isolated_env: None) -> None:
    app = create_app(api_settings(database_url, redis_url, tmp_path, api_db_pool_size=2,
                                  api_db_warm_connections=5))
    assert app.state.services.warm_up() == 2


def test_a_database_down_at_start_up_is_logged_and_the_api_starts(
        redis_url: str, tmp_path: Path, isolated_env: None,
        caplog: pytest.LogCaptureFixture) -> None:
    down = "postgresql+psycopg://postgres@127.0.0.1:1/none"  # nothing listens on port 1
    app = create_app(api_settings(down, redis_url, tmp_path))
    try:
        with caplog.at_level(logging.WARNING, "api.deps"), TestClient(app) as client:
            assert client.get("/healthz").status_code == 503
        assert "pool warm-up stopped after 0 connections" in caplog.text
    finally:
        dispose_engines()
