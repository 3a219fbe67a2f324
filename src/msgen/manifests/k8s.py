"""Kubernetes manifests (a kustomize base under ``deploy/k8s/``) built from the workspace.

Per service: a ServiceAccount, a ConfigMap, one Deployment and one HorizontalPodAutoscaler
per version (the subsets Istio routes between), a Service and a PodDisruptionBudget. Only
GA API versions, no namespace, no site-specific defaults. Secrets are referenced, never
written: each service reads ``<service>-env`` (its keys are listed in an annotation, and
:func:`secret_commands` says how to create it).

A service whose database is a SQLite file (``db: sqlite``) is one pod at a time: its
Deployment has one replica and the ``Recreate`` strategy (no second pod ever opens the
file), its file lives on a ReadWriteOnce PersistentVolumeClaim, and it has no HPA and no
PodDisruptionBudget (a budget over one pod protects nothing and may only hold up a drain).
Canary versions of it are refused: two versions cannot share the file.

With ``auth:``, a service that verifies tokens (and the gateway) finds ``AUTH_ISSUER`` and
``AUTH_AUDIENCE`` in its ConfigMap and expects ``AUTH_CLIENT_SECRET`` from its Secret: its
client at the issuer. msgen's development issuer is not deployed here (use an OIDC one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from msgen.errors import UsageError
from msgen.manifests.common import (
    GeneratedFile,
    kustomization_file,
    service_image,
    upstream_env,
    verifies_tokens,
    yaml_file,
)
from msgen.topology import unconsumed_env
from msgen.workspace import ServiceEntry, Workspace

__all__ = [
    "K8S_DIR",
    "REGENERATE",
    "SQLITE_VOLUME_SIZE",
    "SUPPORTED_VERSIONS",
    "Resource",
    "check_versions",
    "dev_issuer_warning",
    "k8s_files",
    "keeps_sqlite",
    "secret_commands",
    "secret_keys",
    "service_resources",
    "sqlite_warnings",
    "versions_of",
]

K8S_DIR = "deploy/k8s"
REGENERATE = "msgen k8s generate"
# Kubernetes minor versions the manifests are validated against (strict) in the tests.
SUPPORTED_VERSIONS = ("1.33", "1.34", "1.35")
STABLE_VERSION = "v1"
# The claim of a SQLite service's volume; the storage class is the cluster's default.
SQLITE_VOLUME_SIZE = "1Gi"
# Where the SQLite file lives: the image's working directory (DATABASE_URL's default is
# sqlite+aiosqlite:///./<package>.db), the one directory the service user may write to.
_SQLITE_DIR = "/app"


@dataclass(frozen=True, slots=True)
class Resource:
    """One Kubernetes object: its identity and the rest of its body (``spec``, ``data``)."""

    api_version: str
    kind: str
    name: str
    body: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    namespace: str | None = None

    def to_data(self) -> dict[str, Any]:
        """The object as YAML-ready data."""
        metadata: dict[str, Any] = {"name": self.name}
        if self.namespace:
            metadata["namespace"] = self.namespace
        if self.labels:
            metadata["labels"] = dict(self.labels)
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": metadata,
            **self.body,
        }


def versions_of(svc: ServiceEntry) -> dict[str, int]:
    """The version subsets and their weights; a service without canary data is all ``v1``."""
    return dict(svc.versions) if svc.versions else {STABLE_VERSION: 100}


def secret_keys(workspace: Workspace, name: str) -> list[str]:
    """The variables a service expects from its Secret (connection strings, addresses).

    With ``auth:``, a service that verifies tokens also expects its client secret there.
    """
    svc = workspace.services[name]
    keys = []
    if svc.kind != "gateway" and svc.db == "postgres":
        keys.append("DATABASE_URL")
    if svc.broker == "rabbitmq":
        keys.append("BROKER_URL")
    if svc.discovery == "consul":
        keys.append("CONSUL_HTTP_ADDR")
    if "tracing" in svc.features:
        keys.append("OTEL_EXPORTER_OTLP_ENDPOINT")
    if verifies_tokens(workspace, name):
        keys.append("AUTH_CLIENT_SECRET")
    return keys


def secret_commands(workspace: Workspace) -> list[str]:
    """For each service that needs its Secret, the ``kubectl`` command that creates it.

    Exactly the keys of :func:`secret_keys`, each with ``...`` in place of its value: msgen
    knows no value and writes none.
    """
    commands = []
    for name in sorted(workspace.services):
        keys = secret_keys(workspace, name)
        if keys:
            literals = " ".join(f"--from-literal={key}=..." for key in keys)
            commands.append(f"kubectl create secret generic {name}-env {literals}")
    return commands


def keeps_sqlite(svc: ServiceEntry) -> bool:
    """True when the service's database is a SQLite file, which one pod at a time may open."""
    return svc.kind != "gateway" and svc.db == "sqlite"


def sqlite_warnings(workspace: Workspace) -> list[str]:
    """One line per SQLite service for ``k8s generate``: it runs as one pod, move it."""
    return [
        f"{name} keeps its database in a SQLite file: in Kubernetes it runs as one pod on "
        "one volume (no autoscaling, down while it restarts); move it to PostgreSQL with "
        f"msgen add postgres {name}"
        for name in sorted(workspace.services)
        if keeps_sqlite(workspace.services[name])
    ]


def check_versions(workspace: Workspace) -> None:
    """Raise UsageError when a SQLite service has canary versions (see :func:`k8s_files`).

    ``msgen mesh canary`` asks before it writes anything, when ``deploy/k8s`` exists.
    """
    for name in sorted(workspace.services):
        _one_version(name, workspace.services[name])


def _one_version(name: str, svc: ServiceEntry) -> None:
    """Refuse canary versions of a SQLite service: each Deployment would need the file."""
    versions = versions_of(svc)
    if keeps_sqlite(svc) and len(versions) > 1:
        raise UsageError(
            f"{name} keeps its database in a SQLite file, which one pod at a time may open: "
            f"its versions {', '.join(versions)} cannot run side by side in Kubernetes",
            hint=f"move it to PostgreSQL first (msgen add postgres {name}), or keep one of "
            f"them: msgen mesh canary {name} --version VERSION --promote",
        )


def dev_issuer_warning(workspace: Workspace) -> str | None:
    """One line for ``k8s generate`` when ``auth.provider`` is ``dev``, else None."""
    auth = workspace.auth
    if auth is None or auth.provider != "dev":
        return None
    return (
        f"the development issuer ({auth.issuer}) is not deployed in Kubernetes: "
        "use an OIDC issuer there (auth.provider: oidc, see docs/auth.md)"
    )


def _labels(workspace: Workspace, name: str, version: str | None = None) -> dict[str, str]:
    labels = {"app": name}
    if version:
        labels["version"] = version
    labels["app.kubernetes.io/name"] = name
    labels["app.kubernetes.io/part-of"] = workspace.name
    labels["app.kubernetes.io/managed-by"] = "msgen"
    return labels


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _deployment(workspace: Workspace, name: str, version: str) -> Resource:
    svc = workspace.services[name]
    keys = secret_keys(workspace, name)
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    # Without an HPA (SQLite) the Deployment sets its one replica; else the HPA owns it.
    scaling: dict[str, Any] = {}
    if keeps_sqlite(svc):
        mounts.append({"name": "data", "mountPath": _SQLITE_DIR})
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}})
        scaling = {"replicas": 1, "strategy": {"type": "Recreate"}}
    container = {
        "name": name,
        "image": service_image(workspace, name),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}],
        "envFrom": [
            {"configMapRef": {"name": f"{name}-config"}},
            {"secretRef": {"name": f"{name}-env", "optional": not keys}},
        ],
        "startupProbe": _probe("/health/live", period=2, failures=30),
        "livenessProbe": _probe("/health/live", period=10, failures=3),
        "readinessProbe": _probe("/health/ready", period=5, failures=3),
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    pod_labels = _labels(workspace, name, version)
    return Resource(
        "apps/v1",
        "Deployment",
        f"{name}-{version}",
        labels=pod_labels,
        body={
            "spec": {
                **scaling,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": {"app": name, "version": version}},
                "template": {
                    "metadata": {
                        "labels": pod_labels,
                        "annotations": {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": str(svc.port),
                            "prometheus.io/path": "/metrics",
                            "sidecar.istio.io/rewriteAppHTTPProbers": "true",
                            "prometheus.istio.io/merge-metrics": "true",
                            "msgen.dev/secret-keys": ",".join(keys),
                        },
                    },
                    "spec": {
                        "serviceAccountName": name,
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 10001,
                            "runAsGroup": 10001,
                            "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "terminationGracePeriodSeconds": 30,
                        "containers": [container],
                        "volumes": volumes,
                    },
                },
            },
        },
    )


def service_resources(workspace: Workspace, name: str) -> dict[str, Resource]:
    """The objects of one service, keyed by the file name they are written to.

    Raises UsageError for a SQLite service with canary versions.
    """
    svc = workspace.services[name]
    _one_version(name, svc)
    labels = _labels(workspace, name)
    config = {"PORT": str(svc.port), "HOST": "0.0.0.0", "SERVICE_NAME": name}
    config["LOG_LEVEL"] = "INFO"
    config.update(upstream_env(workspace, name))
    config.update(unconsumed_env(workspace, name))
    if "tracing" in svc.features:
        config["OTEL_SERVICE_NAME"] = name
        # Production sampling (docs/observability.md): one trace in ten, decided where the
        # trace starts (the gateway) and followed by every service it reaches.
        config["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
        config["OTEL_TRACES_SAMPLER_ARG"] = "0.1"
    if workspace.auth is not None and verifies_tokens(workspace, name):
        config["AUTH_ISSUER"] = workspace.auth.issuer
        config["AUTH_AUDIENCE"] = workspace.auth.audience
    resources: dict[str, Resource] = {
        "serviceaccount.yaml": Resource(
            "v1",
            "ServiceAccount",
            name,
            labels=labels,
            body={"automountServiceAccountToken": False},
        ),
        "configmap.yaml": Resource(
            "v1", "ConfigMap", f"{name}-config", labels=labels, body={"data": config}
        ),
        "service.yaml": Resource(
            "v1",
            "Service",
            name,
            labels=labels,
            body={
                "spec": {
                    "selector": {"app": name},
                    "ports": [
                        {
                            "name": "http",
                            "port": svc.port,
                            "targetPort": "http",
                            "protocol": "TCP",
                            "appProtocol": "http",
                        }
                    ],
                }
            },
        ),
    }
    if keeps_sqlite(svc):
        resources["persistentvolumeclaim.yaml"] = _claim(name, labels)
    else:
        resources["poddisruptionbudget.yaml"] = Resource(
            "policy/v1",
            "PodDisruptionBudget",
            name,
            labels=labels,
            body={"spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": name}}}},
        )
    for version in versions_of(svc):
        resources[f"deployment-{version}.yaml"] = _deployment(workspace, name, version)
        if not keeps_sqlite(svc):
            resources[f"hpa-{version}.yaml"] = _autoscaler(workspace, name, version)
    return resources


def _claim(name: str, labels: dict[str, str]) -> Resource:
    """The volume of a SQLite service's file: one node at a time, the cluster's storage class."""
    return Resource(
        "v1",
        "PersistentVolumeClaim",
        f"{name}-data",
        labels=labels,
        body={
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": SQLITE_VOLUME_SIZE}},
            }
        },
    )


def _autoscaler(workspace: Workspace, name: str, version: str) -> Resource:
    return Resource(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        f"{name}-{version}",
        labels=_labels(workspace, name, version),
        body={
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": f"{name}-{version}",
                },
                "minReplicas": 2,
                "maxReplicas": 5,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 75},
                        },
                    }
                ],
            }
        },
    )


def k8s_files(workspace: Workspace) -> list[GeneratedFile]:
    """Every file of the kustomize base, the ``kustomization.yaml`` last."""
    files: list[GeneratedFile] = []
    for name in sorted(workspace.services):
        for file_name, resource in sorted(service_resources(workspace, name).items()):
            files.append(
                yaml_file(
                    f"{K8S_DIR}/{name}/{file_name}", [resource.to_data()], regenerate=REGENERATE
                )
            )
    files.append(kustomization_file(K8S_DIR, files, regenerate=REGENERATE))
    return files
