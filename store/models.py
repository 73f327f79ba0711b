"""SQLAlchemy ORM models: the source of truth for tenants, jobs, items and model versions.

The job row is the outbox: it is committed before any Celery message is sent, and messages carry
ids only. Items carry a lease and an attempt counter so a redelivered job resumes instead of
redoing finished work; (job_id, index) is unique so a result can never be written twice.

This module knows nothing of HTTP, Celery or torch. Schema changes go through Alembic
(`migrations/`), never through `create_all` in production.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-aware now; every timestamp in the store is UTC."""
    return dt.datetime.now(dt.timezone.utc)


def new_id() -> str:
    """A 32-hex-digit random id, used for tenants, jobs and keys."""
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class JobKind(str, enum.Enum):
    GENERATE = "generate"
    FINETUNE = "finetune"


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    PARTIAL = "partial"  # finished, some items failed


TERMINAL_JOB_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.PARTIAL}
)


class ItemStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


TERMINAL_ITEM_STATUSES = frozenset({ItemStatus.SUCCEEDED, ItemStatus.FAILED, ItemStatus.CANCELED})


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="tenant")


class ApiKey(Base):
    """A bearer key. Only its SHA-256 is stored; the plain key is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)  # first characters; every
    # authenticated request looks its key up by prefix (store.tenants.tenant_for_key)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    tenant: Mapped[Tenant] = relationship(back_populates="api_keys")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_jobs_tenant_idempotency"),
        Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
        Index("ix_jobs_status_updated", "status", "updated_at"),
        # The quota counts a tenant's unfinished jobs on every submission (store.jobs.active_usage).
        Index("ix_jobs_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default=JobKind.GENERATE.value)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)  # rounds, batch size, steps, ...
    model_version: Mapped[str | None] = mapped_column(String(64), default=None)
    priority: Mapped[int] = mapped_column(Integer, default=5)  # 0 (low) .. 9 (high)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    total_items: Mapped[int] = mapped_column(Integer, default=0)
    done_items: Mapped[int] = mapped_column(Integer, default=0)
    failed_items: Mapped[int] = mapped_column(Integer, default=0)
    current_round: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. fine-tune step and loss
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # deliveries that started running
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)  # last claimant
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # last send_task
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    items: Mapped[list[Item]] = relationship(
        back_populates="job", order_by="Item.index", cascade="all, delete-orphan"
    )


class Item(Base):
    """One prompt + seed of a job, and its result once run."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("job_id", "index", name="uq_items_job_index"),
        Index("ix_items_job_status", "job_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.PENDING.value)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    image_path: Mapped[str | None] = mapped_column(String(500), default=None)  # relative to storage
    image_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    # The round-by-round strip (each round's image side by side), relative to storage; None
    # when the item's rounds all drew the same image (one round included): the image stands.
    rounds_path: Mapped[str | None] = mapped_column(String(500), default=None)
    control_texts: Mapped[list[str]] = mapped_column(JSON, default=list)  # one per round run
    agreements: Mapped[list[float]] = mapped_column(JSON, default=list)  # one per round run
    rounds_run: Mapped[int] = mapped_column(Integer, default=0)
    # What the result carries beyond its PNG and control texts, as the model kind defines it
    # (the ads model: copy, design, the judge's verdict); None for kinds that add nothing.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    compute_ms: Mapped[float | None] = mapped_column(Float, default=None)  # model time, this item
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    job: Mapped[Job] = relationship(back_populates="items")


class DatasetStatus(str, enum.Enum):
    READY = "ready"  # at least one accepted pair
    EMPTY = "empty"  # every file was rejected: nothing to fine-tune on


class DatasetFileStatus(str, enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Dataset(Base):
    """An uploaded fine-tune dataset: text-image pairs, validated and stored under the storage dir."""

    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=DatasetStatus.READY.value)
    storage_path: Mapped[str] = mapped_column(String(500))  # folder, relative to storage dir
    archive_sha256: Mapped[str] = mapped_column(String(64))
    archive_bytes: Mapped[int] = mapped_column(BigInteger)
    total_files: Mapped[int] = mapped_column(Integer, default=0)
    accepted_files: Mapped[int] = mapped_column(Integer, default=0)
    rejected_files: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    files: Mapped[list[DatasetFile]] = relationship(
        back_populates="dataset", order_by="DatasetFile.index", cascade="all, delete-orphan"
    )


class DatasetFile(Base):
    """One archive member (or caption line) of a dataset: accepted with its caption, or rejected."""

    __tablename__ = "dataset_files"
    __table_args__ = (UniqueConstraint("dataset_id", "index", name="uq_dataset_files_index"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))  # the member name in the archive, as shown
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64), default=None)  # why it was rejected
    message: Mapped[str | None] = mapped_column(Text, default=None)
    caption: Mapped[str | None] = mapped_column(Text, default=None)
    image_path: Mapped[str | None] = mapped_column(String(500), default=None)  # rel. to storage
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # of the stored PNG
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    format: Mapped[str | None] = mapped_column(String(16), default=None)  # as uploaded

    dataset: Mapped[Dataset] = relationship(back_populates="files")


class ModelVersion(Base):
    """A registered checkpoint. The default model is registered at first use; fine-tunes add more."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="shapes")  # kinds.ModelKind's name
    version: Mapped[str] = mapped_column(String(64), unique=True)  # content hash of the weights
    checkpoint_path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    parent_version: Mapped[str | None] = mapped_column(String(64), default=None)
    tenant_id: Mapped[str | None] = mapped_column(  # None: visible to every tenant
        ForeignKey("tenants.id", ondelete="CASCADE"), default=None
    )
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_job_id: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookSecret(Base):
    """A tenant's webhook signing secret (`whsec_...`), shown once; the previous one keeps
    signing for a while after a rotation (webhooks/signing.py)."""

    __tablename__ = "webhook_secrets"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           primary_key=True)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    rotated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookSubscription(Base):
    """A job's webhook: where to send which events. Written with the job, in its transaction;
    the dispatcher turns what the job's committed status says into deliveries."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_open", "completed"),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    started: Mapped[bool] = mapped_column(Boolean, default=False)  # its started delivery exists
    completed: Mapped[bool] = mapped_column(Boolean, default=False)  # its final delivery exists
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDeliveryStatus(str, enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt of the retry schedule failed


class WebhookDelivery(Base):
    """One event for one job's webhook: its id is the `webhook-id` of every attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_job", "job_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "msg_" + 32 hex
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)  # job, event (, item)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, fixed at creation
    status: Mapped[str] = mapped_column(String(16), default=WebhookDeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class WebhookAttempt(Base):
    """One try of a delivery: when, the receiver's status code or the error, how long."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
