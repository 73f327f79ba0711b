"""When to retry a request and how long to wait first: the policy both clients share.

Retried: 429 and 503 (after their Retry-After, in seconds or as an HTTP date), a 409
`idempotency_key_in_use` (the first of two identical submissions is still running) and connection
errors (with exponential backoff). A Retry-After longer than `max_wait_s`, or more than
`max_retries` retries, ends the attempts: the caller then sees the last answer or error.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass

import httpx

from client.errors import error_code

RETRY_STATUSES = frozenset({429, 503})
RETRY_CODES = frozenset({"idempotency_key_in_use"})


def retry_after_seconds(response: httpx.Response, now: dt.datetime | None = None) -> float | None:
    """The Retry-After header in seconds (never negative), or None if absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def is_retryable(response: httpx.Response) -> bool:
    if response.status_code in RETRY_STATUSES:
        return True
    return response.status_code == 409 and error_code(response) in RETRY_CODES


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most `max_retries`, never waiting longer than `max_wait_s` at once."""

    max_retries: int = 5
    max_wait_s: float = 60.0
    backoff_s: float = 0.5  # first wait when the server gives no Retry-After; doubles each time

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retrying after try number `attempt` (0-based) ended with
        `response` (None: a connection error), or None to stop."""
        if attempt >= self.max_retries:
            return None
        if response is not None and not is_retryable(response):
            return None
        hinted = retry_after_seconds(response) if response is not None else None
        wait = hinted if hinted is not None else min(self.backoff_s * 2 ** attempt, self.max_wait_s)
        return wait if wait <= self.max_wait_s else None
