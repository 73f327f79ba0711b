"""/v1/jobs/{id}/items, an item's PNG, and the job's contact sheet.

Images are read from the storage directory (settings.effective_storage_dir) at the item's
relative `image_path`; a path that would leave that directory is treated as missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from api import errors
from api.deps import JobDep, SessionDep, SettingsDep
from api.schemas import ErrorBody, ItemsPublic
from api.sheet import Tile, render_sheet
from api.views import item_public
from config import Settings
from store import jobs as store_jobs
from store.models import Item

MAX_INDEX = 2**31 - 1
MAX_OFFSET = 10**9
PNG = {200: {"content": {"image/png": {}}, "description": "a PNG image"}}
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


@router.get("/{job_id}/items/{index}/image.png", response_class=FileResponse, responses=PNG)
def read_item_image(job: JobDep, session: SessionDep, settings: SettingsDep,
                    index: Annotated[int, PathParam(ge=0, le=MAX_INDEX)]) -> FileResponse:
    """The item's final image; 404 until it has one."""
    item = store_jobs.get_item(session, job.id, index)
    if item is None:
        raise errors.ITEM_NOT_FOUND(job_id=job.id, index=index)
    if not item.image_path:
        raise errors.IMAGE_NOT_READY(job_id=job.id, index=index, status=item.status)
    path = stored_image(settings, item)
    if path is None:
        raise errors.IMAGE_MISSING(job_id=job.id, index=index)
    return FileResponse(path, media_type="image/png",
                        headers={"Cache-Control": "private, max-age=86400"})


@router.get("/{job_id}/sheet.png", response_class=Response, responses=PNG)
def read_sheet(job: JobDep, session: SessionDep, settings: SettingsDep,
               limit: Limit = 100, offset: Offset = 0) -> Response:
    """A contact sheet of the job's items (each image with its last control text under it)."""
    limit = min(limit, settings.max_page_size)
    items = store_jobs.list_items(session, job.id, limit=limit, offset=offset)
    tiles = [sheet_tile(settings, item) for item in items]
    return Response(render_sheet(tiles), media_type="image/png",
                    headers={"Cache-Control": "no-store"})


def stored_image(settings: Settings, item: Item) -> Path | None:
    """The item's PNG on disk, or None if missing or outside the storage directory."""
    if not item.image_path:
        return None
    root = settings.effective_storage_dir.resolve()
    path = (root / item.image_path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def sheet_tile(settings: Settings, item: Item) -> Tile:
    path = stored_image(settings, item)
    texts = item.control_texts or []
    caption = (texts[-1] if texts else "") if path is not None else item.status
    return Tile(image_path=path, label=f"#{item.index} {item.status}", caption=caption)
