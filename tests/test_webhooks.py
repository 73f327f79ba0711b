"""Webhooks: Standard Webhooks signatures checked by the reference library (`standardwebhooks`),
targets that may not be called, the API's secret and deliveries routes, and the whole path: 200
jobs, a receiver that fails every delivery's first 3 attempts, a worker SIGKILLed right after a
job's final commit, and exactly one accepted delivery per job.
"""

from __future__ import annotations

import collections
import datetime as dt
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import update
from standardwebhooks import Webhook, WebhookVerificationError

from store.models import Job, WebhookDelivery
from tests.api_fixtures import Api, api, isolated_env, running_api  # noqa: F401
from tests.worker_support import processes_for, wait_for
from webhooks import TargetRefused, check_target, new_secret, signature_headers
from webhooks.targets import parse_networks

LOOPBACK = "127.0.0.0/8"


def test_a_delivery_verifies_with_the_reference_library_and_tampering_does_not() -> None:
    secret, body = new_secret(), b'{"type": "job.completed"}'
    headers = signature_headers([secret], "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {"type": "job.completed"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"type": "job.completed", "x": 1}', headers)
    stale = signature_headers([secret], "msg_1", int(time.time()) - 600, body)
    with pytest.raises(WebhookVerificationError):  # ten minutes old
        Webhook(secret).verify(body, stale)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_during_a_rotation_both_secrets_sign() -> None:
    old, new, body = new_secret(), new_secret(), b"{}"
    headers = signature_headers([new, old], "msg_2", int(time.time()), body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "http://localhost:9/hook",
    "http://[::1]/hook", "http://192.168.1.20/", "ftp://example.com/hook",
    "http://user:pw@example.com/", "not a url",
])
def test_private_and_malformed_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_target(url)


def test_an_allowed_network_may_be_called() -> None:
    check_target("http://localhost:9/hook", parse_networks(f"{LOOPBACK}, ::1/128"))
    with pytest.raises(TargetRefused):
        check_target("http://10.0.0.1/hook", parse_networks(LOOPBACK))


@pytest.fixture
def hooked(database_url: str, redis_url: str, tmp_path: Path, isolated_env: None) -> Iterator[Api]:
    """The API with loopback allowed as a webhook target."""
    with running_api(database_url, redis_url, tmp_path,
                     webhook_allowed_networks=LOOPBACK) as running:
        yield running


def job_with_hook(url: str, **extra: object) -> dict:
    return {"prompts": ["a red circle"], "webhook_url": url, **extra}


def test_submit_refuses_a_webhook_without_a_secret_or_to_a_private_address(api: Api) -> None:
    missing = api.submit(job_with_hook("https://example.com/hook"))
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] in ("webhook_secret_missing", "webhook_url_refused")
    created = api.client.post("/v1/webhook-secret", headers=api.auth())
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/", "http://localhost:8/hook"):
        refused = api.submit(job_with_hook(url))
        assert refused.status_code == 422, url
        assert refused.json()["error"]["code"] == "webhook_url_refused"
    events_alone = api.submit({"prompts": ["a red circle"], "webhook_events": ["started"]})
    assert events_alone.status_code == 422


def test_deliveries_are_listed_for_the_owner_only(hooked: Api) -> None:
    assert hooked.client.post("/v1/webhook-secret", headers=hooked.auth()).status_code == 201
    accepted = hooked.submit(job_with_hook("http://127.0.0.1:9/hook", webhook_events=["started"]))
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    mine = hooked.client.get(f"/v1/jobs/{job_id}/webhook-deliveries", headers=hooked.auth())
    assert mine.status_code == 200 and mine.json() == {"deliveries": []}
    theirs = hooked.client.get(f"/v1/jobs/{job_id}/webhook-deliveries", headers=hooked.auth("b"))
    assert theirs.status_code == 404


class Receiver:
    """A loopback receiver that verifies every delivery with `standardwebhooks` and fails each
    delivery's first `fail_first` attempts with a 500."""

    def __init__(self, secret: str, fail_first: int) -> None:
        self.verifier, self.fail_first = Webhook(secret), fail_first
        self.attempts: collections.Counter[str] = collections.Counter()
        self.accepted: dict[str, list[dict]] = collections.defaultdict(list)  # job id -> bodies
        self.rejected = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                self.send_response(receiver.take(dict(self.headers), body))
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        return Handler

    def take(self, headers: dict[str, str], body: bytes) -> int:
        try:
            payload = self.verifier.verify(body, {k.lower(): v for k, v in headers.items()})
        except WebhookVerificationError:
            with self.lock:
                self.rejected += 1
            return 400
        msg_id = headers["webhook-id"]
        with self.lock:
            self.attempts[msg_id] += 1
            if self.attempts[msg_id] <= self.fail_first:
                return 500
            self.accepted[payload["data"]["job"]["id"]].append({"id": msg_id, **payload})
        return 204

    def close(self) -> None:
        self.server.shutdown()


JOBS = 200


def test_every_job_gets_exactly_one_accepted_delivery_through_failures_and_a_kill(
        hooked: Api, database_url: str, redis_url: str, tmp_path: Path) -> None:
    secret = hooked.client.post("/v1/webhook-secret", headers=hooked.auth()).json()["secret"]
    receiver = Receiver(secret, fail_first=3)
    job_ids = []
    for n in range(JOBS):
        reply = hooked.submit(job_with_hook(receiver.url, seed=n, prompts=[f"a red circle {n}"]))
        assert reply.status_code == 202, reply.text
        job_ids.append(reply.json()["id"])
    faults = tmp_path / "faults"
    faults.mkdir()
    procs = processes_for(database_url, redis_url, tmp_path, FAULT_KILL_AFTER_FINALIZE=str(faults),
                          WEBHOOK_ALLOWED_NETWORKS=LOOPBACK, WEBHOOK_POLL_SECONDS="0.05",
                          WEBHOOK_RETRY_DELAYS_SECONDS="[0.05, 0.05, 0.05, 0.05]")
    try:
        procs.start("webhooks", [sys.executable, "-m", "worker.webhooks"])
        doomed = procs.worker("doomed", wait=False)
        wait_for(lambda: (faults / "killed").exists(), 120, "the worker's final commit + SIGKILL")
        doomed.wait(30)
        killed_job = (faults / "killed").read_text()
        procs.env.pop("FAULT_KILL_AFTER_FINALIZE")
        procs.worker("survivor")
        wait_for(lambda: len(receiver.accepted) == JOBS, 300, f"{JOBS} accepted deliveries")
        time.sleep(1)  # any duplicate would arrive now
    finally:
        procs.stop_all()
        receiver.close()

    assert sorted(receiver.accepted) == sorted(job_ids)
    assert all(len(bodies) == 1 for bodies in receiver.accepted.values())  # exactly once
    assert {body["type"] for bodies in receiver.accepted.values() for body in bodies} == {
        "job.completed"}
    assert set(receiver.attempts.values()) == {4}  # 3 failures, then accepted, one id each
    assert receiver.rejected == 0
    assert receiver.accepted[killed_job][0]["data"]["job"]["status"] == "succeeded"
    listed = hooked.client.get(f"/v1/jobs/{killed_job}/webhook-deliveries",
                               headers=hooked.auth()).json()["deliveries"]
    assert [(d["event"], d["status"], len(d["attempts"])) for d in listed] == [
        ("completed", "delivered", 4)]
    assert [a["status_code"] for a in listed[0]["attempts"]] == [500, 500, 500, 204]
    assert listed[0]["id"] == receiver.accepted[killed_job][0]["id"]



def test_a_delivery_that_keeps_failing_follows_the_schedule_then_fails(sqlite_url: str) -> None:
    from store import session_scope
    from store import webhooks as outbox
    from tests.worker_support import add_job

    job_id = add_job(sqlite_url, ["a red circle"])
    now = dt.datetime.now(dt.UTC)
    with session_scope(sqlite_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(status="succeeded"))
        outbox.subscribe(session, job_id, "t", "https://example.com/hook", ["completed"])
    delays = [5.0, 300.0]
    outcomes, waits = [], []
    for _ in range(3):
        with session_scope(sqlite_url) as session:
            outbox.materialize(session, now)
            (due,) = outbox.claim_due(session, now, lease_seconds=30)
            outcomes.append(outbox.record_attempt(session, due, now, status_code=503, error=None,
                                                  duration_ms=1.0, retry_delays=delays))
            delivery = session.get(WebhookDelivery, due.id)
            waits.append((delivery.next_attempt_at.replace(tzinfo=dt.UTC) - now).total_seconds())
        now += dt.timedelta(seconds=waits[-1])
    assert outcomes == ["pending", "pending", "failed"]
    assert waits[:2] == delays
    with session_scope(sqlite_url) as session:
        assert outbox.claim_due(session, now + dt.timedelta(days=1), lease_seconds=30) == []
        assert outbox.materialize(session, now) == 0  # made once, never again
