"""Share links: a signed, expiring token per job, for pages a browser opens without the API key.

A browser cannot send the bearer header, so the gallery (api/routers/gallery.py) takes a token in
its URL: `<expires>.<signature>`, the signature an HMAC-SHA256 over the job id and the expiry
with the deployment's share secret (`SHARE_SECRET`; outside production one is generated once
into var_dir). A token opens exactly one job (another job's, and so another tenant's, fails
like a missing job) until it expires. The API hands one out with every job (`gallery_url`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import time
from pathlib import Path

from fastapi import Request

from config import Settings

SECRET_FILE = "share_secret"


class ShareTokenInvalid(Exception):
    """The token does not belong to this job (or is malformed)."""


class ShareTokenExpired(Exception):
    """The token was this job's but has expired."""


def share_key(settings: Settings) -> bytes:
    """SHARE_SECRET, or one generated once and kept in var/share_secret (single-host setups).
    Read once per process: every job view signs a link with it."""
    return _key(settings.share_secret, settings.var_dir)


@functools.lru_cache(maxsize=8)
def _key(share_secret: str, var_dir: Path) -> bytes:
    if share_secret:
        return share_secret.encode()
    path = var_dir / SECRET_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def make_token(key: bytes, job_id: str, expires_at: int) -> str:
    return f"{expires_at}.{_signature(key, job_id, expires_at)}"


def check_token(key: bytes, job_id: str, token: str, now: float | None = None) -> None:
    """Raise ShareTokenInvalid or ShareTokenExpired unless `token` opens `job_id` now."""
    expires, _, signature = token.partition(".")
    if not expires.isdigit() or not hmac.compare_digest(
            signature, _signature(key, job_id, int(expires))):
        raise ShareTokenInvalid(job_id)
    if int(expires) < (time.time() if now is None else now):
        raise ShareTokenExpired(job_id)


def _signature(key: bytes, job_id: str, expires_at: int) -> str:
    digest = hmac.new(key, f"{job_id}.{expires_at}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def gallery_url(request: Request, job_id: str) -> str:
    """A fresh share link to the job's page (valid for `share_link_seconds`)."""
    settings: Settings = request.app.state.services.settings
    token = make_token(share_key(settings), job_id, int(time.time()) + settings.share_link_seconds)
    return str(request.url_for("read_gallery", job_id=job_id).include_query_params(token=token))

