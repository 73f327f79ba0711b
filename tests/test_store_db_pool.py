"""The store's PostgreSQL pools: a connection is pinged at checkout only after it rested in the
pool (one the server dropped while idle is replaced unseen, one given back a moment ago is not
pinged), and a relaxed session's commits skip the WAL flush with no statement of their own."""

from __future__ import annotations

from sqlalchemy import text

from store import db


def _backend_pid(engine) -> int:  # noqa: ANN001 - an Engine
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_dropped_while_resting_is_replaced_unseen(postgres_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout counts as rested
    engine = db.make_engine(postgres_url, pool_size=1, max_overflow=0)
    first = _backend_pid(engine)
    with db.make_engine(postgres_url).connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    try:
        assert _backend_pid(engine) != first  # no error reached the caller
    finally:
        engine.dispose()


def test_a_connection_given_back_a_moment_ago_is_not_pinged(postgres_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine = db.make_engine(postgres_url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    try:
        assert _backend_pid(engine) == _backend_pid(engine) == _backend_pid(engine)
        assert pings == []
    finally:
        engine.dispose()


def test_a_relaxed_session_commits_without_waiting_for_the_wal_flush_and_sets_nothing_per_transaction(
        postgres_url):
    from sqlalchemy import event

    with db.session_scope(postgres_url) as session:
        assert session.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
    statements: list[str] = []
    with db.session_scope(postgres_url, relaxed=True) as session:
        event.listen(session.get_bind(), "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        db.relax_commit(session)
        assert session.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
    assert not any("synchronous_commit TO OFF" in s for s in statements)
