"""Request body guards: a byte limit that holds for streamed bodies, and strict UTF-8 JSON.

`BodySizeLimit` is a plain ASGI middleware. A declared Content-Length over the limit is refused
before a byte is read; a chunked body without Content-Length is counted as it streams and
refused as soon as it passes the limit, so memory stays flat whatever the client sends.

`JsonBodyRoute` checks a route's JSON body before FastAPI parses it, so that an empty body, bytes
that are not UTF-8, a non-JSON content type or malformed JSON each get a 4xx that says which.
A request without a valid bearer key gets its 401 first, before its body is looked at: a missing
key at once, a wrong or revoked one after the lookup (`api.deps.authenticate`, the API's one
place that looks a key up; the auth dependency then finds the tenant it already found).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.deps import authenticate, close_request_session


class BodyTooLarge(errors.ApiError):
    def __init__(self, limit: int) -> None:
        kind = errors.BODY_TOO_LARGE(limit=limit)
        super().__init__(kind.status_code, kind.code, kind.detail, kind.headers)


class BodySizeLimit:
    """Refuse any HTTP request whose body is over `max_bytes` with a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen, started = 0, False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = errors.BODY_TOO_LARGE(limit=self.max_bytes)
        response = errors.error_response(kind.status_code, kind.code, kind.detail, kind.headers)
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def check_json_body(request: Request) -> None:
    """Raise the matching ApiError unless the body is a non-empty UTF-8 JSON document."""
    body = await request.body()
    if not body.strip():
        raise errors.EMPTY_BODY()
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise errors.NOT_JSON(content_type=content_type[:100])
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.NOT_UTF8(byte=body[exc.start], offset=exc.start) from exc
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise errors.MALFORMED_JSON(reason=reason) from exc
    except RecursionError as exc:
        raise errors.MALFORMED_JSON(reason="nested too deeply") from exc


class JsonBodyRoute(APIRoute):
    """An APIRoute whose JSON body, if it takes one, passes check_json_body first."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked_handler(request: Request) -> Response:
            try:
                await run_in_threadpool(authenticate, request)
                await check_json_body(request)
                return await handler(request)
            finally:  # the handler has committed what it keeps; a refused request, nothing
                await close_request_session(request)

        return checked_handler
