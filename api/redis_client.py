"""The API's Redis: a client for a broker URL and the errors talking to Redis can raise.

Used by the health check (PING), the rate limiter (its counters) and the submit path (a broker
send that fails). Knows no routes and no FastAPI dependency, so any API module may import it.
"""

from __future__ import annotations

import redis

# What talking to Redis can raise when it is away or busy: redis-py's errors and socket errors.
# (A ValueError "I/O operation on closed file" seen in concurrent submissions was a socket our
# own rate limiter closed under a request, fixed at its cause in api/rate_limiter.py; catching
# it here would have turned any such bug into "Redis unavailable".)
REDIS_ERRORS = (redis.RedisError, OSError)


def redis_client(url: str, timeout: float) -> redis.Redis:
    """A client for a broker URL, including kombu's `redis+socket://` form for Unix sockets."""
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"),
                           socket_timeout=timeout, socket_connect_timeout=timeout)
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
