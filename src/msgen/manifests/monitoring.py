"""Prometheus and Grafana configuration for the compose system, built from the workspace.

Prometheus scrapes every service's ``/metrics``; Grafana gets Prometheus as its datasource
and one dashboard per service. The metric names the dashboards query are the constants
below, so the service template and these dashboards can be checked against each other.
"""

from __future__ import annotations

from typing import Any

from msgen.manifests.common import GeneratedFile, json_file, yaml_file
from msgen.workspace import ServiceEntry, Workspace

__all__ = [
    "DASHBOARD_METRICS",
    "GRAFANA_DASHBOARDS_DIR",
    "GRAFANA_DASHBOARDS_MOUNT",
    "GRAFANA_PROVISIONING_DIR",
    "MONITORING_DIR",
    "PROMETHEUS_FILE",
    "exposes_metrics",
    "grafana_files",
    "prometheus_config",
    "prometheus_file",
    "scraped_services",
    "service_dashboard",
]

MONITORING_DIR = "deploy/monitoring"
PROMETHEUS_FILE = "deploy/monitoring/prometheus.yml"
GRAFANA_PROVISIONING_DIR = "deploy/monitoring/grafana/provisioning"
GRAFANA_DASHBOARDS_DIR = "deploy/monitoring/grafana/dashboards"
GRAFANA_DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"
DATASOURCE_UID = "prometheus"

# What a generated service exports on /metrics (templates/service/.../metrics.py and
# messaging.py); the dashboards query nothing else, and a test checks these names against a
# running service.
REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
IN_PROGRESS = "http_requests_in_progress"
BREAKER_STATE = "circuit_breaker_state"
DB_POOL_IN_USE = "db_pool_connections_in_use"
OUTBOX_PENDING = "outbox_pending_messages"
OUTBOX_LAG = "outbox_relay_lag_seconds"
CONSUMED = "messages_consumed_total"
FAILED = "messages_failed_total"
DEAD_LETTERED = "messages_dead_lettered_total"
DASHBOARD_METRICS = (
    REQUESTS,
    f"{DURATION}_bucket",
    IN_PROGRESS,
    BREAKER_STATE,
    DB_POOL_IN_USE,
    OUTBOX_PENDING,
    OUTBOX_LAG,
    CONSUMED,
    FAILED,
    DEAD_LETTERED,
)
QUANTILES = (0.5, 0.95, 0.99)
_PANEL_WIDTH = 8
_PANEL_HEIGHT = 8


def exposes_metrics(svc: ServiceEntry) -> bool:
    """Whether the service serves ``/metrics`` (rendered with metrics on; gateways always)."""
    return svc.kind == "gateway" or "metrics" in svc.features


def scraped_services(workspace: Workspace) -> list[str]:
    """The services Prometheus scrapes and Grafana has a dashboard for."""
    return [name for name, svc in workspace.services.items() if exposes_metrics(svc)]


def prometheus_config(workspace: Workspace) -> dict[str, Any]:
    """One scrape job per service with metrics, addressed by its compose name and port."""
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "scrape_configs": [
            {
                "job_name": name,
                "metrics_path": "/metrics",
                "static_configs": [
                    {
                        "targets": [f"{name}:{workspace.services[name].port}"],
                        "labels": {"system": workspace.name},
                    }
                ],
            }
            for name in scraped_services(workspace)
        ],
    }


def prometheus_file(workspace: Workspace, *, regenerate: str) -> GeneratedFile:
    """``deploy/monitoring/prometheus.yml``."""
    return yaml_file(PROMETHEUS_FILE, [prometheus_config(workspace)], regenerate=regenerate)


def _panel(panel_id: int, title: str, targets: list[tuple[str, str]], unit: str) -> dict[str, Any]:
    """A time series panel; ``targets`` are (legend, PromQL) pairs. Placed by ``_grid``."""
    datasource = {"type": "prometheus", "uid": DATASOURCE_UID}
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": datasource,
        "gridPos": {"h": _PANEL_HEIGHT, "w": _PANEL_WIDTH, "x": 0, "y": 0},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "expr": expr,
                "legendFormat": legend,
                "datasource": datasource,
            }
            for index, (legend, expr) in enumerate(targets)
        ],
    }


def _panels(svc: ServiceEntry, job: str) -> list[dict[str, Any]]:
    rate = f"rate({REQUESTS}{{{job}}}[5m])"
    buckets = f"sum by (le) (rate({DURATION}_bucket{{{job}}}[5m]))"
    panels = [
        _panel(
            1, "Requests per second by route", [("{{route}}", f"sum by (route) ({rate})")], "reqps"
        ),
        _panel(
            2,
            "Error ratio (5xx)",
            [
                (
                    "5xx",
                    f'sum(rate({REQUESTS}{{{job},status="5xx"}}[5m])) / sum({rate})',
                )
            ],
            "percentunit",
        ),
        _panel(
            3,
            "Latency p50 / p95 / p99",
            [(f"p{round(q * 100)}", f"histogram_quantile({q}, {buckets})") for q in QUANTILES],
            "s",
        ),
        _panel(4, "Requests in flight", [("in flight", f"sum({IN_PROGRESS}{{{job}}})")], "short"),
    ]
    if svc.kind != "gateway" and svc.db != "none":
        panels.append(
            _panel(
                5,
                "Database connections in use",
                [("in use", f"{DB_POOL_IN_USE}{{{job}}}")],
                "short",
            )
        )
    if svc.broker != "none":
        panels.append(
            _panel(
                6,
                "Outbox: relay lag and pending events",
                [
                    ("lag (s)", f"{OUTBOX_LAG}{{{job}}}"),
                    ("pending", f"{OUTBOX_PENDING}{{{job}}}"),
                ],
                "short",
            )
        )
    if svc.consumes:
        panels.append(
            _panel(
                7,
                "Messages per second",
                [
                    (label, f"sum(rate({metric}{{{job}}}[5m]))")
                    for label, metric in (
                        ("consumed", CONSUMED),
                        ("failed attempts", FAILED),
                        ("dead-lettered", DEAD_LETTERED),
                    )
                ],
                "short",
            )
        )
    if svc.upstreams:
        panels.append(
            _panel(
                8,
                "Circuit breakers (0 closed, 1 half-open, 2 open)",
                [("{{upstream}}", f"max by (upstream) ({BREAKER_STATE}{{{job}}})")],
                "short",
            )
        )
    per_row = 24 // _PANEL_WIDTH
    for index, panel in enumerate(panels):
        panel["gridPos"]["x"] = (index % per_row) * _PANEL_WIDTH
        panel["gridPos"]["y"] = (index // per_row) * _PANEL_HEIGHT
    return panels


def service_dashboard(workspace: Workspace, name: str) -> dict[str, Any]:
    """Rate, errors, latency quantiles and the service's own gauges, for one service."""
    return {
        "uid": f"msgen-{name}"[:40],
        "title": f"{workspace.name} / {name}",
        "tags": ["msgen", workspace.name],
        "timezone": "",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": _panels(workspace.services[name], f'job="{name}"'),
    }


def grafana_files(workspace: Workspace, *, regenerate: str) -> list[GeneratedFile]:
    """Datasource and dashboard provisioning, and one dashboard JSON per service."""
    datasource = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": "http://prometheus:9090",
                "isDefault": True,
                "editable": False,
            }
        ],
    }
    provider = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "msgen",
                "folder": workspace.name,
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "options": {"path": GRAFANA_DASHBOARDS_MOUNT},
            }
        ],
    }
    files = [
        yaml_file(
            f"{GRAFANA_PROVISIONING_DIR}/datasources/prometheus.yml",
            [datasource],
            regenerate=regenerate,
        ),
        yaml_file(
            f"{GRAFANA_PROVISIONING_DIR}/dashboards/msgen.yml", [provider], regenerate=regenerate
        ),
    ]
    files += [
        json_file(
            f"{GRAFANA_DASHBOARDS_DIR}/{name}.json",
            service_dashboard(workspace, name),
            regenerate=regenerate,
        )
        for name in scraped_services(workspace)
    ]
    return files
