"""Prometheus metrics at GET /metrics, in the text exposition format.

Requests (RED): ``http_requests_total`` and ``http_request_duration_seconds`` labelled by
method, route template (``/orders/{order_id}``, never the raw path; ``unmatched`` when no
route matched) and status class (``2xx`` ...), and ``http_requests_in_progress``. A pure
ASGI middleware measures them: it reads the route FastAPI matched after the request was
served and keeps the labelled children it already made, so a request costs a dictionary
look-up and two observations.

Read at scrape time, so never stale: ``circuit_breaker_state{upstream}`` (0 closed,
1 half-open, 2 open) and ``db_pool_connections_in_use`` (when the app has an engine).
``app.state.metrics_refreshers`` holds async callables the endpoint awaits before each
scrape (the outbox gauges query the database there).

The registry is the app's own (not the global default), which keeps several apps in one
process (tests) apart.
"""

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}
UNMATCHED = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATUS_CLASSES = {code: f"{code // 100}xx" for code in range(100, 600)}
# Any other method is counted as OTHER: clients cannot mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})

router = APIRouter(tags=["metrics"])


class BreakerStateCollector(Collector):
    """Reads every breaker's state when Prometheus scrapes."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "circuit_breaker_state",
            "Outbound circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.",
            labels=["upstream"],
        )
        breakers = getattr(self.app.state, "breakers", None)
        if breakers is not None:
            for upstream, state in breakers.states().items():
                gauge.add_metric([upstream], BREAKER_STATE_VALUES[state])
        yield gauge


class DatabasePoolCollector(Collector):
    """Connections of the app's SQLAlchemy pool checked out right now."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        engine = getattr(self.app.state, "engine", None)
        checkedout = getattr(getattr(engine, "pool", None), "checkedout", None)
        if checkedout is None:
            return
        gauge = GaugeMetricFamily(
            "db_pool_connections_in_use", "Database connections checked out of the pool."
        )
        gauge.add_metric([], checkedout())
        yield gauge


class HttpMetrics:
    """The request metrics, and the labelled children made so far."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests served, by method, route template and status class.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to serve an HTTP request, by method, route template and status class.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge(
            "http_requests_in_progress", "HTTP requests being served.", registry=registry
        )
        self.children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method if method in METHODS else "OTHER", route, STATUS_CLASSES.get(status, "5xx"))
        children = self.children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.duration.labels(*key))
            self.children[key] = children
        children[0].inc()
        children[1].observe(elapsed)


class RequestMetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status class."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_progress = self.metrics.in_progress
        in_progress.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            in_progress.dec()
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.observe(scope["method"], route, status, elapsed)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every metric of this process, for Prometheus to scrape."""
    for refresh in request.app.state.metrics_refreshers:
        await refresh()
    body = generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI) -> CollectorRegistry:
    """Create the app's metrics registry, measure every request and serve it at /metrics."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(BreakerStateCollector(app))
    registry.register(DatabasePoolCollector(app))
    app.state.metrics_registry = registry
    refreshers: list[Callable[[], Awaitable[None]]] = []
    app.state.metrics_refreshers = refreshers
    app.state.http_metrics = HttpMetrics(registry)
    app.add_middleware(RequestMetricsMiddleware, metrics=app.state.http_metrics)
    app.include_router(router)
    return registry
