"""Model versions: register checkpoints and look them up by version, name or the word "default".

A tenant sees the global versions (tenant_id NULL: the shipped default) and its own fine-tunes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from store.models import ModelVersion

DEFAULT_MODEL_NAME = "default"


def visible_models(tenant_id: str | None, *what: Any):  # noqa: ANN201 - a SQLAlchemy Select
    """Select `what` (default: the whole row) of the versions the tenant may use."""
    query = select(*(what or (ModelVersion,)))
    if tenant_id is not None:
        query = query.where(or_(ModelVersion.tenant_id.is_(None), ModelVersion.tenant_id == tenant_id))
    return query


def list_models(session: Session, tenant_id: str | None) -> list[ModelVersion]:
    """Every version the tenant may use, oldest first."""
    return list(session.scalars(visible_models(tenant_id).order_by(ModelVersion.id)))


def _matching(query, ref: str):  # noqa: ANN001, ANN202 - a SQLAlchemy Select in and out
    """The newest row of `query` whose version or name is `ref`."""
    return (query.where(or_(ModelVersion.version == ref, ModelVersion.name == ref))
            .order_by(ModelVersion.id.desc()).limit(1))


def find_model(session: Session, ref: str, tenant_id: str | None) -> ModelVersion | None:
    """Resolve `ref` (a version hash, a name, or "default") to the newest matching visible version."""
    return session.scalars(_matching(visible_models(tenant_id), ref)).first()


# Built once, on the table (Core: no ORM result set-up): building and hashing a statement, and
# setting up an ORM result, each cost more CPU than running the query on PostgreSQL.
_MODELS = ModelVersion.__table__
_VERSION_FOR_TENANT = (
    select(_MODELS.c.version, _MODELS.c.kind)
    .where(or_(_MODELS.c.tenant_id.is_(None), _MODELS.c.tenant_id == bindparam("tenant_id")),
           or_(_MODELS.c.version == bindparam("ref"), _MODELS.c.name == bindparam("ref")))
    .order_by(_MODELS.c.id.desc())
    .limit(1)
)


def find_version(session: Session, ref: str, tenant_id: str | None) -> tuple[str, str] | None:
    """(version, kind) of `find_model(...)`, reading those two columns (every submission asks)."""
    if tenant_id is None:
        query = _matching(visible_models(None, ModelVersion.version, ModelVersion.kind), ref)
        row = session.execute(query).first()
    else:
        row = session.execute(_VERSION_FOR_TENANT, {"ref": ref, "tenant_id": tenant_id}).first()
    return None if row is None else (row[0], row[1])


def register_model(
    session: Session,
    *,
    name: str,
    version: str,
    checkpoint_path: str,
    sha256: str,
    parent_version: str | None = None,
    tenant_id: str | None = None,
    metrics: dict[str, Any] | None = None,
    created_by_job_id: str | None = None,
    kind: str = "shapes",
) -> ModelVersion:
    """Insert a version, or return the existing row for the same version (idempotent)."""
    existing = session.scalars(select(ModelVersion).where(ModelVersion.version == version)).first()
    if existing is not None:
        return existing
    row = ModelVersion(
        name=name, kind=kind, version=version, checkpoint_path=checkpoint_path, sha256=sha256,
        parent_version=parent_version, tenant_id=tenant_id, metrics=metrics or {},
        created_by_job_id=created_by_job_id,
    )
    session.add(row)
    session.flush()
    return row
