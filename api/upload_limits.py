"""Body size limits per path: uploads (datasets) may be larger than the JSON routes allow.

Wraps `api.body.BodySizeLimit` (which refuses a declared or streamed body over its limit with a
413): requests under a path prefix in `path_limits` get that limit, all others `max_bytes`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.body import BodySizeLimit


class PathBodySizeLimit:
    """`BodySizeLimit` with a different limit for some path prefixes."""

    def __init__(self, app: ASGIApp, max_bytes: int, path_limits: dict[str, int]) -> None:
        self.default = BodySizeLimit(app, max_bytes)
        self.special = [(prefix.rstrip("/"), BodySizeLimit(app, limit))
                        for prefix, limit in path_limits.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            for prefix, guard in self.special:
                if path == prefix or path.startswith(prefix + "/"):
                    await guard(scope, receive, send)
                    return
        await self.default(scope, receive, send)
