"""The FastAPI application: `create_app(settings)` for tests and tools, `app` for uvicorn.

`uvicorn api.main:app` builds the app on first attribute access (PEP 562), inside the server
process; importing this module builds nothing, connects to nothing and reads no settings. Each
server process opens its database pool at start-up (`lifespan`, `Services.warm_up`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.deps import Services
from api.docs_assets import install_docs
from api.errors import install_error_handlers
from api.metrics import SubmitTimer
from api.metrics import router as metrics_router
from api.routers import datasets, finetunes, gallery, health, items, jobs, models, webhooks
from api.upload_limits import PathBodySizeLimit
from config import Settings, get_settings

DESCRIPTION = """Batch creative generation with the Alpaca model.

Submit a batch of briefs (`POST /v1/jobs`), poll the job's `url`, then fetch the items, their
PNGs and a contact sheet. Authenticate with `Authorization: Bearer <key>`; make a key with
`python -m api.keys create --tenant NAME`. Every error has the body
`{"error": {"code": "...", "message": "..."}}`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up of each server process: its database pool is opened before it takes requests."""
    await run_in_threadpool(app.state.services.warm_up)
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app bound to `settings` (default: the process settings)."""
    settings = settings or get_settings()
    app = FastAPI(title="alpaca-jobs", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # served with their own assets (api.docs_assets)
    app.state.services = Services(settings)
    app.add_middleware(PathBodySizeLimit, max_bytes=settings.max_body_bytes,
                       path_limits={"/v1/datasets": settings.max_dataset_bytes})
    install_error_handlers(app)
    app.add_middleware(SubmitTimer)
    for module in (jobs, items, models, datasets, finetunes, webhooks, gallery, health):
        app.include_router(module.router)
    app.include_router(metrics_router)
    install_docs(app)
    return app


def __getattr__(name: str) -> Any:
    """Build the module-level `app` lazily, for `uvicorn api.main:app`."""
    if name == "app":
        globals()["app"] = application = create_app()
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
