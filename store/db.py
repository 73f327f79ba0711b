"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production).

SQLite gets WAL, a busy timeout and `BEGIN IMMEDIATE` for every transaction, so that the API, the
workers and the sweeper can write concurrently without "database is locked" reaching a client.
Engines are built lazily by the process that uses them, never at import time or before a fork.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL: this transaction's commit does not wait for its WAL flush. For writes a database
# crash may lose harmlessly (heartbeats, dispatch marks); executed as the transaction's first.
SYNC_COMMIT_OFF = text("SET LOCAL synchronous_commit TO OFF")


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5, max_overflow: int = 10,
                pre_ping: bool = True, recycle_seconds: int = -1) -> Engine:
    """Create an engine for `url` with the settings this project relies on.

    `pool_size` connections stay open; up to `max_overflow` more are opened when they are all
    in use, and closed again when given back (on PostgreSQL, a backend started each time).
    `pre_ping` tests each connection with a round trip when it is checked out, so one the
    server dropped is replaced unseen; without it, the first statement on such a connection
    fails (and the pool then replaces every connection older than the failure), and
    `recycle_seconds` replaces connections once they are that old, before a server or firewall
    idle timeout can drop them."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo)
    return create_engine(url, echo=echo, pool_pre_ping=pre_ping, pool_recycle=recycle_seconds,
                         pool_size=pool_size, max_overflow=max_overflow)


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    engine = create_engine(
        url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001 - DB-API connection
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_ENGINES: dict[str, Engine] = {}
_FACTORIES: dict[str, sessionmaker[Session]] = {}


def get_engine(url: str, **pool: Any) -> Engine:
    """One engine per URL per process, built on first use (with `pool`: make_engine's pool
    settings, which only the first use decides)."""
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url, **pool)
    return _ENGINES[url]


def session_factory(url: str, **pool: Any) -> sessionmaker[Session]:
    """The process's session factory for `url`, built once (a worker opens several
    transactions per batch)."""
    if url not in _FACTORIES:
        _FACTORIES[url] = sessionmaker(bind=get_engine(url, **pool), expire_on_commit=False)
    return _FACTORIES[url]


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Drop every pooled connection of this process (after a fork, between test databases)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _FACTORIES.clear()
