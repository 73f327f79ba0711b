"""Tenants and their bearer API keys.

A key is shown once, when it is created; the store keeps only its SHA-256 and a short prefix to
tell keys apart. Lookup goes by prefix and compares hashes in constant time, so neither the key
nor how much of it matched leaks through timing. This module knows nothing of HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from store.models import ApiKey, Tenant, utcnow

KEY_SCHEME = "ak_"  # every key starts with this, so a leaked key is easy to grep for
KEY_PREFIX_CHARS = 12  # KEY_SCHEME plus 9 random characters, stored in clear


def hash_key(plain_key: str) -> str:
    """The stored form of a key: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(plain_key.encode("utf-8", "surrogatepass")).hexdigest()


def get_or_create_tenant(session: Session, name: str) -> Tenant:
    """The tenant called `name`, created if it does not exist yet."""
    name = name.strip()
    if not name:
        raise ValueError("tenant name must not be empty")
    tenant = session.scalars(select(Tenant).where(Tenant.name == name)).first()
    if tenant is None:
        tenant = Tenant(name=name)
        session.add(tenant)
        session.flush()
    return tenant


def create_api_key(session: Session, tenant: Tenant, label: str = "") -> tuple[ApiKey, str]:
    """A new key for `tenant`: the row (hash only) and the plain key, which is never stored."""
    plain_key = KEY_SCHEME + secrets.token_urlsafe(32)
    row = ApiKey(
        tenant_id=tenant.id, key_hash=hash_key(plain_key),
        prefix=plain_key[:KEY_PREFIX_CHARS], name=label,
    )
    session.add(row)
    session.flush()
    return row, plain_key


# The live keys with a prefix and their tenants, in one round trip; built once (every request
# runs it, and building and hashing a statement costs more than running it).
_KEYS_BY_PREFIX = (
    select(ApiKey.key_hash, Tenant)
    .join(Tenant, Tenant.id == ApiKey.tenant_id)
    .where(ApiKey.prefix == bindparam("prefix"), ApiKey.revoked_at.is_(None))
)


def tenant_for_key(session: Session, plain_key: str) -> Tenant | None:
    """The tenant owning `plain_key`, or None for an unknown or revoked key."""
    if not plain_key.startswith(KEY_SCHEME) or len(plain_key) <= KEY_PREFIX_CHARS:
        return None
    wanted = hash_key(plain_key)
    candidates = session.execute(_KEYS_BY_PREFIX, {"prefix": plain_key[:KEY_PREFIX_CHARS]})
    for key_hash, tenant in candidates:
        if hmac.compare_digest(key_hash, wanted):
            return tenant
    return None


def revoke_api_key(session: Session, prefix: str) -> int:
    """Revoke every live key whose prefix is `prefix`; returns how many were revoked."""
    keys = session.scalars(
        select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    ).all()
    for key in keys:
        key.revoked_at = utcnow()
    session.flush()
    return len(keys)
