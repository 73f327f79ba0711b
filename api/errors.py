"""HTTP errors: one JSON shape, fixed messages, and the handlers that turn exceptions into them.

Every error response has the body

    {"error": {"code": "job_not_found", "message": "job 1234 not found"}}

where `code` is a stable identifier for programs and `message` a sentence for people; request
validation errors add "details": [{"field": ..., "message": ...}]. The messages below are fixed
templates, tested word for word. A database that is not answering is a 503 with Retry-After,
never a 500; anything unexpected is logged with its traceback and answered with a plain 500.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(StarletteHTTPException):
    """An HTTP error with a stable code; raised by handlers, dependencies and middleware."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code


@dataclass(frozen=True)
class ErrorKind:
    """A kind of error: its status, code and message template (str.format fields)."""

    status: int
    code: str
    template: str
    headers: tuple[tuple[str, str], ...] = ()

    def __call__(self, **fields: Any) -> ApiError:
        return ApiError(self.status, self.code, self.template.format(**fields), dict(self.headers))


BEARER = (("WWW-Authenticate", "Bearer"),)
MISSING_API_KEY = ErrorKind(
    401, "missing_api_key", "missing API key: send the header 'Authorization: Bearer <key>'", BEARER)
INVALID_API_KEY = ErrorKind(
    401, "invalid_api_key", "invalid or revoked API key",
    (("WWW-Authenticate", 'Bearer error="invalid_token"'),))
JOB_NOT_FOUND = ErrorKind(404, "job_not_found", "job {job_id} not found")
ITEM_NOT_FOUND = ErrorKind(404, "item_not_found", "job {job_id} has no item {index}")
IMAGE_NOT_READY = ErrorKind(
    404, "image_not_ready", "item {index} of job {job_id} has no image yet (item status: {status})")
IMAGE_MISSING = ErrorKind(404, "image_missing", "the image of item {index} of job {job_id} is missing")
JOB_FINISHED = ErrorKind(409, "job_finished", "job {job_id} is already {status}; nothing to cancel")
IDEMPOTENCY_IN_PROGRESS = ErrorKind(
    409, "idempotency_key_in_use",
    "another request with Idempotency-Key '{key}' is being processed; retry to get its job")
IDEMPOTENCY_MISMATCH = ErrorKind(
    422, "idempotency_key_reused",
    "Idempotency-Key '{key}' was already used with a different request body (job {job_id})")
UNKNOWN_MODEL = ErrorKind(
    422, "unknown_model", "model '{model}' is not known; GET /v1/models lists the models you can use")
WEBHOOK_URL_REFUSED = ErrorKind(
    422, "webhook_url_refused", "webhook_url {reason}")
WEBHOOK_SECRET_MISSING = ErrorKind(
    422, "webhook_secret_missing",
    "a job with a webhook_url needs your webhook signing secret: POST /v1/webhook-secret first")
MODEL_KIND_UNAVAILABLE = ErrorKind(
    422, "unknown_model", "model '{model}' is of kind '{kind}', which this server does not know")
# A job the model's kind cannot take (too many items, rounds, seeds, an item's field): the code
# and message come from kinds/params.py, which checks a job against its kind, as a 422.
EMPTY_BODY = ErrorKind(400, "empty_body", "the request body is empty; send a JSON object")
NOT_UTF8 = ErrorKind(
    400, "invalid_encoding", "the request body is not valid UTF-8 (byte 0x{byte:02x} at offset {offset})")
MALFORMED_JSON = ErrorKind(400, "invalid_json", "the request body is not valid JSON: {reason}")
NOT_JSON = ErrorKind(
    415, "unsupported_media_type",
    "send the body as JSON with 'Content-Type: application/json' (got '{content_type}')")
BODY_TOO_LARGE = ErrorKind(  # closing stops a client that would go on uploading
    413, "body_too_large", "the request body is larger than the limit of {limit} bytes",
    (("Connection", "close"),))
RATE_LIMITED = ErrorKind(
    429, "rate_limited",
    "more than {limit} {what} in one minute for this tenant; retry in {retry_after} s")
QUOTA_EXCEEDED = ErrorKind(
    429, "quota_exceeded",
    "this job would make {count} unfinished {what} for this tenant; the limit is {limit} "
    "(wait for jobs to finish or cancel some)")
BROKER_UNAVAILABLE = ErrorKind(
    503, "broker_unavailable", "the rate limiter cannot reach Redis; retry in a few seconds")
DATABASE_UNAVAILABLE = ErrorKind(
    503, "database_unavailable", "the database is not answering; retry in a few seconds")
INTERNAL_ERROR = ErrorKind(500, "internal_error", "unexpected server error; it has been logged")

STATUS_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
                405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type"}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   details: list[dict[str, str]] | None = None) -> JSONResponse:
    """The one error body of this API."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def field_name(loc: tuple[Any, ...]) -> str:
    """('body', 'items', 0, 'seed') -> 'items[0].seed'; ('header', 'X') -> 'X (header)'."""
    where, *path = loc or ("body",)
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    if where in ("header", "query", "path", "cookie"):
        return f"{name} ({where})"
    return name


NOT_AN_OBJECT_TYPES = {"model_type", "model_attributes_type", "dict_type"}
NOT_AN_OBJECT = "the request body must be a JSON object"


def validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    """One entry per problem; `field` is "" when it concerns the body as a whole."""
    details = []
    for err in exc.errors():
        field = field_name(tuple(err.get("loc", ())))
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if not field and err.get("type") in NOT_AN_OBJECT_TYPES:
            message = NOT_AN_OBJECT
        details.append({"field": field, "message": message})
    return details


async def on_api_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = getattr(exc, "code", None) or STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = exc.headers
    allowed = allowed_methods(request) if exc.status_code == 405 else None
    if allowed:
        headers = {**(headers or {}), "Allow": allowed}
    return error_response(exc.status_code, code, message, headers)


def allowed_methods(request: Request) -> str | None:
    """The methods the OpenAPI document lists for this path, for a 405's Allow header (which
    must name them all; Starlette names only those of the first route matching the path)."""
    for template, operations in request.app.openapi()["paths"].items():
        parts = re.split(r"\{[^/{}]+\}", template)
        if re.fullmatch("[^/]+".join(map(re.escape, parts)), request.url.path):
            return ", ".join(sorted(method.upper() for method in operations))
    return None


async def on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    json_error = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
    if json_error is not None:  # normally caught earlier by api.body.JsonBodyRoute
        reason = (json_error.get("ctx") or {}).get("error", "malformed")
        kind = MALFORMED_JSON(reason=reason)
        return error_response(kind.status_code, kind.code, kind.detail)
    details = validation_details(exc)
    message = "; ".join(f"{d['field']}: {d['message']}" if d["field"] else d["message"]
                        for d in details[:5])
    return error_response(422, "invalid_request", message, details=details)


async def on_database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                type(exc).__name__)
    retry_after = str(request.app.state.services.settings.retry_after_seconds)
    kind = DATABASE_UNAVAILABLE()
    return error_response(kind.status_code, kind.code, kind.detail, {"Retry-After": retry_after})


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    kind = INTERNAL_ERROR()
    return error_response(kind.status_code, kind.code, kind.detail)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    for db_error in (OperationalError, InterfaceError, PoolTimeoutError):
        app.add_exception_handler(db_error, on_database_down)
    app.add_exception_handler(Exception, on_unexpected)
