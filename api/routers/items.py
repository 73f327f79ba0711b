"""/v1/jobs/{id}/items, an item's PNG and its round-by-round strip, and the job's contact sheet.

Images are read from object storage (api/stored_objects.py) under the item's `image_path` key
(the strip under `rounds_path`, written by the worker beside the image: worker/strip.py):
the local directory serves the file, S3 streams it or redirects to a presigned URL.
"""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from api import errors
from api.deps import JobDep, ServicesDep, SessionDep, SettingsDep
from api.schemas import ErrorBody, ItemsPublic
from api.sheet import Tile, render_sheet
from api.stored_objects import image_bytes, image_response
from api.views import item_public
from objects import Storage
from store import jobs as store_jobs
from store.models import Item

MAX_INDEX = 2**31 - 1
MAX_OFFSET = 10**9
PNG = {200: {"content": {"image/png": {}}, "description": "a PNG image"}}
PRESIGNED = {"description": "STORAGE_SERVE=presign: the image's short-lived signed URL in the "
             "object store"}
ERRORS = {code: {"model": ErrorBody} for code in (401, 404, 422, 503)}

router = APIRouter(prefix="/v1/jobs", tags=["items"], responses=ERRORS)

Limit = Annotated[int, Query(ge=1, description="lowered to max_page_size")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/{job_id}/items", response_model=ItemsPublic)
def list_items(request: Request, job: JobDep, session: SessionDep, settings: SettingsDep,
               limit: Limit = 50, offset: Offset = 0) -> ItemsPublic:
    """The job's items in index order: prompt, seed, status, control texts, image URL, error."""
    limit = min(limit, settings.max_page_size)
    page = store_jobs.list_items(session, job.id, limit=limit, offset=offset)
    return ItemsPublic(job_id=job.id, items=[item_public(request, item) for item in page],
                       total=job.total_items, limit=limit, offset=offset)


@router.get("/{job_id}/items/{index}/image.png", response_class=FileResponse,
            responses={**PNG, 307: PRESIGNED})
def read_item_image(job: JobDep, session: SessionDep, services: ServicesDep,
                    index: Annotated[int, PathParam(ge=0, le=MAX_INDEX)]) -> Response:
    """The item's final image; 404 until it has one."""
    return item_png(session, services, job.id, index, strip=False)


@router.get("/{job_id}/items/{index}/rounds.png", response_class=FileResponse,
            responses={**PNG, 307: PRESIGNED})
def read_item_rounds(job: JobDep, session: SessionDep, services: ServicesDep,
                     index: Annotated[int, PathParam(ge=0, le=MAX_INDEX)]) -> Response:
    """The item's round-by-round strip: the image of every round it went through, side by
    side, each labelled with its round; its final image when its rounds all drew the same (one
    round included). 404 until it has an image."""
    return item_png(session, services, job.id, index, strip=True)


def item_png(session: SessionDep, services: ServicesDep, job_id: str, index: int, *,
             strip: bool, presign: bool = True) -> Response:
    """The stored PNG of an item of this job (already checked to be the caller's): its final
    image, or (`strip`) its round-by-round strip where it has one."""
    item = store_jobs.get_item(session, job_id, index)
    if item is None:
        raise errors.ITEM_NOT_FOUND(job_id=job_id, index=index)
    if not item.image_path:
        raise errors.IMAGE_NOT_READY(job_id=job_id, index=index, status=item.status)
    key = (item.rounds_path or item.image_path) if strip else item.image_path
    response = image_response(services.storage, services.settings, key, presign=presign)
    if response is None:
        raise errors.IMAGE_MISSING(job_id=job_id, index=index)
    return response


@router.get("/{job_id}/sheet.png", response_class=Response, responses=PNG)
def read_sheet(job: JobDep, session: SessionDep, services: ServicesDep,
               limit: Limit = 100, offset: Offset = 0) -> Response:
    """A contact sheet of the job's items (each image with its last control text under it)."""
    limit = min(limit, services.settings.max_page_size)
    items = store_jobs.list_items(session, job.id, limit=limit, offset=offset)
    tiles = [sheet_tile(services.storage, item) for item in items]
    return Response(render_sheet(tiles), media_type="image/png",
                    headers={"Cache-Control": "no-store"})


def sheet_tile(storage: Storage, item: Item) -> Tile:
    data = image_bytes(storage, item.image_path)
    texts = item.control_texts or []
    caption = (texts[-1] if texts else "") if data is not None else item.status
    return Tile(image=None if data is None else io.BytesIO(data),
                label=f"#{item.index} {item.status}", caption=caption)
