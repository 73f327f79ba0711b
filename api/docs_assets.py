"""The API's documentation pages served with their own assets, so they work without internet.

FastAPI's default /docs and /redoc load Swagger UI and ReDoc from a CDN: on a machine with no
route out (GPU clusters often have none) both pages stay blank. Following FastAPI's self-hosting
recipe, the app is built with `docs_url=None, redoc_url=None` and this module mounts the files of
the installed `fastapi-offline` package (Swagger UI 5, which reads OpenAPI 3.1, ReDoc 2 and a
favicon; only its static files are used) under ASSETS_PATH and serves /docs, its OAuth2 redirect
page and /redoc pointing at them. Swagger UI's online validator badge is off: it calls out too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (get_redoc_html, get_swagger_ui_html,
                                  get_swagger_ui_oauth2_redirect_html)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PACKAGE = "fastapi_offline"  # its static/ holds the files below
ASSETS_PATH = "/docs-assets"
SWAGGER_JS, SWAGGER_CSS = "swagger-ui-bundle.js", "swagger-ui.css"
REDOC_JS, FAVICON = "redoc.standalone.js", "favicon.png"
DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL = "/docs", "/redoc", "/docs/oauth2-redirect"


def assets_dir() -> Path:
    """The installed package's static folder, found without importing the package."""
    spec = importlib.util.find_spec(ASSETS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the docs' assets need the '{ASSETS_PACKAGE.replace('_', '-')}' "
                           "package (pip install the project)")
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    missing = [name for name in (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON)
               if not (static / name).is_file()]
    if missing:
        raise RuntimeError(f"{static} lacks {', '.join(missing)}")
    return static


def install_docs(app: FastAPI) -> None:
    """Mounts the assets and adds /docs, its OAuth2 redirect and /redoc to `app`."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_dir()), name="docs-assets")
    title = f"{app.title} - API docs"

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui_html() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=title,
            swagger_js_url=f"{ASSETS_PATH}/{SWAGGER_JS}",
            swagger_css_url=f"{ASSETS_PATH}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{ASSETS_PATH}/{FAVICON}",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL, swagger_ui_parameters={"validatorUrl": None})

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc_html() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url or "/openapi.json", title=title,
                              redoc_js_url=f"{ASSETS_PATH}/{REDOC_JS}",
                              redoc_favicon_url=f"{ASSETS_PATH}/{FAVICON}", with_google_fonts=False)
