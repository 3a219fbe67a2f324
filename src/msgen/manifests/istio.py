"""Istio traffic management and security under ``deploy/istio/``, built from the workspace.

Per service: a VirtualService with weighted routes across its version subsets (timeouts,
retries), a DestinationRule with those subsets, connection-pool limits, outlier detection
(the mesh's circuit breaker) and ISTIO_MUTUAL TLS, and an AuthorizationPolicy that admits
only the services that declare it as an upstream. The gateway service also gets an Istio
Gateway and a VirtualService bound to it. One mesh-wide PeerAuthentication makes mTLS
STRICT; probes and metrics keep working through Istio's probe rewriting and metrics
merging (see the pod annotations in :mod:`msgen.manifests.k8s`).

With ``auth:`` in ``msgen.yaml`` the mesh also checks the callers' tokens: a
RequestAuthentication per service (and one at the ingress gateway) validates JWTs from the
system's issuer, and a DENY AuthorizationPolicy per service refuses a request without one
(see :func:`jwt_resources` for why DENY).
"""

from __future__ import annotations

from typing import Any

from msgen.manifests.common import GeneratedFile, kustomization_file, yaml_file
from msgen.manifests.k8s import Resource, versions_of
from msgen.workspace import AuthSettings, Workspace

__all__ = [
    "ISTIO_DIR",
    "OPEN_PATHS",
    "REGENERATE",
    "istio_files",
    "jwt_resources",
    "jwt_rule",
    "mesh_resources",
    "service_mesh_resources",
]

ISTIO_DIR = "deploy/istio"
REGENERATE = "msgen mesh generate"
NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
ROUTE_TIMEOUT = "10s"
# Retry only failures where the request cannot have reached the application.
RETRIES = {"attempts": 3, "perTryTimeout": "3s", "retryOn": "connect-failure,refused-stream,reset"}
# The paths a request may reach without a token (with ``auth:``): the health endpoints,
# which the gateway's readiness check calls on its upstreams without a token.
OPEN_PATHS = ("/health/*",)
INGRESS_SELECTOR = {"istio": "ingressgateway"}
ROOT_NAMESPACE = "istio-system"


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
    if workspace.auth is not None:
        resources.update(jwt_resources(workspace.auth, name, labels))
    return resources


def jwt_rule(auth: AuthSettings) -> dict[str, Any]:
    """How Istio validates the system's tokens: issuer, audience and where the keys are.

    ``dev`` (msgen's issuer) serves its keys at ``<issuer>/.well-known/jwks.json``; for
    ``oidc`` ``jwksUri`` is left out and Istio reads ``jwks_uri`` from the issuer's OpenID
    discovery document. ``forwardOriginalToken`` keeps the ``Authorization`` header for the
    application, which verifies the token itself (scopes) and forwards it upstream.
    """
    rule: dict[str, Any] = {"issuer": auth.issuer, "audiences": [auth.audience]}
    if auth.provider == "dev":
        rule["jwksUri"] = f"{auth.issuer.rstrip('/')}/.well-known/jwks.json"
    rule["forwardOriginalToken"] = True
    return rule


def jwt_resources(auth: AuthSettings, name: str, labels: dict[str, str]) -> dict[str, Resource]:
    """A service's token check: a RequestAuthentication and a DENY AuthorizationPolicy.

    The RequestAuthentication only rejects invalid tokens; a request without one passes it
    with no request principal. Requiring a token therefore takes an AuthorizationPolicy, and
    it must be a DENY: Istio admits a request when no DENY policy matches it *and* it
    matches at least one ALLOW policy of the workload, so ALLOW policies are alternatives.
    An ALLOW policy "requestPrincipals: ['*']" next to the service-account policy would let
    an allowed caller in without a token, and any holder of a token in from any workload.
    The DENY policy (no request principal, path not in :data:`OPEN_PATHS`) is checked before
    the ALLOW policies and composes with them as AND: a call needs an allowed service
    account and a valid token, and the ALLOW policies are the same as without ``auth:``.

    Probes and Prometheus are unaffected: the kubelet's probes (rewritten) and the merged
    metrics go to the Istio agent on port 15020, which calls the application over
    localhost, outside the inbound listener where authorization policies apply; the same
    path keeps ``/metrics`` reachable as without ``auth:``.
    """
    selector = {"matchLabels": {"app": name}}
    return {
        "requestauthentication.yaml": Resource(
            SECURITY,
            "RequestAuthentication",
            name,
            labels=labels,
            body={"spec": {"selector": selector, "jwtRules": [jwt_rule(auth)]}},
        ),
        "authorizationpolicy-require-jwt.yaml": Resource(
            SECURITY,
            "AuthorizationPolicy",
            f"{name}-require-jwt",
            labels=labels,
            body={
                "spec": {
                    "selector": selector,
                    "action": "DENY",
                    "rules": [
                        {
                            "from": [{"source": {"notRequestPrincipals": ["*"]}}],
                            "to": [{"operation": {"notPaths": list(OPEN_PATHS)}}],
                        }
                    ],
                }
            },
        ),
    }


def mesh_resources(workspace: Workspace) -> dict[str, Resource]:
    """The mesh-wide objects: STRICT mTLS and, with a gateway service, the Istio Gateway.

    With ``auth:`` and a gateway service, the ingress gateway validates tokens too (a
    RequestAuthentication in Istio's root namespace, whose selector then matches the
    ingress gateway's pods in any namespace): an invalid token is refused at the edge.
    """
    resources = {
        "peerauthentication.yaml": Resource(
            SECURITY,
            "PeerAuthentication",
            "default",
            namespace=ROOT_NAMESPACE,
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
                    "selector": dict(INGRESS_SELECTOR),
                    "servers": [
                        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
                    ],
                }
            },
        )
        if workspace.auth is not None:
            resources["requestauthentication-ingress.yaml"] = Resource(
                SECURITY,
                "RequestAuthentication",
                f"{workspace.name}-ingress",
                namespace=ROOT_NAMESPACE,
                labels={
                    "app.kubernetes.io/part-of": workspace.name,
                    "app.kubernetes.io/managed-by": "msgen",
                },
                body={
                    "spec": {
                        "selector": {"matchLabels": dict(INGRESS_SELECTOR)},
                        "jwtRules": [jwt_rule(workspace.auth)],
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
