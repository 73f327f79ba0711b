"""/gallery/{job_id}: a job's page for people, opened with the share token of its `gallery_url`
(api/share.py), since a browser cannot send the API key. Its images, the items' round-by-round
strips (`/items/{i}/rounds.png`) and its font come from here too, under the same token. A token
for another job is a 404, an expired one a 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse

from api import errors
from api.deps import ServicesDep, SessionDep, SettingsDep
from api.gallery_page import STATUSES, Card, render
from api.routers.items import MAX_INDEX, item_png
from api.share import ShareTokenExpired, ShareTokenInvalid, check_token, share_key
from api.sheet import packaged_cjk_font
from config import Settings
from store import jobs as store_jobs
from store.models import Item, Job

router = APIRouter(prefix="/gallery", tags=["gallery"], include_in_schema=False)

Token = Annotated[str, Query(min_length=3, max_length=200)]
StatusFilter = Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")]
SHARE_EXPIRED = errors.ErrorKind(403, "share_link_expired",
                                 "this gallery link has expired; ask the API for a new one")
MAX_ITEMS_SHOWN = 1000  # a job's limit; the page lists every item at once


@router.get("/{job_id}", response_class=HTMLResponse, name="read_gallery")
def read_gallery(request: Request, job_id: str, token: Token, session: SessionDep,
                 settings: SettingsDep, status: StatusFilter = None) -> HTMLResponse:
    job = _shared_job(session, settings, job_id, token)
    items = store_jobs.list_items(session, job.id, limit=MAX_ITEMS_SHOWN)
    cards = [_card(request, item, token) for item in items if status in (None, item.status)]
    page_url = str(request.url_for("read_gallery", job_id=job.id).include_query_params(token=token))
    font_url = str(request.url_for("read_gallery_font", job_id=job.id)
                   .include_query_params(token=token))
    summary = {"id": job.id, "status": job.status, "done": job.done_items, "total": job.total_items,
               "failed": job.failed_items, "model": str(job.params.get("model", "default"))}
    return HTMLResponse(render(summary, cards, page_url=page_url, font_url=font_url, status=status),
                        headers={"Cache-Control": "private, no-store",
                                 "Content-Security-Policy": "default-src 'self'; "
                                 "style-src 'unsafe-inline'; img-src 'self'; font-src 'self'",
                                 "Referrer-Policy": "no-referrer"})


@router.get("/{job_id}/items/{index}.png", response_class=FileResponse, name="read_gallery_image")
def read_gallery_image(job_id: str, token: Token, session: SessionDep, services: ServicesDep,
                       index: Annotated[int, PathParam(ge=0, le=MAX_INDEX)]) -> Response:
    """The item's image, always through the API: the page's Content-Security-Policy allows
    images from this origin only, so no redirect to the object store."""
    job = _shared_job(session, services.settings, job_id, token)
    return item_png(session, services, job.id, index, strip=False, presign=False)


@router.get("/{job_id}/items/{index}/rounds.png", response_class=FileResponse,
            name="read_gallery_rounds")
def read_gallery_rounds(job_id: str, token: Token, session: SessionDep, services: ServicesDep,
                        index: Annotated[int, PathParam(ge=0, le=MAX_INDEX)]) -> Response:
    """The item's round-by-round strip (its image where its rounds all drew the same), under
    the same token and through the API, as the image."""
    job = _shared_job(session, services.settings, job_id, token)
    return item_png(session, services, job.id, index, strip=True, presign=False)


@router.get("/{job_id}/font", response_class=FileResponse, name="read_gallery_font")
def read_gallery_font(job_id: str, token: Token, session: SessionDep,
                      settings: SettingsDep) -> FileResponse:
    _shared_job(session, settings, job_id, token)
    path = packaged_cjk_font()
    if path is None:
        raise errors.ErrorKind(404, "font_missing", "the CJK font package is not installed")()
    return FileResponse(path, media_type="font/collection",
                        headers={"Cache-Control": "private, max-age=604800, immutable"})


def _shared_job(session: SessionDep, settings: Settings, job_id: str, token: str) -> Job:
    try:
        check_token(share_key(settings), job_id, token)
    except ShareTokenInvalid:
        raise errors.JOB_NOT_FOUND(job_id=job_id[:64]) from None
    except ShareTokenExpired:
        raise SHARE_EXPIRED() from None
    job = session.get(Job, job_id)
    if job is None:
        raise errors.JOB_NOT_FOUND(job_id=job_id[:64])
    return job


def _card(request: Request, item: Item, token: str) -> Card:
    def url(name: str) -> str:
        return str(request.url_for(name, job_id=item.job_id, index=item.index)
                   .include_query_params(token=token))

    return Card(index=item.index, status=item.status, prompt=item.prompt,
                image_url=url("read_gallery_image") if item.image_path else None,
                rounds_url=url("read_gallery_rounds") if item.rounds_path else None,
                control_texts=item.control_texts or [], payload=item.payload,
                error=f"{item.error_code}: {item.error}" if item.error_code else None)

