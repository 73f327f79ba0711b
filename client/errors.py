"""The one exception the client raises for an API error answer, with the API's code and message."""

from __future__ import annotations

import httpx


class ApiError(Exception):
    """A non-2xx answer: HTTP status, the API's error code and its message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """Reads the API's `{"error": {"code", "message"}}` body; any other body is quoted."""
        code, message = "http_error", response.text[:200] or response.reason_phrase
        try:
            error = response.json().get("error") or {}
            code, message = error.get("code") or code, error.get("message") or message
        except (ValueError, AttributeError):
            pass
        return cls(response.status_code, code, message)


def error_code(response: httpx.Response) -> str | None:
    """The API's error code in `response`, if it has one."""
    try:
        return (response.json().get("error") or {}).get("code")
    except (ValueError, AttributeError):
        return None


def checked(response: httpx.Response | None, error: httpx.TransportError | None) -> httpx.Response:
    """The last attempt's outcome: the response if it is a success, else an ApiError
    (status 0, code `connection_error`, when the API could not be reached at all)."""
    if response is None:
        raise ApiError(0, "connection_error", f"{type(error).__name__}: {error}") from error
    if response.is_success:
        return response
    raise ApiError.from_response(response)
