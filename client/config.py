"""Where the API is and how to authenticate: ALPACA_API_URL and ALPACA_API_KEY, or arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class ClientConfig:
    """Connection settings shared by the sync and async clients."""

    base_url: str = DEFAULT_URL  # the API's root, without /v1
    api_key: str = ""  # sent as `Authorization: Bearer <key>`
    timeout_s: float = 30.0  # per HTTP request
    max_retries: int = 5  # retries of one request after 429, 503 or a connection error
    max_wait_s: float = 60.0  # a Retry-After longer than this is not waited for

    @classmethod
    def from_env(cls, base_url: str | None = None, api_key: str | None = None) -> ClientConfig:
        """Arguments first, then ALPACA_API_URL / ALPACA_API_KEY, then the defaults."""
        url = base_url or os.environ.get("ALPACA_API_URL") or DEFAULT_URL
        key = api_key if api_key is not None else os.environ.get("ALPACA_API_KEY", "")
        return cls(base_url=url.rstrip("/"), api_key=key)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
