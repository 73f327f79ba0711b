"""Checking a webhook delivery signed the Standard Webhooks way (standardwebhooks.com).

A delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`
(space-separated `v1,<base64 HMAC-SHA256>` entries) over the content `id.timestamp.body`, keyed
with the base64 key inside the tenant's `whsec_...` secret. A delivery is genuine when one `v1`
entry matches (compared in constant time) and its timestamp is within `tolerance_s` of now.
A saved delivery is a JSON file `{"headers": {...}, "body": "<the raw body>"}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_S = 300  # five minutes, as the Standard Webhooks libraries use


class WebhookVerificationError(ValueError):
    """The delivery is not genuine or not readable; the message says why."""


@dataclass(frozen=True)
class Delivery:
    """One received delivery: its headers (names in lower case) and raw body."""

    headers: dict[str, str]
    body: bytes

    @classmethod
    def load(cls, path: Path) -> Delivery:
        """Reads a saved delivery (see the module docstring)."""
        try:
            saved = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WebhookVerificationError(f"cannot read delivery {path}: {exc}") from exc
        if not isinstance(saved, dict) or not isinstance(saved.get("headers"), dict) \
                or not isinstance(saved.get("body"), str):
            raise WebhookVerificationError(
                f"{path}: expected {{\"headers\": {{...}}, \"body\": \"...\"}}")
        headers = {str(k).lower(): str(v) for k, v in saved["headers"].items()}
        return cls(headers, saved["body"].encode("utf-8"))

    def header(self, name: str) -> str:
        value = self.headers.get(name, "").strip()
        if not value:
            raise WebhookVerificationError(f"missing header {name}")
        return value


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError("the secret is not 'whsec_' followed by base64") from exc
    if not key:
        raise WebhookVerificationError("the secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one delivery."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(delivery: Delivery, secret: str, *, tolerance_s: float = DEFAULT_TOLERANCE_S,
           now: float | None = None) -> dict[str, Any]:
    """The delivery's JSON body if it is genuine; raises WebhookVerificationError if not.
    `tolerance_s` <= 0 skips the age check (for deliveries saved long ago)."""
    msg_id, stamp = delivery.header("webhook-id"), delivery.header("webhook-timestamp")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError(f"webhook-timestamp {stamp!r} is not an integer") from exc
    check_age(timestamp, tolerance_s, time.time() if now is None else now)
    expected = sign(secret, msg_id, timestamp, delivery.body)
    offered = delivery.header("webhook-signature").split()
    if not any(hmac.compare_digest(expected, entry) for entry in offered):
        raise WebhookVerificationError("no signature matches (wrong secret or altered body)")
    try:
        return json.loads(delivery.body)
    except ValueError as exc:
        raise WebhookVerificationError("the signed body is not JSON") from exc


def check_age(timestamp: int, tolerance_s: float, now: float) -> None:
    if tolerance_s > 0 and abs(now - timestamp) > tolerance_s:
        raise WebhookVerificationError(
            f"webhook-timestamp is {now - timestamp:+.0f} s from now; the tolerance is "
            f"{tolerance_s:.0f} s (replayed or delayed delivery)")
