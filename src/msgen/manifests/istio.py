"""Istio traffic management and security under ``deploy/istio/``, built from the workspace.

Per service: a VirtualService with weighted routes across its version subsets (timeouts,
retries), a DestinationRule with those subsets, connection-pool limits, outlier detection
(the mesh's circuit breaker) and ISTIO_MUTUAL TLS, and an AuthorizationPolicy that admits
only the services that declare it as an upstream. The gateway service also gets an Istio
Gateway and a VirtualService bound to it. One mesh-wide PeerAuthentication makes mTLS
STRICT; probes and metrics keep working through Istio's probe rewriting and metrics
merging (see the pod annotations in :mod:`msgen.manifests.k8s`).
"""

from __future__ import annotations

from typing import Any

from msgen.manifests.common import GeneratedFile, kustomization_file, yaml_file
from msgen.manifests.k8s import Resource, versions_of
from msgen.workspace import Workspace

__all__ = ["ISTIO_DIR", "REGENERATE", "istio_files", "mesh_resources", "service_mesh_resources"]

ISTIO_DIR = "deploy/istio"
REGENERATE = "msgen mesh generate"
NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
ROUTE_TIMEOUT = "10s"
# Retry only failures where the request cannot have reached the application.
RETRIES = {"attempts": 3, "perTryTimeout": "3s", "retryOn": "connect-failure,refused-stream,reset"}


def _labels(workspace: Workspace, name: str) -> dict[str, str]:
    return {
        "app": name,
        "app.kubernetes.io/part-of": workspace.name,
        "app.kubernetes.io/managed-by": "msgen",
    }


def _callers(workspace: Workspace, name: str) -> list[str]:
    """The services that declare ``name`` as an upstream, in workspace order."""
    return [
        caller
        for caller, svc in workspace.services.items()
        if name in svc.upstreams and caller != name
    ]


def _route(name: str, port: int, weights: dict[str, int]) -> dict[str, Any]:
    return {
        "route": [
            {
                "destination": {"host": name, "subset": version, "port": {"number": port}},
                "weight": weight,
            }
            for version, weight in weights.items()
        ],
        "timeout": ROUTE_TIMEOUT,
        "retries": dict(RETRIES),
    }


def gateway_name(workspace: Workspace) -> str:
    """The Istio Gateway object of the system."""
    return f"{workspace.name}-gateway"


def service_mesh_resources(workspace: Workspace, name: str) -> dict[str, Resource]:
    """The Istio objects of one service, keyed by the file name they are written to."""
    svc = workspace.services[name]
    weights = versions_of(svc)
    labels = _labels(workspace, name)
    resources: dict[str, Resource] = {
        "destinationrule.yaml": Resource(
            NETWORKING,
            "DestinationRule",
            name,
            labels=labels,
            body={
                "spec": {
                    "host": name,
                    "trafficPolicy": {
                        "tls": {"mode": "ISTIO_MUTUAL"},
                        "connectionPool": {
                            "tcp": {"maxConnections": 100, "connectTimeout": "3s"},
                            "http": {
                                "http1MaxPendingRequests": 100,
                                "http2MaxRequests": 1000,
                                "maxRetries": 3,
                            },
                        },
                        "outlierDetection": {
                            "consecutive5xxErrors": 5,
                            "interval": "10s",
                            "baseEjectionTime": "30s",
                            "maxEjectionPercent": 50,
                        },
                    },
                    "subsets": [
                        {"name": version, "labels": {"version": version}} for version in weights
                    ],
                }
            },
        ),
        "virtualservice.yaml": Resource(
            NETWORKING,
            "VirtualService",
            name,
            labels=labels,
            body={"spec": {"hosts": [name], "http": [_route(name, svc.port, weights)]}},
        ),
    }
    if svc.kind == "gateway":
        resources["virtualservice-ingress.yaml"] = Resource(
            NETWORKING,
            "VirtualService",
            f"{name}-ingress",
            labels=labels,
            body={
                "spec": {
                    "hosts": ["*"],
                    "gateways": [gateway_name(workspace)],
                    "http": [_route(name, svc.port, weights)],
                }
            },
        )
        rules: list[dict[str, Any]] = [{}]
    else:
        callers = _callers(workspace, name)
        principals = [f"*/sa/{caller}" for caller in callers]
        rules = [{"from": [{"source": {"principals": principals}}]}] if callers else []
    policy: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "action": "ALLOW"}
    if rules:
        policy["rules"] = rules
    resources["authorizationpolicy.yaml"] = Resource(
        SECURITY, "AuthorizationPolicy", name, labels=labels, body={"spec": policy}
    )
    return resources


def mesh_resources(workspace: Workspace) -> dict[str, Resource]:
    """The mesh-wide objects: STRICT mTLS and, with a gateway service, the Istio Gateway."""
    resources = {
        "peerauthentication.yaml": Resource(
            SECURITY,
            "PeerAuthentication",
            "default",
            namespace="istio-system",
            labels={"app.kubernetes.io/managed-by": "msgen"},
            body={"spec": {"mtls": {"mode": "STRICT"}}},
        )
    }
    if any(svc.kind == "gateway" for svc in workspace.services.values()):
        resources["gateway.yaml"] = Resource(
            NETWORKING,
            "Gateway",
            gateway_name(workspace),
            labels={"app.kubernetes.io/part-of": workspace.name},
            body={
                "spec": {
                    "selector": {"istio": "ingressgateway"},
                    "servers": [
                        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
                    ],
                }
            },
        )
    return resources


def istio_files(workspace: Workspace) -> list[GeneratedFile]:
    """Every Istio file, then a ``kustomization.yaml`` listing them."""
    files = [
        yaml_file(f"{ISTIO_DIR}/{file_name}", [resource.to_data()], regenerate=REGENERATE)
        for file_name, resource in sorted(mesh_resources(workspace).items())
    ]
    for name in sorted(workspace.services):
        for file_name, resource in sorted(service_mesh_resources(workspace, name).items()):
            files.append(
                yaml_file(
                    f"{ISTIO_DIR}/{name}/{file_name}", [resource.to_data()], regenerate=REGENERATE
                )
            )
    files.append(kustomization_file(ISTIO_DIR, files, regenerate=REGENERATE))
    return files
