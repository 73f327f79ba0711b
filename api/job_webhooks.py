"""A job's webhook at submit time: checked (a 422 naming what is wrong), then subscribed in the
transaction that creates the job, so a stored job and its webhook are one commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api import errors
from api.schemas import JobCreate
from config import Settings
from store import webhooks as store_webhooks
from webhooks import TargetRefused, check_target
from webhooks.targets import parse_networks


def check_job_webhook(body: JobCreate, session: Session, settings: Settings,
                      tenant_id: str) -> None:
    """Raise the ApiError for a webhook that could not be sent: no signing secret yet, or a
    target that is not http(s) or not public (unless WEBHOOK_ALLOWED_NETWORKS allows it)."""
    if body.webhook_url is None:
        if body.webhook_events is not None:
            raise errors.WEBHOOK_URL_REFUSED(reason="is required when webhook_events is given")
        return
    try:
        check_target(body.webhook_url, parse_networks(settings.webhook_allowed_networks))
    except TargetRefused as exc:
        raise errors.WEBHOOK_URL_REFUSED(reason=str(exc)) from None
    if not store_webhooks.has_secret(session, tenant_id):
        raise errors.WEBHOOK_SECRET_MISSING()


def subscribe_job(body: JobCreate, session: Session, job_id: str, tenant_id: str) -> None:
    """Record the job's webhook (if any) in the session's transaction."""
    if body.webhook_url is not None:
        events = sorted(set(body.webhook_events or store_webhooks.DEFAULT_EVENTS))
        store_webhooks.subscribe(session, job_id, tenant_id, body.webhook_url, events)
