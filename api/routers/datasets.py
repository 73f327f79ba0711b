"""/v1/datasets: upload a fine-tune dataset (zip of images + captions.jsonl), read, list.

The upload is multipart/form-data with the zip in the field `file` (and an optional `name`).
The archive is checked in full before anything is stored (see api.archive); the answer lists
every file as accepted or rejected with a reason code. A refused archive is a 400, 413 or 422
with a message, and nothing is stored. Every route is scoped to the caller's tenant; another
tenant's dataset is a 404.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api import finetune_errors as ferrors
from api.archive import ArchiveError
from api.dataset_upload import save_dataset
from api.deps import ServicesDep, SessionDep, TenantDep
from api.finetune_schemas import DatasetFilePublic, DatasetPublic, DatasetSummary, DatasetsPublic
from api.limits import UploadLimit
from api.schemas import ErrorBody
from store import datasets as store_datasets
from store.jobs import as_utc
from store.models import Dataset

log = logging.getLogger(__name__)

MAX_OFFSET = 10**9
ERRORS = {code: {"model": ErrorBody} for code in (401, 404, 503)}
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "zip: PNG/JPEG images + captions.jsonl"},
                   "name": {"type": "string", "maxLength": 200}}}}}}}

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], responses=ERRORS)


def dataset_url(request: Request, dataset_id: str) -> str:
    return str(request.url_for("read_dataset", dataset_id=dataset_id))


def dataset_public(request: Request, dataset: Dataset) -> DatasetPublic:
    files = [DatasetFilePublic(index=f.index, file=f.name, status=f.status, reason=f.reason,
                               message=f.message, caption=f.caption, width=f.width,
                               height=f.height, format=f.format) for f in dataset.files]
    return DatasetPublic(
        id=dataset.id, name=dataset.name, status=dataset.status, total_files=dataset.total_files,
        accepted_files=dataset.accepted_files, rejected_files=dataset.rejected_files,
        archive_bytes=dataset.archive_bytes, archive_sha256=dataset.archive_sha256,
        created_at=as_utc(dataset.created_at), url=dataset_url(request, dataset.id), files=files)


def _form_name(value: Any, upload: UploadFile) -> str:
    name = value if isinstance(value, str) else (upload.filename or "dataset")
    name = name.strip()
    if not 1 <= len(name) <= 200 or not name.isprintable():
        raise ferrors.INVALID_DATASET_NAME(length=len(name))
    return name


@router.post("", status_code=201, response_model=DatasetPublic, openapi_extra=UPLOAD_BODY,
             responses={code: {"model": ErrorBody} for code in (400, 413, 415, 422, 429)})
async def create_dataset(request: Request, tenant: TenantDep, session: SessionDep,
                         services: ServicesDep, _rate: UploadLimit) -> DatasetPublic | JSONResponse:
    """Upload a zip of images + captions.jsonl; every file comes back accepted or rejected.
    Per tenant, uploads are rate limited (429 `rate_limited`, Retry-After) before the body is
    read."""
    tenant_id = tenant.id
    await run_in_threadpool(session.rollback)  # no transaction (SQLite: no lock) while we check
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ferrors.NOT_MULTIPART(content_type=content_type[:100])
    async with request.form(max_files=1, max_fields=2) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ferrors.MISSING_UPLOAD()
        name = _form_name(form.get("name"), upload)
        try:
            dataset = await run_in_threadpool(save_dataset, session, services.storage,
                                              services.settings, tenant_id, name, upload.file)
        except ArchiveError as exc:
            log.info("dataset upload by tenant %s refused: %s %s", tenant_id, exc.code, exc.message)
            return ferrors.archive_error_response(exc)
    return await run_in_threadpool(dataset_public, request, dataset)


@router.get("", response_model=DatasetsPublic)
def list_datasets(request: Request, tenant: TenantDep, session: SessionDep, services: ServicesDep,
                  limit: Annotated[int, Query(ge=1, description="lowered to max_page_size")] = 50,
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> DatasetsPublic:
    """The tenant's datasets, newest first."""
    limit = min(limit, services.settings.max_page_size)
    page, total = store_datasets.list_datasets(session, tenant.id, limit=limit, offset=offset)
    summaries = [DatasetSummary(id=d.id, name=d.name, status=d.status,
                                accepted_files=d.accepted_files, rejected_files=d.rejected_files,
                                created_at=as_utc(d.created_at), url=dataset_url(request, d.id))
                 for d in page]
    return DatasetsPublic(datasets=summaries, total=total, limit=limit, offset=offset)


@router.get("/{dataset_id}", response_model=DatasetPublic)
def read_dataset(dataset_id: str, request: Request, tenant: TenantDep,
                 session: SessionDep) -> DatasetPublic:
    """A dataset and the verdict on each of its files."""
    dataset = owned_dataset(session, dataset_id, tenant.id)
    return dataset_public(request, dataset)


def owned_dataset(session: Any, dataset_id: str, tenant_id: str) -> Dataset:
    """The caller's dataset; 404 for unknown ids and other tenants' datasets alike."""
    valid = len(dataset_id) == 32 and all(c in "0123456789abcdef" for c in dataset_id)
    dataset = store_datasets.get_dataset(session, dataset_id, tenant_id) if valid else None
    if dataset is None:
        raise ferrors.DATASET_NOT_FOUND(dataset_id=dataset_id[:64])
    return dataset
