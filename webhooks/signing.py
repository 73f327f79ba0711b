"""Standard Webhooks signatures (https://www.standardwebhooks.com/, the scheme Svix and
Replicate use): `webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")),
where the key is the base64 part of a `whsec_...` secret. A delivery keeps its `webhook-id`
across retries and is signed afresh, with a new `webhook-timestamp`, on every attempt (receivers
refuse old timestamps). During a rotation both the new and the previous secret sign, space-
separated, so a receiver that still has the old one keeps verifying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    """A new signing secret, `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of `msg_id.timestamp.body` with `secret`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_headers(signing_secrets: Sequence[str], msg_id: str, timestamp: int,
                      body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (plus the content type)."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in signing_secrets),
    }
