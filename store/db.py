"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production).

SQLite gets WAL, a busy timeout and `BEGIN IMMEDIATE` for every transaction, so that the API, the
workers and the sweeper can write concurrently without "database is locked" reaching a client.
Engines are built lazily by the process that uses them, never at import time or before a fork.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_SECONDS = 1.0  # a pooled connection resting this long is pinged at checkout
# PostgreSQL: this transaction's commit does not wait for its WAL flush. For writes a database
# crash may lose harmlessly (heartbeats, dispatch marks); executed as the transaction's first.
SYNC_COMMIT_OFF = text("SET LOCAL synchronous_commit TO OFF")
RELAXED_COMMIT = "relaxed_commit"  # Session.info key: its connections run synchronous_commit off


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5, max_overflow: int = 10,
                pre_ping: bool = True, recycle_seconds: int = -1,
                relaxed_commit: bool = False) -> Engine:
    """Create an engine for `url` with the settings this project relies on.

    `pool_size` connections stay open; up to `max_overflow` more are opened when they are all
    in use, and closed again when given back (on PostgreSQL, a backend started each time).
    `pre_ping` tests a connection with a round trip when it is checked out after resting in the
    pool for PING_AFTER_IDLE_SECONDS or more (`_ping_after_idle`), so one the server dropped
    meanwhile is replaced unseen; without it, the first statement on such a connection fails
    (and the pool then replaces every connection older than the failure), and
    `recycle_seconds` replaces connections once they are that old, before a server or firewall
    idle timeout can drop them. `relaxed_commit` (PostgreSQL): every connection runs with
    synchronous_commit off, so no commit waits for its WAL flush (`session_scope(relaxed=True)`)."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo)
    connect_args = {"options": "-c synchronous_commit=off"} if relaxed_commit else {}
    engine = create_engine(url, echo=echo, pool_recycle=recycle_seconds, pool_size=pool_size,
                           max_overflow=max_overflow, connect_args=connect_args)
    if pre_ping:
        _ping_after_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Pre-ping (SQLAlchemy's pessimistic disconnect handling) only for a connection that rested
    in the pool `idle_seconds` or more: one given back a moment ago just worked. A worker opens
    several transactions per batch, and SQLAlchemy's ping at every checkout cost each of them
    more CPU (~350 us on two busy cores) than the statements it guarded. A connection the
    server drops within that moment fails its next statement, which callers already handle
    as a transient error (the worker hands its run back)."""

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(_dbapi_connection, record):  # noqa: ANN001 - pool event arguments
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):  # noqa: ANN001 - pool event arguments
        rested = time.monotonic() - record.info.get("checked_in_at", time.monotonic())
        if rested < idle_seconds:
            return  # just opened, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"connection dropped while idle: {exc}") from exc


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


def relaxed_session_factory(url: str) -> sessionmaker[Session]:
    """Sessions whose commits do not wait for their WAL flush: on PostgreSQL, on a pool of their
    own whose connections run with synchronous_commit off (`relax_commit` then has nothing to
    do); elsewhere, the ordinary sessions."""
    if url.startswith("sqlite"):
        return session_factory(url)
    key = f"{url}#{RELAXED_COMMIT}"
    if key not in _FACTORIES:
        _ENGINES[key] = make_engine(url, relaxed_commit=True)
        _FACTORIES[key] = sessionmaker(bind=_ENGINES[key], expire_on_commit=False,
                                       info={RELAXED_COMMIT: True})
    return _FACTORIES[key]


def relax_commit(session: Session) -> None:
    """This transaction's commit need not wait for its WAL flush (PostgreSQL: SET LOCAL, as the
    transaction's first statement, unless the session's connections already run so); for writes
    a database crash may lose harmlessly."""
    if not session.info.get(RELAXED_COMMIT) and session.get_bind().dialect.name == "postgresql":
        session.execute(SYNC_COMMIT_OFF)


@contextmanager
def session_scope(url: str, *, relaxed: bool = False) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error; `relaxed`: one
    whose commit does not wait for the WAL flush (`relaxed_session_factory`), for writes a
    database crash may lose harmlessly (a worker's heartbeats, every round of every batch)."""
    session = (relaxed_session_factory(url) if relaxed else session_factory(url))()
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
