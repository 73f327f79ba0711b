"""The SQL store: ORM models, engine/session factory and the functions that read and write jobs.

Imports SQLAlchemy only (store/transient.py also names the broker clients' errors). Store
functions take a `session`; the caller owns the transaction.
"""

from store.db import dispose_engines, get_engine, make_engine, session_factory, session_scope
from store.models import (
    ApiKey,
    Base,
    Item,
    ItemStatus,
    Job,
    JobKind,
    JobStatus,
    ModelVersion,
    Tenant,
    TERMINAL_ITEM_STATUSES,
    TERMINAL_JOB_STATUSES,
)

__all__ = [
    "ApiKey", "Base", "Item", "ItemStatus", "Job", "JobKind", "JobStatus", "ModelVersion", "Tenant",
    "TERMINAL_ITEM_STATUSES", "TERMINAL_JOB_STATUSES",
    "dispose_engines", "get_engine", "make_engine", "session_factory", "session_scope",
]
