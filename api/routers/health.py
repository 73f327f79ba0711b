"""/healthz: is the database answering (SELECT 1) and is the broker answering (PING)? No auth.

200 when both are, 503 with Retry-After and the failing check named when either is not. Probes
use short timeouts so that a dead dependency cannot hang the health check itself.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import Services, ServicesDep
from api.redis_client import REDIS_ERRORS, redis_client
from api.schemas import Health

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def read_health(services: ServicesDep, response: Response) -> Health:
    checks = {"database": check_database(services), "broker": check_broker(services)}
    if all(result == "ok" for result in checks.values()):
        return Health(status="ok", checks=checks)
    log.warning("health check failed: %s", checks)
    response.status_code = 503
    response.headers["Retry-After"] = str(services.settings.retry_after_seconds)
    return Health(status="unavailable", checks=checks)


def check_database(services: Services) -> str:
    try:
        with services.sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def check_broker(services: Services) -> str:
    timeout = services.settings.broker_timeout_seconds
    try:
        client = redis_client(str(services.celery.conf.broker_url), timeout)
        with client:
            client.ping()
    except REDIS_ERRORS as exc:
        return f"unavailable ({type(exc).__name__})"
    return "ok"

