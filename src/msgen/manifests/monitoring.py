"""Prometheus and Grafana configuration for the compose system, built from the workspace.

Prometheus scrapes every service's ``/metrics``; Grafana gets Prometheus as its datasource
and one dashboard per service. The metric names the dashboards query are the constants
below, so the service template and these dashboards can be checked against each other.
"""

from __future__ import annotations

from typing import Any

from msgen.manifests.common import GeneratedFile, json_file, yaml_file
from msgen.workspace import Workspace

__all__ = [
    "DASHBOARD_METRICS",
    "GRAFANA_DASHBOARDS_DIR",
    "GRAFANA_DASHBOARDS_MOUNT",
    "GRAFANA_PROVISIONING_DIR",
    "MONITORING_DIR",
    "PROMETHEUS_FILE",
    "grafana_files",
    "prometheus_config",
    "prometheus_file",
    "service_dashboard",
]

MONITORING_DIR = "deploy/monitoring"
PROMETHEUS_FILE = "deploy/monitoring/prometheus.yml"
GRAFANA_PROVISIONING_DIR = "deploy/monitoring/grafana/provisioning"
GRAFANA_DASHBOARDS_DIR = "deploy/monitoring/grafana/dashboards"
GRAFANA_DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"
DATASOURCE_UID = "prometheus"

# The metrics each service exports on /metrics that the dashboards chart.
REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
DASHBOARD_METRICS = (REQUESTS, f"{DURATION}_bucket")


def prometheus_config(workspace: Workspace) -> dict[str, Any]:
    """One scrape job per service, addressed by its compose service name and port."""
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "scrape_configs": [
            {
                "job_name": name,
                "metrics_path": "/metrics",
                "static_configs": [
                    {"targets": [f"{name}:{svc.port}"], "labels": {"system": workspace.name}}
                ],
            }
            for name, svc in workspace.services.items()
        ],
    }


def prometheus_file(workspace: Workspace, *, regenerate: str) -> GeneratedFile:
    """``deploy/monitoring/prometheus.yml``."""
    return yaml_file(PROMETHEUS_FILE, [prometheus_config(workspace)], regenerate=regenerate)


def _panel(panel_id: int, title: str, expr: str, unit: str, x: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": DATASOURCE_UID},
        "gridPos": {"h": 8, "w": 8, "x": x, "y": 0},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {
                "refId": "A",
                "expr": expr,
                "datasource": {"type": "prometheus", "uid": DATASOURCE_UID},
            }
        ],
    }


def service_dashboard(workspace: Workspace, name: str) -> dict[str, Any]:
    """Request rate, error ratio and p95 latency of one service."""
    job = f'job="{name}"'
    return {
        "uid": f"msgen-{name}"[:40],
        "title": f"{workspace.name} / {name}",
        "tags": ["msgen", workspace.name],
        "timezone": "",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": [
            _panel(1, "Requests per second", f"sum(rate({REQUESTS}{{{job}}}[5m]))", "reqps", 0),
            _panel(
                2,
                "Error ratio (5xx)",
                f'sum(rate({REQUESTS}{{{job},status=~"5.."}}[5m]))'
                f" / sum(rate({REQUESTS}{{{job}}}[5m]))",
                "percentunit",
                8,
            ),
            _panel(
                3,
                "Latency p95",
                f"histogram_quantile(0.95, sum by (le) (rate({DURATION}_bucket{{{job}}}[5m])))",
                "s",
                16,
            ),
        ],
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
        for name in workspace.services
    ]
    return files
