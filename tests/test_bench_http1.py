"""bench/http1.py, P5's lean client: requests on one keep-alive connection, a reconnect after an
answer that closes it, and a clear error for what it does not read."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench import http1

KEEP = b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
CLOSE = b"HTTP/1.1 429 Too Many\r\nConnection: close\r\nContent-Length: 2\r\n\r\n"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"


async def serve(answers: list[bytes], seen: list[tuple[int, dict]]) -> asyncio.Server:
    """Answer each request with the next of `answers`; note (connection number, JSON body)."""
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        number = connections
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            seen.append((number, json.loads(await reader.readexactly(length))))
            answer = answers.pop(0)
            writer.write(answer + (b'{"id": "j"}' if answer is KEEP else b"{}"))
            await writer.drain()
            if answer is not KEEP:
                break
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_requests_share_a_connection_until_the_server_closes_it() -> None:
    async def scenario() -> list:
        seen: list = []
        server = await serve([KEEP, KEEP, CLOSE, KEEP], seen)
        port = server.sockets[0].getsockname()[1]
        connection = http1.Connection("127.0.0.1", port, {"Authorization": "Bearer k"})
        answers = [await connection.post_json("/v1/jobs", {"n": n}) for n in range(4)]
        await connection.close()
        server.close()
        return [(a.status, a.text()) for a in answers], seen

    answers, seen = asyncio.run(scenario())
    accepted = (202, '{"id": "j"}')
    assert answers == [accepted, accepted, (429, "{}"), accepted]
    assert seen == [(1, {"n": 0}), (1, {"n": 1}), (1, {"n": 2}), (2, {"n": 3})]


def test_an_answer_without_content_length_is_an_error_and_drops_the_connection() -> None:
    async def scenario() -> None:
        server = await serve([CHUNKED], [])
        connection = http1.Connection("127.0.0.1", server.sockets[0].getsockname()[1])
        try:
            with pytest.raises(http1.ProtocolError, match="Content-Length"):
                await connection.post_json("/v1/jobs", {})
            assert connection._writer is None
        finally:
            server.close()

    asyncio.run(scenario())
