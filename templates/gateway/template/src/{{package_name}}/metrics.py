"""Prometheus metrics at GET /metrics, in the text exposition format.

``circuit_breaker_state{upstream}`` reports each outbound circuit breaker (0 closed,
1 half-open, 2 open), read from the process's ``BreakerRegistry`` at scrape time, so the
value is never stale. The registry is the app's own (not the global default), which keeps
several apps in one process (tests) apart.
"""

from collections.abc import Iterator

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}

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


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every metric of this process, for Prometheus to scrape."""
    body = generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI) -> None:
    """Create the app's metrics registry and serve it at /metrics."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(BreakerStateCollector(app))
    app.state.metrics_registry = registry
    app.include_router(router)
