"""The Python client and `alpaca` command line for the alpaca-jobs HTTP API.

`Client` (sync) and `AsyncClient` (asyncio) submit jobs, follow them, cancel them and download
their files. Both retry 429 and 503 after the server's Retry-After (bounded) and send an
Idempotency-Key on every submission, so a retried submit never makes two jobs. This package talks
HTTP only: it imports nothing of the server's packages.
"""

from client.aio import AsyncClient
from client.config import ClientConfig
from client.errors import ApiError
from client.sync import Client

__all__ = ["ApiError", "AsyncClient", "Client", "ClientConfig"]
