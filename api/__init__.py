"""The HTTP API (FastAPI): routers under /v1, schemas, auth, errors. Never imports torch."""
