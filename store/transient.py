"""The errors that mean "a service is away or busy, try again": one tuple for every process.

The worker's tasks retry a run that stops on one of these with backoff, without counting an
attempt; the sweeper skips a pass; the API answers 503. Everything else is not transient: bad
input fails its item or job, and an unexpected error is logged and counts an attempt.

The one module of store/ that names the broker's client libraries besides SQLAlchemy: it is the
place every process (API, worker, sweeper) already imports for the database side of the list.
"""

from __future__ import annotations

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc

# The database is unreachable, dropped the connection, or is busy (connection refused, server
# gone, database is locked): nothing the job did.
TRANSIENT_STORE_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
)
# The broker (Redis, through redis-py or kombu) is unreachable or timed out.
TRANSIENT_BROKER_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
TRANSIENT_ERRORS = TRANSIENT_STORE_ERRORS + TRANSIENT_BROKER_ERRORS

__all__ = ["TRANSIENT_BROKER_ERRORS", "TRANSIENT_ERRORS", "TRANSIENT_STORE_ERRORS"]
