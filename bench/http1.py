"""A minimal HTTP/1.1 client for P5's load: one keep-alive connection, one request at a time.

P5 runs its 50 clients in the same 2 cores as the API, the worker and the database, and times
each submit in the client. With httpx the load generator spent 8.6-8.8 ms of CPU per submit
(50 clients of 10 paced submits each, their set-up included; 0.6-0.7 ms with this client, side
by side in one stack), and the clients share one event loop, so a response waited for other
clients' work before its time was taken: the load generator added to the latency it measured.
This client writes the request bytes and reads the status line, the headers and a
Content-Length body, nothing more. Opening the connection is a step of its own (`open`), so that
the timed part of a request is the request.

Not a general client: no TLS, no redirects, no chunked bodies (an answer without
Content-Length is an error), no pipelining.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


class ProtocolError(Exception):
    """The server's answer is not one this client reads (see the module docstring)."""


@dataclass
class Answer:
    status: int
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One keep-alive connection to `host:port`, sending `headers` with every request."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        fixed = {"Host": f"{host}:{port}", **(headers or {})}
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect, if not connected (a request reconnects by itself when it must)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def post_json(self, path: str, payload: Any) -> Answer:
        """POST `payload` as JSON; the connection is dropped (and reopened by the next request)
        after an answer that closes it, and after any error."""
        body = json.dumps(payload).encode()
        head = (f"POST {path} HTTP/1.1\r\n{self._fixed}Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
        await self.open()
        try:
            self._writer.write(head + body)
            answer, keep_alive = await self._read_answer()
        except BaseException:
            await self.close()
            raise
        if not keep_alive:
            await self.close()
        return answer

    async def _read_answer(self) -> tuple[Answer, bool]:
        line = await self._reader.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {b' '.join(parts)[:100]!r}")
        headers = await self._read_headers()
        if "content-length" not in headers:
            raise ProtocolError("an answer without Content-Length")
        body = await self._reader.readexactly(int(headers["content-length"]))
        return Answer(int(parts[1]), body), headers.get("connection", "").lower() != "close"

    async def _read_headers(self) -> dict[str, str]:
        headers = {}
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
