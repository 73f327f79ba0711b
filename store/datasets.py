"""Fine-tune datasets: record an uploaded dataset with its per-file verdicts, read it back.

The API validates an archive and writes the accepted images under the storage dir first; this
module only records what was decided, in one transaction with the dataset row, so a dataset is
never half-written. A tenant sees only its own datasets (another tenant's is None, like a job).
The worker reads the accepted (caption, image path) pairs of a dataset to fine-tune on.
Store functions take a `session`; the caller owns the transaction. Knows nothing of HTTP, files
or images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from store.models import Dataset, DatasetFile, DatasetFileStatus, DatasetStatus

ACCEPTED = DatasetFileStatus.ACCEPTED.value
REJECTED = DatasetFileStatus.REJECTED.value


@dataclass(frozen=True)
class NewDatasetFile:
    """The verdict on one file of an upload, in archive order."""

    name: str
    accepted: bool
    reason: str | None = None
    message: str | None = None
    caption: str | None = None
    image_path: str | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None


@dataclass(frozen=True)
class Pair:
    """An accepted caption and its stored image (path relative to the storage dir)."""

    caption: str
    image_path: str


def create_dataset(session: Session, *, dataset_id: str, tenant_id: str, name: str,
                   storage_path: str, archive_sha256: str, archive_bytes: int,
                   files: Sequence[NewDatasetFile]) -> Dataset:
    """Insert a dataset and one row per file; the status is "empty" if nothing was accepted."""
    accepted = sum(1 for f in files if f.accepted)
    dataset = Dataset(
        id=dataset_id, tenant_id=tenant_id, name=name, storage_path=storage_path,
        archive_sha256=archive_sha256, archive_bytes=archive_bytes, total_files=len(files),
        accepted_files=accepted, rejected_files=len(files) - accepted,
        status=(DatasetStatus.READY if accepted else DatasetStatus.EMPTY).value,
    )
    session.add(dataset)
    session.flush()
    if files:
        session.execute(insert(DatasetFile), [_file_row(dataset_id, i, f)
                                              for i, f in enumerate(files)])
    return dataset


def _file_row(dataset_id: str, index: int, f: NewDatasetFile) -> dict:
    return {"dataset_id": dataset_id, "index": index, "name": f.name[:500],
            "status": ACCEPTED if f.accepted else REJECTED, "reason": f.reason,
            "message": f.message, "caption": f.caption, "image_path": f.image_path,
            "sha256": f.sha256, "width": f.width, "height": f.height, "format": f.format}


def get_dataset(session: Session, dataset_id: str, tenant_id: str) -> Dataset | None:
    """The dataset if it exists and belongs to `tenant_id`; another tenant's is None."""
    return session.scalars(
        select(Dataset).where(Dataset.id == dataset_id, Dataset.tenant_id == tenant_id)
    ).first()


def list_datasets(session: Session, tenant_id: str, *, limit: int = 50,
                  offset: int = 0) -> tuple[list[Dataset], int]:
    """One page of the tenant's datasets, newest first, and how many there are."""
    where = Dataset.tenant_id == tenant_id
    total = session.scalar(select(func.count()).select_from(Dataset).where(where)) or 0
    page = session.scalars(select(Dataset).where(where)
                           .order_by(Dataset.created_at.desc(), Dataset.id.desc())
                           .limit(limit).offset(offset))
    return list(page), total


def dataset_files(session: Session, dataset_id: str) -> list[DatasetFile]:
    """Every file verdict of a dataset, in archive order (the caller has checked the tenant)."""
    return list(session.scalars(
        select(DatasetFile).where(DatasetFile.dataset_id == dataset_id).order_by(DatasetFile.index)
    ))


def accepted_pairs(session: Session, dataset_id: str) -> list[Pair]:
    """The accepted (caption, image path) pairs of a dataset, in archive order."""
    rows = session.execute(
        select(DatasetFile.caption, DatasetFile.image_path)
        .where(DatasetFile.dataset_id == dataset_id, DatasetFile.status == ACCEPTED)
        .order_by(DatasetFile.index)
    )
    return [Pair(caption=r.caption, image_path=r.image_path) for r in rows]
