"""FastAPI dependencies: the app's services, a database session per request, the caller's tenant.

`Services` holds what the app builds lazily, once per process and on first use: the session
factory (so no engine exists before uvicorn forks or before the first request), the Celery
app used to send tasks by name and the object storage. A request has one session (`request_session`), so the key
lookup, the model lookup, the quota and the insert of a submission share one pooled connection.
Handlers commit their own transactions; the session dependency only closes the session, rolling
back whatever was left uncommitted. The API key is looked up here and nowhere else
(`authenticate`, once per request, whether a JSON route asks first or the dependency does).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api import errors
from api.rate_limiter import RateLimiter
from config import Settings
from objects import Storage, get_storage
from store.db import session_factory
from store.jobs import get_job
from store.models import Job, Tenant
from store.tenants import tenant_for_key

if TYPE_CHECKING:
    from celery import Celery


log = logging.getLogger(__name__)

POOL_RECYCLE_SECONDS = 300  # API connections are replaced once this old (see Services.sessions)


class Services:
    """Per-app, lazily built dependencies."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._celery: Celery | None = None

    @functools.cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on the API's pool. A connection is not tested with a round trip at each
        checkout (pre-ping): one the server dropped fails its request's first statement, which
        is the 503 `database_unavailable` path, and the pool then replaces every connection
        opened before the failure; connections are recycled after POOL_RECYCLE_SECONDS, so an
        idle timeout rarely gets to drop one."""
        return session_factory(self.settings.effective_database_url,
                               pool_size=self.settings.api_db_pool_size,
                               max_overflow=self.settings.api_db_max_overflow,
                               pre_ping=False, recycle_seconds=POOL_RECYCLE_SECONDS)

    def warm_up(self) -> int:
        """Open `api_db_warm_connections` pooled connections now, each with a round trip, and
        keep them in the pool; how many opened. A new PostgreSQL connection costs a backend
        process, which on a busy host took a burst of first requests from ~10 ms to ~100 ms
        (bench/p5_submit.py). A database that is down is logged and left to the requests'
        503 path: the API starts anyway."""
        engine = self.sessions.kw["bind"]
        wanted = min(self.settings.api_db_warm_connections, self.settings.api_db_pool_size)
        opened: list[Connection] = []
        try:
            for _ in range(wanted):
                opened.append(engine.connect())
                opened[-1].execute(text("SELECT 1"))
                opened[-1].rollback()  # SQLite: its BEGIN IMMEDIATE would lock out the next
        except SQLAlchemyError as exc:
            log.warning("database pool warm-up stopped after %d connections: %s",
                        len(opened), exc)
        finally:
            for connection in opened:
                connection.close()  # back to the pool, which keeps up to api_db_pool_size
        return len(opened)

    @property
    def celery(self) -> Celery:
        """The light Celery app, built on first use (one per app, shared by request threads)."""
        with self._lock:
            if self._celery is None:
                self._celery = _bounded_celery_app(self.settings)
            return self._celery

    @functools.cached_property
    def storage(self) -> Storage:
        """The object storage that holds images (objects/), built on first use."""
        return get_storage(self.settings)

    @functools.cached_property
    def rate_limiter(self) -> RateLimiter:
        """The per-tenant submission counter (api.rate_limiter), on the broker's Redis."""
        return RateLimiter.from_settings(self.settings)


def _bounded_celery_app(settings: Settings) -> Celery:
    """The light Celery app for sending only: publishing is bounded so a dead broker cannot
    stall a request, and there is no result backend, because the API never reads task results
    (the store is the record) and Celery's Redis backend subscribes to every sent task's result
    channel, which would grow without bound in a long-lived API process."""
    # Imported here, not at the top: the module builds its default app on import.
    from worker.celery_app import make_app

    app = make_app(settings)
    app.conf.result_backend = None
    app.conf.broker_connection_timeout = settings.broker_timeout_seconds
    # A Redis that accepts connections but never answers (paused, overloaded) must not hang
    # the request either: bound every read and write, not only the connect.
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "socket_timeout": settings.broker_timeout_seconds,
        "socket_connect_timeout": settings.broker_timeout_seconds,
    }
    app.conf.task_publish_retry_policy = {
        "max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2,
    }
    return app


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, a hand-off per request that costs more than the function itself.
async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_settings_dep(services: Annotated[Services, Depends(get_services)]) -> Settings:
    return services.settings


def request_session(request: Request) -> Session:
    """The request's one session, made on first use (which does no I/O)."""
    session = getattr(request.state, "session", None)
    if session is None:
        session = request.state.session = request.app.state.services.sessions()
    return session


async def close_request_session(request: Request) -> None:
    """Close the request's session, if it has one. With a transaction open that may do I/O (a
    rollback, the connection back to the pool), so it runs in the thread pool, shielded from a
    cancelled request so that the connection always goes back; a committed session holds no
    connection and closes here."""
    session = getattr(request.state, "session", None)
    if session is None:
        return
    if session.in_transaction():
        await asyncio.shield(run_in_threadpool(session.close))
    else:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session (`request_session`), closed after the response."""
    session = request_session(request)
    try:
        yield session
    finally:
        await close_request_session(request)


bearer_scheme = HTTPBearer(
    auto_error=False, description="An API key: `python -m api.keys create --tenant NAME`"
)


def authenticate(request: Request) -> Tenant:
    """The tenant of the request's bearer key, looked up once per request (later calls get the
    same answer); 401 when the key is missing, wrong or revoked. Does I/O: call it in a thread.

    The lookup runs on the request's session, whose connection the handler then uses too. On
    SQLite every transaction holds the write lock (BEGIN IMMEDIATE), so there the lookup's
    transaction ends at once rather than span the rate limit's Redis call."""
    known = getattr(request.state, "tenant", None)
    if known is not None:
        return known
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise errors.MISSING_API_KEY()
    session = request_session(request)
    tenant = tenant_for_key(session, credentials.strip())
    if session.get_bind().dialect.name == "sqlite":
        session.commit()
    if tenant is None:
        raise errors.INVALID_API_KEY()
    request.state.tenant = tenant
    return tenant


async def current_tenant(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _session: Annotated[Session, Depends(get_session)],
) -> Tenant:
    """The caller's tenant (`authenticate`); 401 with WWW-Authenticate when the key is missing
    or wrong. The bearer scheme is declared for the OpenAPI document; the session dependency
    closes the request's session after the response."""
    known = getattr(request.state, "tenant", None)
    return known if known is not None else await run_in_threadpool(authenticate, request)


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
TenantDep = Annotated[Tenant, Depends(current_tenant)]


JOB_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def owned_job(job_id: str, tenant: TenantDep, session: SessionDep) -> Job:
    """The job `job_id` of the caller's tenant; 404 for unknown ids and other tenants' jobs alike."""
    job = get_job(session, job_id, tenant.id) if JOB_ID_PATTERN.fullmatch(job_id) else None
    if job is None:
        raise errors.JOB_NOT_FOUND(job_id=job_id[:64])
    return job


JobDep = Annotated[Job, Depends(owned_job)]
