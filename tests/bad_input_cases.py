"""The bad-input acceptance cases: each request, and the status, code and message it must get.

Shared by tests/test_api_bad_input.py (which asserts every row on SQLite and PostgreSQL) and
bench/bad_input_table.py (which prints the table as measured). Messages assume the default
limits of config.Settings. Paths may name "{job_a}" (a job of the caller's tenant, "a") and
"{job_b}" (a job of tenant "b"); the runner creates those jobs when a case needs one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_SEED = 2**63 - 1
UNKNOWN_JOB = "0123456789abcdef0123456789abcdef"
_UNSET = object()


@dataclass(frozen=True)
class Case:
    name: str  # the bad input, as the table shows it
    status: int
    code: str
    message: str  # exact; "{job_a}"/"{job_b}" are filled in
    json: Any = _UNSET
    content: bytes | None = None
    chunked: bool = False  # send `content` as a stream without Content-Length
    method: str = "POST"
    path: str = "/v1/jobs"
    headers: dict[str, str] = field(default_factory=dict)
    key: str | None = "a"  # whose API key; None sends none
    first_json: Any = None  # POSTed to /v1/jobs with the same headers before the case


def _job(**fields: Any) -> dict[str, Any]:
    return {"prompts": ["a red circle"], **fields}


CASES = [
    Case("empty prompt list", 422, "invalid_request",
         "'prompts' is empty; give at least one prompt", json={"prompts": []}),
    Case("empty items list", 422, "invalid_request",
         "'items' is empty; give at least one prompt", json={"items": []}),
    Case("empty prompt", 422, "invalid_request", "prompts[0] is empty or only whitespace",
         json={"prompts": [""]}),
    Case("whitespace-only prompt", 422, "invalid_request",
         "prompts[1] is empty or only whitespace", json={"prompts": ["ok", " \t\n "]}),
    Case("whitespace-only item prompt", 422, "invalid_request",
         "items[0].prompt is empty or only whitespace", json={"items": [{"prompt": "  ", "seed": 1}]}),
    Case("prompt with a NUL character", 422, "invalid_request",
         "prompts[0] contains a NUL character", json={"prompts": ["red\u0000circle"]}),
    Case("prompt with an unpaired surrogate", 422, "invalid_request",
         "prompts[0] contains an unpaired surrogate (invalid Unicode)",
         content=b'{"prompts": ["\\ud800"]}', headers={"Content-Type": "application/json"}),
    Case("prompt over the length limit (501 chars)", 422, "prompt_too_long",
         "prompts[0] is 501 characters long; the limit is 500", json={"prompts": ["x" * 501]}),
    Case("more items than the limit (1001)", 422, "too_many_items",
         "1001 items in one job; the limit is 1000", json={"prompts": ["a"] * 1001}),
    Case("rounds above max_rounds (6)", 422, "rounds_out_of_range",
         "rounds must be between 0 and 5, got 6", json=_job(rounds=6)),
    Case("negative rounds", 422, "invalid_request",
         "rounds: Input should be greater than or equal to 0", json=_job(rounds=-1)),
    Case("negative seed", 422, "invalid_request",
         "items[0].seed: Input should be greater than or equal to 0",
         json={"items": [{"prompt": "a", "seed": -1}]}),
    Case("seed above max_seed (2**63)", 422, "seed_out_of_range",
         f"items[0].seed must be between 0 and {MAX_SEED}, got {MAX_SEED + 1}",
         json={"items": [{"prompt": "a", "seed": MAX_SEED + 1}]}),
    Case("huge seed (10**30)", 422, "seed_out_of_range",
         f"items[0].seed must be between 0 and {MAX_SEED}, got {10**30}",
         json={"items": [{"prompt": "a", "seed": 10**30}]}),
    Case("base seed whose last item passes max_seed", 422, "seed_out_of_range",
         f"seed (plus the prompt index) must be between 0 and {MAX_SEED}, got {MAX_SEED}",
         json={"prompts": ["a", "b"], "seed": MAX_SEED}),
    Case("non-integer seed (1.5)", 422, "invalid_request",
         "items[0].seed: Input should be a valid integer",
         json={"items": [{"prompt": "a", "seed": 1.5}]}),
    Case("unknown model", 422, "unknown_model",
         "model 'gpt-9' is not known; GET /v1/models lists the models you can use",
         json=_job(model="gpt-9")),
    Case("priority out of range (10)", 422, "invalid_request",
         "priority: Input should be less than or equal to 9", json=_job(priority=10)),
    Case("batch_size above the worker's (33)", 422, "batch_size_out_of_range",
         "batch_size must be between 1 and 32, got 33", json=_job(batch_size=33)),
    Case("both prompts and items", 422, "invalid_request",
         "give either 'prompts' or 'items' (exactly one of them)",
         json={"prompts": ["a"], "items": [{"prompt": "b", "seed": 1}]}),
    Case("neither prompts nor items", 422, "invalid_request",
         "give either 'prompts' or 'items' (exactly one of them)", json={"rounds": 1}),
    Case("unknown field (typo 'prompt')", 422, "invalid_request",
         "prompt: Extra inputs are not permitted", json={"prompt": ["a"]}),
    Case("prompts not a list", 422, "invalid_request", "prompts: Input should be a valid list",
         json={"prompts": "a red circle"}),
    Case("JSON array instead of an object", 422, "invalid_request",
         "the request body must be a JSON object", json=["a red circle"]),
    Case("non-UTF-8 body", 400, "invalid_encoding",
         "the request body is not valid UTF-8 (byte 0xff at offset 14)",
         content=b'{"prompts": ["\xff\xfe"]}', headers={"Content-Type": "application/json"}),
    Case("malformed JSON", 400, "invalid_json",
         "the request body is not valid JSON: Expecting value at line 1 column 14",
         content=b'{"prompts": [', headers={"Content-Type": "application/json"}),
    Case("empty body", 400, "empty_body", "the request body is empty; send a JSON object",
         content=b"", headers={"Content-Type": "application/json"}),
    Case("body that is not JSON (text/plain)", 415, "unsupported_media_type",
         "send the body as JSON with 'Content-Type: application/json' (got 'text/plain')",
         content=b"a red circle", headers={"Content-Type": "text/plain"}),
    Case("body over max_body_bytes (Content-Length)", 413, "body_too_large",
         "the request body is larger than the limit of 1000000 bytes",
         content=b'{"prompts": ["' + b"x" * 1_000_000 + b'"]}',
         headers={"Content-Type": "application/json"}),
    Case("body over max_body_bytes (chunked, no Content-Length)", 413, "body_too_large",
         "the request body is larger than the limit of 1000000 bytes",
         content=b" " * 2_000_000, chunked=True, headers={"Content-Type": "application/json"}),
    Case("Idempotency-Key longer than 200 characters", 422, "invalid_request",
         "Idempotency-Key (header): String should have at most 200 characters",
         json=_job(), headers={"Idempotency-Key": "k" * 201}),
    Case("Idempotency-Key reused with another body", 422, "idempotency_key_reused",
         "Idempotency-Key 'k1' was already used with a different request body (job {first})",
         json=_job(rounds=1), headers={"Idempotency-Key": "k1"}, first_json=_job(rounds=2)),
    Case("missing API key", 401, "missing_api_key",
         "missing API key: send the header 'Authorization: Bearer <key>'", json=_job(), key=None),
    Case("invalid API key", 401, "invalid_api_key", "invalid or revoked API key", json=_job(),
         key="ak_not-a-real-key-at-all"),
    Case("unknown job id", 404, "job_not_found", f"job {UNKNOWN_JOB} not found",
         method="GET", path=f"/v1/jobs/{UNKNOWN_JOB}"),
    Case("malformed job id", 404, "job_not_found", "job not-a-job-id not found",
         method="GET", path="/v1/jobs/not-a-job-id"),
    Case("another tenant's job", 404, "job_not_found", "job {job_b} not found",
         method="GET", path="/v1/jobs/{job_b}"),
    Case("another tenant's job: cancel", 404, "job_not_found", "job {job_b} not found",
         path="/v1/jobs/{job_b}/cancel"),
    Case("another tenant's job: items", 404, "job_not_found", "job {job_b} not found",
         method="GET", path="/v1/jobs/{job_b}/items"),
    Case("another tenant's job: image", 404, "job_not_found", "job {job_b} not found",
         method="GET", path="/v1/jobs/{job_b}/items/0/image.png"),
    Case("another tenant's job: sheet", 404, "job_not_found", "job {job_b} not found",
         method="GET", path="/v1/jobs/{job_b}/sheet.png"),
    Case("item index past the end", 404, "item_not_found", "job {job_a} has no item 5",
         method="GET", path="/v1/jobs/{job_a}/items/5/image.png"),
    Case("image not produced yet", 404, "image_not_ready",
         "item 0 of job {job_a} has no image yet (item status: pending)",
         method="GET", path="/v1/jobs/{job_a}/items/0/image.png"),
    Case("negative item index", 422, "invalid_request",
         "index (path): Input should be greater than or equal to 0",
         method="GET", path="/v1/jobs/{job_a}/items/-1/image.png"),
    Case("unknown status filter", 422, "invalid_request",
         "status (query): Input should be 'queued', 'running', 'succeeded', 'failed', "
         "'canceled' or 'partial'", method="GET", path="/v1/jobs?status=done"),
    Case("page limit 0", 422, "invalid_request",
         "limit (query): Input should be greater than or equal to 1",
         method="GET", path="/v1/jobs?limit=0"),
]


class Runner:
    """Sends cases through `client` with real keys, creating the jobs a case's path names."""

    def __init__(self, client: httpx.Client, keys: dict[str, str]) -> None:
        self.client, self.keys = client, keys
        self.jobs: dict[str, str] = {}

    def job(self, tenant: str) -> str:
        if tenant not in self.jobs:
            response = self.client.post("/v1/jobs", json={"prompts": ["a red circle"]},
                                        headers=self._auth(tenant))
            response.raise_for_status()
            self.jobs[tenant] = response.json()["id"]
        return self.jobs[tenant]

    def _auth(self, key: str | None) -> dict[str, str]:
        if key is None:
            return {}
        return {"Authorization": f"Bearer {self.keys.get(key, key)}"}

    def fill(self, text: str, first: str = "") -> str:
        for tenant in ("a", "b"):
            if "{job_" + tenant + "}" in text:
                text = text.replace("{job_" + tenant + "}", self.job(tenant))
        return text.replace("{first}", first)

    def run(self, case: Case) -> tuple[httpx.Response, str]:
        """The response to `case` and the message it is expected to carry."""
        headers = {**self._auth(case.key), **case.headers}
        first = ""
        if case.first_json is not None:
            first = self.client.post("/v1/jobs", json=case.first_json, headers=headers).json()["id"]
        kwargs: dict[str, Any] = {"headers": headers}
        if case.json is not _UNSET:
            kwargs["json"] = case.json
        elif case.content is not None:
            kwargs["content"] = _stream(case.content) if case.chunked else case.content
        response = self.client.request(case.method, self.fill(case.path), **kwargs)
        return response, self.fill(case.message, first)


def _stream(data: bytes, chunk: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start:start + chunk]
