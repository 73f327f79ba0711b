"""`Client`: the blocking client (httpx.Client underneath); `AsyncClient` mirrors it for asyncio."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from client import calls
from client.calls import Call
from client.config import ClientConfig
from client.errors import checked
from client.files import image_name, write_job_files
from client.retry import RetryPolicy

ProgressCallback = Callable[[dict[str, Any]], None]


class Client:
    """The API over HTTP. `http` may be any httpx.Client (tests pass a TestClient); `sleep` is
    what waits between retries and polls."""

    def __init__(self, config: ClientConfig | None = None, *, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config or ClientConfig.from_env()
        self.retry = RetryPolicy(self.config.max_retries, self.config.max_wait_s)
        self._owns_http = http is None
        self._http = http or httpx.Client(base_url=self.config.base_url,
                                          timeout=self.config.timeout_s)
        self._sleep = sleep

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def send(self, call: Call) -> httpx.Response:
        """Sends `call`, retrying as RetryPolicy says; raises ApiError when it does not succeed."""
        for attempt in itertools.count():
            response, error = self._attempt(call)
            wait = self.retry.delay(attempt, response)
            if wait is None:
                return checked(response, error)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _attempt(self, call: Call) -> tuple[httpx.Response | None, httpx.TransportError | None]:
        try:
            response = self._http.request(call.method, call.path, json=call.json,
                                          params=call.params or None,
                                          headers={**self.config.headers(), **call.headers})
            return response, None
        except httpx.TransportError as error:
            return None, error

    def submit(self, prompts: Sequence[str], *, model: str = "default", rounds: int | None = None,
               seed: int | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
        """Submits a job; one Idempotency-Key for all retries, so at most one job is made."""
        call = calls.submit(prompts, model=model, rounds=rounds, seed=seed,
                            idempotency_key=idempotency_key)
        return self.send(call).json()

    def status(self, job_id: str) -> dict[str, Any]:
        return self.send(calls.status(job_id)).json()

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.send(calls.cancel(job_id)).json()

    def models(self) -> list[dict[str, Any]]:
        return self.send(calls.models()).json()["models"]

    def items(self, job_id: str) -> list[dict[str, Any]]:
        """Every item of the job, in index order, page by page."""
        items: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            page = self.send(calls.items_page(job_id, offset)).json()
            items.extend(page["items"])
            offset = calls.next_offset(page)
        return items

    def wait(self, job_id: str, *, on_progress: ProgressCallback | None = None,
             poll_s: float = 0.5, timeout_s: float | None = None) -> dict[str, Any]:
        """Polls until the job is terminal; `on_progress` sees every poll's job."""
        deadline = calls.deadline(timeout_s)
        while True:
            job = self.status(job_id)
            if on_progress is not None:
                on_progress(job)
            if calls.is_terminal(job):
                return job
            calls.check_deadline(deadline, job)
            self._sleep(poll_s)

    def download(self, job_id: str, out_dir: Path) -> Path:
        """Writes the job's PNGs, sheet, copy and results.json into `out_dir` (client.files)."""
        job, items = self.status(job_id), self.items(job_id)
        images = {image_name(item): self.send(calls.image(item["image_url"])).content
                  for item in items if item.get("image_url")}
        sheet = self.send(calls.sheet(job_id)).content
        return write_job_files(Path(out_dir), job, items, images, sheet)
