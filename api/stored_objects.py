"""Reading stored objects (objects/) for HTTP: an item's image as a response, or its bytes.

The local backend serves the file itself (`FileResponse`: sendfile, ETag, ranges), after
checking that the key resolves inside the storage root (a key, or a link below the root, that
would leave it is treated as missing). S3 either streams the object through the API or, with
STORAGE_SERVE=presign, answers 307 to a presigned URL valid for STORAGE_PRESIGN_SECONDS (no round
trip to the store: a committed row's object exists, since objects are stored before rows).
"""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from starlette.responses import Response

from config import Settings
from objects import LocalStorage, ObjectNotFound, Storage, check_key

IMAGE_CACHE = {"Cache-Control": "private, max-age=86400"}
REDIRECT_CACHE = {"Cache-Control": "private, no-store"}  # the signed URL expires


def local_file(storage: LocalStorage, key: str) -> Path | None:
    """The file under the root that holds `key`, or None if missing or outside the root."""
    root = storage.root.resolve()
    path = (root / key).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def valid_key(key: str | None) -> str | None:
    """`key` if it is a well-formed object key (rows written by hand may hold anything)."""
    try:
        return check_key(key) if key else None
    except ValueError:
        return None


def image_response(storage: Storage, settings: Settings, key: str | None,
                   presign: bool = True) -> Response | None:
    """The PNG under `key` as a response, or None if there is no such object. `presign`: an S3
    object may be answered with a redirect to a signed URL when the settings ask for it."""
    key = valid_key(key)
    if key is None:
        return None
    if isinstance(storage, LocalStorage):
        path = local_file(storage, key)
        return None if path is None else FileResponse(path, media_type="image/png",
                                                      headers=IMAGE_CACHE)
    if presign and settings.storage_serve == "presign":
        url = storage.presigned_url(key, settings.storage_presign_seconds)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers=REDIRECT_CACHE)
    try:
        chunks = storage.stream(key)
    except ObjectNotFound:
        return None
    return StreamingResponse(chunks, media_type="image/png", headers=IMAGE_CACHE)


def image_bytes(storage: Storage, key: str | None) -> bytes | None:
    """The object under `key`, or None if there is none (or the key is malformed or leaves a
    local root)."""
    key = valid_key(key)
    if key is None:
        return None
    if isinstance(storage, LocalStorage):
        path = local_file(storage, key)
        return None if path is None else path.read_bytes()
    try:
        return storage.get(key)
    except ObjectNotFound:
        return None
