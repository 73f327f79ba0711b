"""A small threaded HTTP load for the chaos cases and the soak: clients that submit and poll jobs.

Each client thread loops until told to stop (or `max_jobs` are started): it POSTs a job for one
of the tenants with an Idempotency-Key, retrying the same request (same key) on a 503 or a
dropped connection, as a careful client would, then polls the job a few times; with `watch` it
then keeps polling accepted jobs, as clients waiting for results do, until stopped. Every reply is recorded (`Reply`), so a
case can assert what clients saw: which statuses, which error codes, whether each 503 carried
Retry-After. Jobs that got their 202 are the accepted ones: each must end terminal.

Used instead of locust, which is not installed here; the shape is the same (users, a task mix,
an error budget), the numbers smaller to fit a 2-core machine.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)

RETRY_PAUSE_SECONDS = 0.5
MAX_SUBMIT_TRIES = 40


@dataclass(frozen=True)
class Reply:
    """One HTTP exchange as the client saw it; status None means the connection failed."""

    kind: str  # "submit" or "poll"
    status: int | None
    code: str | None = None  # error.code of an error body
    retry_after: str | None = None
    json_body: bool = True
    text: str = ""  # the body of an unexpected reply, cut short


@dataclass
class Load:
    """`threads` clients against `base`, each job of `items` prompts; `start()`, then `stop()`."""

    base: str
    keys: list[str]
    threads: int = 4
    items: int = 5
    rounds: int = 1
    polls: int = 2
    pause: float = 0.0  # seconds between a client's jobs
    max_jobs: int | None = None  # stop submitting after this many accepted jobs, in all
    watch: float = 0.0  # after max_jobs, poll a random accepted job every `watch` s until stopped
    replies: list[Reply] = field(default_factory=list)
    accepted: dict[str, int] = field(default_factory=dict)  # job id -> items
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _serial: itertools.count = field(default_factory=itertools.count)
    _begun: int = 0
    _owner: dict[str, str] = field(default_factory=dict)  # job id -> its tenant's key
    _submitters: set[int] = field(default_factory=set)  # clients still submitting

    @property
    def submitting(self) -> bool:
        return bool(self._submitters)

    def start(self) -> None:
        self._submitters.update(range(self.threads))
        for n in range(self.threads):
            thread = threading.Thread(target=self._client, args=(n,), name=f"load-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 60) -> None:
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float = 60) -> None:
        """Wait for the clients to end by themselves (after max_jobs)."""
        for thread in self._threads:
            thread.join(timeout)

    def run_for(self, seconds: float, during: Callable[[], None] | None = None) -> None:
        """Start, call `during()` (e.g. restart a server) if given, keep going `seconds` in all."""
        started = time.monotonic()
        self.start()
        if during is not None:
            during()
        self._stop.wait(max(0.0, seconds - (time.monotonic() - started)))
        self.stop()

    def _reserve(self) -> bool:
        """Whether this client may start one more job (at most max_jobs are ever started)."""
        with self._lock:
            if self._stop.is_set() or (self.max_jobs is not None and self._begun >= self.max_jobs):
                return False
            self._begun += 1
            return True

    def _client(self, n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while self._reserve():
                key = self.keys[rng.randrange(len(self.keys))]
                job_id = self._submit(client, key)
                for _ in range(self.polls if job_id else 0):
                    self._record(self._call(client, "poll", "GET", f"/v1/jobs/{job_id}", key))
                if self.pause:
                    self._stop.wait(self.pause)
            self._submitters.discard(n)
            while self.watch and not self._stop.wait(self.watch):
                with self._lock:
                    job_id, key = rng.choice(list(self.accepted.items()))[0], self.keys[0]
                    key = self._owner.get(job_id, key)
                self._record(self._call(client, "poll", "GET", f"/v1/jobs/{job_id}", key))

    def _submit(self, client: httpx.Client, key: str) -> str | None:
        serial = next(self._serial)
        body = {"prompts": [f"load {serial} item {i}: two green triangles" for i in range(self.items)],
                "rounds": self.rounds}
        headers = {"Idempotency-Key": f"load-{uuid.uuid4().hex}"}
        for _ in range(MAX_SUBMIT_TRIES):
            reply, data = self._call(client, "submit", "POST", "/v1/jobs", key, body, headers)
            self._record((reply, data))
            if reply.status == 202:
                with self._lock:
                    self.accepted[data["id"]] = self.items
                    self._owner[data["id"]] = key
                return data["id"]
            if reply.status not in (None, 503, 409) or self._stop.is_set():
                return None
            time.sleep(RETRY_PAUSE_SECONDS)
        return None

    def _call(self, client: httpx.Client, kind: str, method: str, path: str, key: str,
              body: dict | None = None, headers: dict | None = None) -> tuple[Reply, dict]:
        headers = {"Authorization": f"Bearer {key}", **(headers or {})}
        try:
            response = client.request(method, path, json=body, headers=headers)
        except httpx.TransportError as exc:
            return Reply(kind, None, text=type(exc).__name__), {}
        try:
            data = response.json()
        except ValueError:
            return Reply(kind, response.status_code, json_body=False,
                         text=response.text[:200]), {}
        error = data.get("error") if isinstance(data, dict) else None
        reply = Reply(kind, response.status_code, code=(error or {}).get("code"),
                      retry_after=response.headers.get("Retry-After"),
                      text="" if response.status_code < 500 else response.text[:200])
        return reply, data

    def _record(self, exchange: tuple[Reply, dict]) -> None:
        with self._lock:
            self.replies.append(exchange[0])

    def statuses(self) -> Counter:
        return Counter(r.status for r in self.replies)

    def server_errors(self) -> list[Reply]:
        """Replies a client must never see: a 5xx other than a well-formed 503 JSON error."""
        return [r for r in self.replies if r.status is not None and r.status >= 500
                and not (r.status == 503 and r.json_body and r.code and r.retry_after)]

    def summary(self) -> str:
        codes = Counter(r.code for r in self.replies if r.code)
        return (f"{len(self.replies)} requests, statuses {dict(self.statuses())}, error codes "
                f"{dict(codes)}, {len(self.accepted)} jobs accepted")
