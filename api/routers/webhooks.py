"""Webhooks: the tenant's signing secret (made or rotated, shown once) and a job's deliveries
with every attempt. Sending is the worker-side dispatcher's (worker/webhooks.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import JobDep, SessionDep, TenantDep
from api.schemas import (
    ErrorBody, WebhookAttemptPublic, WebhookDeliveriesPublic, WebhookDeliveryPublic,
    WebhookSecretCreated,
)
from store import webhooks as store_webhooks
from store.models import utcnow
from webhooks import new_secret

router = APIRouter(prefix="/v1", tags=["webhooks"],
                   responses={code: {"model": ErrorBody} for code in (401, 404)})


@router.post("/webhook-secret", status_code=201, response_model=WebhookSecretCreated)
def rotate_webhook_secret(tenant: TenantDep, session: SessionDep) -> WebhookSecretCreated:
    """Make your webhook signing secret, or replace it. Shown only in this answer; the previous
    secret keeps signing (beside the new one) for a day, so receivers can switch over."""
    secret, now = new_secret(), utcnow()
    store_webhooks.rotate_secret(session, tenant.id, secret, now)
    session.commit()
    return WebhookSecretCreated(secret=secret, rotated_at=now)


@router.get("/jobs/{job_id}/webhook-deliveries", response_model=WebhookDeliveriesPublic)
def read_webhook_deliveries(job: JobDep, session: SessionDep) -> WebhookDeliveriesPublic:
    """Every delivery of the job's webhook and every attempt of each."""
    return WebhookDeliveriesPublic(deliveries=[
        WebhookDeliveryPublic(
            id=d.id, event=d.event, url=d.url, status=d.status, created_at=d.created_at,
            delivered_at=d.delivered_at,
            next_attempt_at=d.next_attempt_at if d.status == store_webhooks.PENDING else None,
            attempts=[WebhookAttemptPublic(number=a.number, at=a.at, status_code=a.status_code,
                                           error=a.error, duration_ms=a.duration_ms)
                      for a in attempts])
        for d, attempts in store_webhooks.deliveries_of(session, job.id)])
