"""The API's operations as plain request descriptions, shared by the sync and async clients.

Each function checks its arguments (a clear ValueError, before anything is sent) and returns a
`Call`; the clients only send calls and read answers. Job ids are quoted into the path, so an id
can never reach another route.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

TERMINAL = frozenset({"succeeded", "failed", "canceled", "partial"})
PAGE = 100  # items per page when listing a job's items


@dataclass(frozen=True)
class Call:
    """One HTTP request to the API, relative to its base URL."""

    method: str
    path: str
    json: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def job_path(job_id: str) -> str:
    if not isinstance(job_id, str) or not job_id.strip():
        raise ValueError(f"job id must be a non-empty string, got {job_id!r}")
    return f"/v1/jobs/{quote(job_id.strip(), safe='')}"


def submit(prompts: Sequence[str], *, model: str = "default", rounds: int | None = None,
           seed: int | None = None, idempotency_key: str | None = None) -> Call:
    """POST /v1/jobs with a fresh Idempotency-Key (or the one given), kept across retries."""
    prompts = [p for p in prompts]
    if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise ValueError("prompts must be a non-empty list of non-blank strings")
    body: dict[str, Any] = {"prompts": prompts, "model": model}
    if rounds is not None:
        body["rounds"] = rounds
    if seed is not None:
        body["seed"] = seed
    key = idempotency_key or f"alpaca-client-{uuid.uuid4()}"
    return Call("POST", "/v1/jobs", json=body, headers={"Idempotency-Key": key})


def status(job_id: str) -> Call:
    return Call("GET", job_path(job_id))


def cancel(job_id: str) -> Call:
    return Call("POST", f"{job_path(job_id)}/cancel")


def models() -> Call:
    return Call("GET", "/v1/models")


def items_page(job_id: str, offset: int) -> Call:
    return Call("GET", f"{job_path(job_id)}/items", params={"limit": PAGE, "offset": offset})


def image(url: str) -> Call:
    """GET an item's `image_url`, by its path against the client's own base URL: the key is never
    sent to another host, and an API behind a proxy that names its inner host still works."""
    return Call("GET", httpx.URL(url).raw_path.decode("ascii"))


def sheet(job_id: str) -> Call:
    return Call("GET", f"{job_path(job_id)}/sheet.png")


def next_offset(page: dict[str, Any]) -> int | None:
    """The offset of the page after `page` (an ItemsPublic body), or None after the last."""
    offset = page["offset"] + len(page["items"])
    return offset if page["items"] and offset < page["total"] else None


def is_terminal(job: dict[str, Any]) -> bool:
    return job.get("status") in TERMINAL


def deadline(timeout_s: float | None) -> float | None:
    """The monotonic time after which `wait` gives up (None: never)."""
    return None if timeout_s is None else time.monotonic() + timeout_s


def check_deadline(at: float | None, job: dict[str, Any]) -> None:
    if at is not None and time.monotonic() > at:
        raise TimeoutError(f"job {job.get('id')} is still {job.get('status')} after the timeout")
