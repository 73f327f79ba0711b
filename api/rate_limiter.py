"""The per-tenant submission counter: a fixed window per (scope, tenant) in the broker's Redis.

`api.limits` decides what a count over the limit means for a request (429, or 503 when Redis is
away and the limiter fails closed); this module only counts. See `api.limits` for the policy.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import redis

from api import errors
from api.redis_client import REDIS_ERRORS, redis_client
from config import Settings

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
KEY_TEMPLATE = "alpaca:ratelimit:{scope}:{tenant_id}:{window}"


class RateLimiter:
    """A fixed-window counter per (scope, tenant) in Redis; the client is built on first use,
    once: request threads share it. Two clients built by a first-use race closed each other's
    sockets, since a dropped redis-py client closes its connection pool from `__del__`, under a
    request still reading from it (500s "'NoneType' object has no attribute 'readline'" and
    "I/O operation on closed file" in concurrent first submissions)."""

    def __init__(self, url: str, per_window: int, timeout: float, fail_open: bool = True) -> None:
        self.url, self.per_window, self.timeout = url, per_window, timeout
        self.fail_open = fail_open
        self.clock: Callable[[], float] = time.time  # seconds since the epoch; tests pin it
        self._client: redis.Redis | None = None
        self._client_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """The submissions' limiter (`rate_limit_per_minute`); `hit` takes other limits."""
        rates = (settings.rate_limit_per_minute, settings.dataset_uploads_per_minute)
        url = settings.effective_redis_url if max(rates) > 0 else ""
        return cls(url, settings.rate_limit_per_minute, settings.rate_limit_timeout_seconds,
                   settings.rate_limit_fail_open)

    def _redis(self) -> redis.Redis:
        with self._client_lock:
            if self._client is None:
                self._client = redis_client(self.url, self.timeout)
            return self._client

    def hit(self, scope: str, tenant_id: str, limit: int | None = None) -> int | None:
        """Count one request against `limit` a window (default: `per_window`); seconds to wait
        when it is over, else None.

        Raises errors.BROKER_UNAVAILABLE when Redis cannot be reached and the limiter fails closed.
        """
        limit = self.per_window if limit is None else limit
        if limit <= 0:
            return None
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        key = KEY_TEMPLATE.format(scope=scope, tenant_id=tenant_id, window=window)
        try:
            count = self._count(key)
        except REDIS_ERRORS as exc:
            return self._unavailable(scope, tenant_id, exc)
        if count <= limit:
            return None
        return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))

    def _count(self, key: str) -> int:
        pipe = self._redis().pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 2 * WINDOW_SECONDS)
        count, _ = pipe.execute()
        return int(count)

    def _unavailable(self, scope: str, tenant_id: str, exc: Exception) -> None:
        if self.fail_open:
            log.warning("rate limit %s for tenant %s not checked, Redis unavailable (failing open):"
                        " %s", scope, tenant_id, exc)
            return None
        log.warning("rate limit %s for tenant %s: Redis unavailable, refusing (failing closed): %s",
                    scope, tenant_id, exc)
        raise errors.BROKER_UNAVAILABLE()
