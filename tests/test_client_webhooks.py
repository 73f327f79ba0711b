"""`alpaca webhooks verify` and client.webhooks against the reference `standardwebhooks` signer:
genuine deliveries pass; a tampered body, a wrong secret or a 10-minute-old timestamp fail."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from client.cli import app
from client.webhooks import Delivery, WebhookVerificationError, verify

SECRET = "whsec_" + base64.b64encode(b"sixteen byte key" * 2).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another key, 32 bytes long......").decode()
BODY = json.dumps({"type": "job.completed", "data": {"id": "j1", "status": "succeeded"}})


def signed_delivery(body: str = BODY, age_s: float = 0, msg_id: str = "msg_1") -> Delivery:
    """A delivery signed by the reference library, `age_s` seconds ago."""
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age_s)
    signature = Webhook(SECRET).sign(msg_id, when, body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": signature}
    return Delivery(headers, body.encode())


def save(tmp_path: Path, delivery: Delivery, body: str | None = None) -> Path:
    path = tmp_path / "delivery.json"
    raw = body if body is not None else delivery.body.decode()
    path.write_text(json.dumps({"headers": delivery.headers, "body": raw}))
    return path


def test_a_delivery_signed_by_the_reference_library_verifies() -> None:
    assert verify(signed_delivery(), SECRET)["type"] == "job.completed"


def test_the_reference_library_accepts_our_signature() -> None:
    from client.webhooks import sign
    now = dt.datetime.now(dt.timezone.utc)
    stamp = int(now.timestamp())
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(stamp),
               "webhook-signature": sign(SECRET, "msg_2", stamp, BODY.encode())}
    assert Webhook(SECRET).verify(BODY, headers)["type"] == "job.completed"


# Deliveries are signed when the test runs, not when it is collected: a full run reaches these
# tests minutes after collection, past the verifier's 5-minute tolerance.
@pytest.mark.parametrize(("make", "secret", "why"), [
    (lambda: Delivery(signed_delivery().headers, BODY.replace("succeeded", "failed").encode()),
     SECRET, "no signature matches"),
    (signed_delivery, OTHER_SECRET, "no signature matches"),
    (lambda: signed_delivery(age_s=600), SECRET, "tolerance"),
], ids=["tampered", "wrong-key", "stale"])
def test_tampered_wrongly_keyed_or_stale_deliveries_are_rejected(make, secret, why) -> None:
    with pytest.raises(WebhookVerificationError, match=why):
        verify(make(), secret)


def test_the_cli_accepts_a_genuine_delivery_and_rejects_a_tampered_one(tmp_path: Path) -> None:
    runner = CliRunner()
    genuine = save(tmp_path, signed_delivery())
    result = runner.invoke(app, ["webhooks", "verify", str(genuine), "--secret", SECRET])
    assert result.exit_code == 0 and "valid delivery job.completed" in result.output
    tampered = save(tmp_path, signed_delivery(), body=BODY.replace("j1", "j2"))
    result = runner.invoke(app, ["webhooks", "verify", str(tampered)],
                           env={"ALPACA_WEBHOOK_SECRET": SECRET})
    assert result.exit_code == 1 and "no signature matches" in result.output


def test_an_old_saved_delivery_verifies_with_the_age_check_off(tmp_path: Path) -> None:
    old = save(tmp_path, signed_delivery(age_s=86_400))
    args = ["webhooks", "verify", str(old), "--secret", SECRET]
    assert CliRunner().invoke(app, args).exit_code == 1
    assert CliRunner().invoke(app, [*args, "--tolerance", "0"]).exit_code == 0


@pytest.mark.parametrize(("saved", "why"), [
    ("not json", "cannot read delivery"),
    ('{"headers": [], "body": 1}', "expected"),
])
def test_an_unreadable_delivery_file_is_a_clear_error(tmp_path: Path, saved: str, why: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(saved)
    result = CliRunner().invoke(app, ["webhooks", "verify", str(path), "--secret", SECRET])
    assert result.exit_code == 1 and why in result.output


def test_missing_headers_and_a_malformed_secret_are_named() -> None:
    with pytest.raises(WebhookVerificationError, match="missing header webhook-signature"):
        verify(Delivery({"webhook-id": "m", "webhook-timestamp": "1"}, b"{}"), SECRET,
               tolerance_s=0)
    with pytest.raises(WebhookVerificationError, match="base64"):
        verify(signed_delivery(), "whsec_***")
