"""`GET /metrics`: what operators scrape with Prometheus (and autoscalers such as KEDA read).

Two sources, both safe with several uvicorn processes:
- read at scrape time, so every process reports the same values: Celery queue lengths from the
  broker's Redis, jobs by status and finished items by model from the store (store/stats.py),
  item model time and queue wait as histograms bucketed in SQL, worker processes alive;
- measured in this process: the submit latency histogram. With `PROMETHEUS_MULTIPROC_DIR` set
  (the documented multi-process mode of prometheus-client), every process writes its samples
  there and a scrape merges them.

The endpoint is off until `METRICS_TOKEN` is set; a scrape then sends it as a bearer token
(Prometheus `authorization: {credentials: ...}`). Names follow Prometheus conventions: base
units, `_total` for counters, `_seconds` for durations.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator

import redis
from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import (
    CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import Services, ServicesDep
from api.errors import ApiError
from api.redis_client import REDIS_ERRORS, redis_client
from store import stats
from worker.celery_app import LIVENESS_PREFIX, MAX_PRIORITY, QUEUE_FOR_KIND

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SUBMIT_PATHS = frozenset({"/v1/jobs", "/v1/finetunes"})
LATENCY_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MODEL_TIME_BOUNDS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)
QUEUE_WAIT_BOUNDS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0, 7200.0)

PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)
SUBMIT_SECONDS = Histogram(
    "alpaca_submit_duration_seconds", "Time to accept or refuse a submission (POST), by path.",
    ["path", "code"], buckets=LATENCY_BOUNDS, registry=PROCESS_REGISTRY)


class SubmitTimer:
    """ASGI middleware: observe the duration of every POST to a submit path, by path and
    status code (pure ASGI: Starlette's BaseHTTPMiddleware would cost every request a task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in SUBMIT_PATHS:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            SUBMIT_SECONDS.labels(scope["path"], str(status[0])).observe(
                time.perf_counter() - started)


@router.get("/metrics", include_in_schema=False)
def read_metrics(request: Request, services: ServicesDep) -> Response:
    _check_token(request, services.settings.metrics_token)
    return Response(generate_latest(scrape_registry(services)), media_type=CONTENT_TYPE_LATEST)


def _check_token(request: Request, token: str) -> None:
    if not token:
        raise ApiError(404, "metrics_disabled", "metrics are off: set METRICS_TOKEN to enable")
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), token.encode()):
        raise ApiError(401, "unauthorized", "send the metrics token as a bearer token")


def scrape_registry(services: Services) -> CollectorRegistry:
    """A registry for one scrape: this process's (or all processes') samples, plus the
    collectors that read the broker and the store now."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessSamples())
    registry.register(BrokerCollector(services))
    registry.register(StoreCollector(services))
    return registry


class _ProcessSamples:
    """This process's own metrics (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from PROCESS_REGISTRY.collect()


class BrokerCollector:
    """Queue length per Celery queue, and worker processes alive."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        lengths = GaugeMetricFamily("alpaca_queue_length", "Messages waiting in a Celery queue "
                                    "(every priority), not yet taken by a worker.",
                                    labels=["queue"])
        workers = GaugeMetricFamily("alpaca_workers_online", "Worker processes whose liveness "
                                    "key is fresh.")
        settings = self.services.settings
        try:
            with redis_client(str(self.services.celery.conf.broker_url),
                              settings.broker_timeout_seconds) as client:
                for queue, length in queue_lengths(client).items():
                    lengths.add_metric([queue], length)
                workers.add_metric([], workers_alive(client))
        except REDIS_ERRORS as exc:
            log.warning("metrics: broker unavailable: %s", exc)
            return
        yield lengths
        yield workers


def queue_lengths(client: redis.Redis) -> dict[str, int]:
    """Messages per queue; kombu keeps priority p of queue q in the list `q:p` (`q` for 0)."""
    queues = sorted(set(QUEUE_FOR_KIND.values()))
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for priority in range(MAX_PRIORITY + 1):
            pipe.llen(queue if priority == 0 else f"{queue}:{priority}")
    counts = pipe.execute()
    steps = MAX_PRIORITY + 1
    return {queue: sum(counts[i * steps:(i + 1) * steps]) for i, queue in enumerate(queues)}


def workers_alive(client: redis.Redis) -> int:
    """Worker processes whose liveness key (worker/liveness.py) has not expired."""
    return sum(1 for _ in client.scan_iter(match=f"{LIVENESS_PREFIX}*", count=500))


class StoreCollector:
    """Jobs by status, finished items by model, item model time and queue wait."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        try:
            with self.services.sessions() as session:
                families = list(store_families(session))
        except SQLAlchemyError as exc:
            log.warning("metrics: store unavailable: %s", exc)
            return
        yield from families


def store_families(session) -> Iterator[Metric]:  # noqa: ANN001 - a Session
    jobs = GaugeMetricFamily("alpaca_jobs", "Jobs in the store by kind and status.",
                             labels=["kind", "status"])
    for (kind, status), count in sorted(stats.jobs_by_status(session).items()):
        jobs.add_metric([kind, status], count)
    yield jobs
    items = CounterMetricFamily("alpaca_items_finished", "Items that finished, by model and "
                                "outcome (succeeded or failed).", labels=["model", "outcome"])
    for (model, status), count in sorted(stats.finished_items_by_model(session).items()):
        items.add_metric([model, status], count)
    yield items
    yield _histogram("alpaca_item_model_seconds", "Model time per item.",
                     stats.item_model_seconds(session, MODEL_TIME_BOUNDS))
    yield _histogram("alpaca_item_queue_wait_seconds", "From an item's submission to its start "
                     "on a worker.", stats.item_queue_wait_seconds(session, QUEUE_WAIT_BOUNDS))


def _histogram(name: str, documentation: str, buckets: stats.Buckets) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation)
    pairs = [(_bound(b), c) for b, c in zip(buckets.bounds, buckets.counts, strict=True)]
    family.add_metric([], [*pairs, ("+Inf", buckets.count)], buckets.total)
    return family


def _bound(value: float) -> str:
    return repr(float(value))
