"""Object storage for images, sheets, datasets and checkpoints: one `Storage` interface, two
backends (a local directory, S3-compatible object storage), chosen by settings.

    storage = get_storage(get_settings())
    stored = write_content(storage, pngs)        # [(key, sha256)], durable on return
    ... commit the rows that name the keys ...

`get_storage` reads STORAGE_URL: empty means the local directory STORAGE_DIR (default
var/storage, `make demo`); `s3://bucket/prefix` means S3 with S3_ENDPOINT_URL (empty: AWS),
S3_REGION, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (empty: the usual AWS_* environment).
This package imports config and obstore only (tests/test_boundaries.py).
"""

from __future__ import annotations

from config.settings import Settings
from objects.base import ObjectNotFound, Storage, check_key, content_key, write_content
from objects.local import LocalStorage

__all__ = ["LocalStorage", "ObjectNotFound", "Storage", "check_key", "content_key",
           "get_storage", "write_content"]


def get_storage(settings: Settings) -> Storage:
    """The backend the settings name (built on each call: cheap, and never before a fork)."""
    if not settings.storage_url:
        return LocalStorage(settings.effective_storage_dir, sync=settings.storage_local_sync)
    from objects.s3 import S3Storage  # obstore is loaded only where S3 is used

    return S3Storage(settings.storage_url, endpoint=settings.s3_endpoint_url,
                     region=settings.s3_region, access_key_id=settings.s3_access_key_id,
                     secret_access_key=settings.s3_secret_access_key)
