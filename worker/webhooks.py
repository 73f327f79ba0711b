"""The webhook dispatcher: turns committed job rows into deliveries and sends them.

`python -m worker.webhooks` (one per deployment is enough; two are safe). Every
`webhook_poll_seconds` a pass (`dispatch_once`):
1. makes the deliveries that job rows call for (store.webhooks.materialize: a job's final status,
   once committed, always gets its `completed` delivery, even when the worker that committed it
   died a moment later);
2. claims the due ones and sends each: a POST of the stored body, signed the Standard Webhooks
   way afresh for this attempt, with a `webhook_timeout_seconds` timeout, redirects not
   followed, and the target checked again (webhooks/targets.py) in case its name moved;
3. records the attempt: a 2xx delivers it; otherwise the next try follows after
   `webhook_retry_delays_seconds` (5 s, 5 min, 30 min, 2 h), and after the last it is failed.
Clients read every attempt at `GET /v1/jobs/{id}/webhook-deliveries`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.orm import Session

from config import Settings
from store import session_scope
from store.models import utcnow
from store.transient import TRANSIENT_ERRORS
from store.webhooks import DueDelivery, claim_due, materialize, record_attempt, signing_secrets
from webhooks import TargetRefused, check_target, signature_headers
from webhooks.targets import parse_networks
from worker.service import run_until_signalled

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
MAX_ERROR_CHARS = 500
SENDERS = 8  # deliveries sent at once; a slow receiver holds one sender, not the pass


def dispatch_once(sessions: SessionFactory, client: httpx.Client, settings: Settings) -> int:
    """One pass: make, claim, send and record; how many attempts were made."""
    with sessions() as session:
        made = materialize(session, utcnow())
        due = claim_due(session, utcnow(), settings.webhook_timeout_seconds * 2)
        session.commit()
    if made:
        log.info("webhooks: %d deliveries made", made)
    if not due:
        return 0
    with ThreadPoolExecutor(min(SENDERS, len(due))) as pool:
        list(pool.map(lambda d: _attempt(sessions, client, settings, d), due))
    return len(due)


def _attempt(sessions: SessionFactory, client: httpx.Client, settings: Settings,
             due: DueDelivery) -> None:
    with sessions() as session:
        keys = signing_secrets(session, due.tenant_id, utcnow(),
                               settings.webhook_secret_overlap_seconds)
    started = time.perf_counter()
    status_code, error = send(client, settings, due, keys)
    with sessions() as session:
        outcome = record_attempt(session, due, utcnow(), status_code=status_code, error=error,
                                 duration_ms=(time.perf_counter() - started) * 1000,
                                 retry_delays=settings.webhook_retry_delays_seconds)
        session.commit()
    log.info("webhook %s (job %s) attempt %d: %s -> %s", due.id, due.job_id, due.attempt,
             status_code or error, outcome)


def send(client: httpx.Client, settings: Settings, due: DueDelivery,
         keys: list[str]) -> tuple[int | None, str | None]:
    """POST one attempt; (status code, None) or (None, why it could not be sent)."""
    if not keys:
        return None, "the tenant has no webhook secret (POST /v1/webhook-secret)"
    try:
        check_target(due.url, parse_networks(settings.webhook_allowed_networks))
    except TargetRefused as exc:
        return None, f"target refused: {exc}"
    headers = signature_headers(keys, due.id, int(time.time()), due.body)
    try:
        response = client.post(due.url, content=due.body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    return response.status_code, None


def make_client(settings: Settings) -> httpx.Client:
    return httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False,
                        headers={"user-agent": "alpaca-jobs-webhooks/1"})


def run_forever(settings: Settings, stop: threading.Event) -> None:
    """Pass every `webhook_poll_seconds` until `stop`; outages are logged and waited out."""
    url = settings.effective_database_url
    log.info("webhook dispatcher started: every %.1f s", settings.webhook_poll_seconds)
    with make_client(settings) as client:
        while not stop.is_set():
            try:
                sent = dispatch_once(lambda: session_scope(url), client, settings)
            except TRANSIENT_ERRORS as exc:
                log.warning("webhook pass skipped, store unavailable: %s", exc)
                sent = 0
            if not sent:
                stop.wait(settings.webhook_poll_seconds)
    log.info("webhook dispatcher stopped")


def main() -> None:
    """`python -m worker.webhooks`: the dispatch loop, stopped by SIGTERM or Ctrl-C."""
    run_until_signalled(run_forever)


if __name__ == "__main__":
    main()
