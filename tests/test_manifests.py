"""The rendered manifests of a three-service workspace validate, and say what they should.

Compose files: both Compose Specification schemas and ``docker-compose config -q``;
Kubernetes objects: kubernetes-validate (strict) for every supported version; Istio
objects: their CRD schemas with unknown fields rejected.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from msgen.manifests.common import is_pristine
from msgen.manifests.compose import BUILD_ARGS, IMAGE_VARS, IMAGES, compose_files, select_infra
from msgen.manifests.istio import istio_files
from msgen.manifests.k8s import (
    SUPPORTED_VERSIONS,
    k8s_files,
    secret_commands,
    secret_keys,
    sqlite_warnings,
)
from msgen.workspace import Workspace
from tests.manifestkit import (
    THREE_SERVICES,
    compose_errors,
    docker_compose_config,
    istio_errors,
    k8s_errors,
    yaml_documents,
)


@pytest.fixture
def workspace() -> Workspace:
    return Workspace.model_validate(yaml.safe_load(THREE_SERVICES))


def compose_document(workspace: Workspace, **kwargs: list[str]) -> dict:
    files = compose_files(workspace, select_infra(workspace, **kwargs))
    return yaml.safe_load(next(f.text for f in files if f.path == "docker-compose.yml"))


def objects(files) -> list[dict]:
    return [doc for f in files for doc in yaml_documents(f.text) if doc["kind"] != "Kustomization"]


def test_compose_file_validates_against_both_schemas(workspace: Workspace) -> None:
    assert compose_errors(compose_document(workspace)) == []


def test_compose_schemas_catch_a_misspelled_key(workspace: Workspace) -> None:
    document = compose_document(workspace)
    document["volumez"] = document.pop("volumes")
    errors = compose_errors(document)
    assert any(e.startswith("builtin:") for e in errors)
    assert any(e.startswith("shared:") for e in errors)
    # The newer shared schema also closes the service definition.
    document = compose_document(workspace)
    document["services"]["orders"]["helthcheck"] = document["services"]["orders"]["healthcheck"]
    assert any(e.startswith("shared:") for e in compose_errors(document))


def write_workspace_files(root: Path, workspace: Workspace) -> None:
    from msgen.deploy import generate_compose
    from msgen.workspace import load_workspace

    (root / "msgen.yaml").write_text(THREE_SERVICES)
    for svc in workspace.services.values():
        (root / svc.path).mkdir()
    generate_compose(load_workspace(root / "msgen.yaml"))


def test_docker_compose_v1_parses_the_file(tmp_path: Path, workspace: Workspace) -> None:
    write_workspace_files(tmp_path, workspace)
    proc = docker_compose_config(tmp_path)
    if proc is None:
        pytest.skip("docker-compose (Debian's package) is not installed")
    assert proc.returncode == 0, proc.stderr


def test_docker_compose_refuses_to_start_without_env(tmp_path: Path, workspace: Workspace) -> None:
    write_workspace_files(tmp_path, workspace)
    (tmp_path / ".env").unlink()
    proc = docker_compose_config(tmp_path)
    if proc is None:
        pytest.skip("docker-compose (Debian's package) is not installed")
    assert proc.returncode != 0
    assert "run msgen compose generate to create .env" in proc.stderr


def test_compose_holds_no_secret_and_pins_every_image(workspace: Workspace) -> None:
    document = compose_document(workspace)
    text = yaml.safe_dump(document)
    assert "${ORDERS_DB_PASSWORD:?" in text
    assert "${RABBITMQ_PASSWORD:?" in text
    for name, service in document["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
        assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert service["restart"] == "unless-stopped"
        assert service["networks"] == ["shop"]
        for dependency in service.get("depends_on", {}).values():
            assert dependency == {"condition": "service_healthy"}
    # Each pinned tag is the default of a .env override (POSTGRES_IMAGE=... for a mirror).
    pinned = {f"${{{IMAGE_VARS[name]}:-{tag}}}" for name, tag in IMAGES.items()}
    assert pinned <= {s["image"] for s in document["services"].values()}


def test_compose_wires_each_service_to_what_it_uses(workspace: Workspace) -> None:
    services = compose_document(workspace)["services"]
    orders = services["orders"]
    assert orders["build"]["context"] == "orders"
    assert orders["build"]["args"] == {
        "BASE_IMAGE": "${BASE_IMAGE:-python:3.11-slim}",
        "PIP_INDEX_URL": "${PIP_INDEX_URL:-https://pypi.org/simple}",
        "PIP_NO_INDEX": "${PIP_NO_INDEX:-0}",
    }
    assert set(BUILD_ARGS) == set(orders["build"]["args"])
    assert orders["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://orders:${")
    assert orders["environment"]["DATABASE_URL"].endswith("@orders-db:5432/orders")
    assert orders["environment"]["CONSUL_HTTP_ADDR"] == "http://consul:8500"
    assert orders["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert set(orders["depends_on"]) == {"orders-db", "rabbitmq", "consul", "jaeger"}
    assert services["orders-db"]["image"] == "${POSTGRES_IMAGE:-postgres:17.6-alpine}"
    assert "billing-db" not in services
    assert services["billing"]["volumes"] == ["billing-data:/app"]
    assert "DATABASE_URL" not in services["billing"]["environment"]
    assert set(services["gateway"]["depends_on"]) == {"orders", "billing"}


def test_services_find_their_upstreams_by_dns_name(workspace: Workspace) -> None:
    services = compose_document(workspace)["services"]
    assert services["gateway"]["environment"]["UPSTREAM_ORDERS_URL"] == "http://orders:8001"
    assert services["gateway"]["environment"]["UPSTREAM_BILLING_URL"] == "http://billing:8002"
    assert services["billing"]["environment"]["UPSTREAM_ORDERS_URL"] == "http://orders:8001"
    assert not any(k.startswith("UPSTREAM_") for k in services["orders"]["environment"])
    configmaps = {
        o["metadata"]["name"]: o for o in objects(k8s_files(workspace)) if o["kind"] == "ConfigMap"
    }
    assert configmaps["gateway-config"]["data"]["UPSTREAM_BILLING_URL"] == "http://billing:8002"


def test_infrastructure_follows_needs_and_flags(workspace: Workspace) -> None:
    assert set(compose_document(workspace)["services"]) >= {"rabbitmq", "consul", "jaeger"}
    lean = compose_document(workspace, exclude=["consul", "jaeger", "grafana", "prometheus"])
    assert not {"consul", "jaeger", "grafana", "prometheus"} & set(lean["services"])
    assert lean["services"]["orders"]["environment"]["CONSUL_HTTP_ADDR"].startswith(
        "${CONSUL_HTTP_ADDR:?"
    )
    # Without Jaeger the collector is optional: empty means the service exports no traces.
    assert (
        lean["services"]["orders"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
    )
    assert lean["x-msgen"] == {"without": ["consul", "grafana", "jaeger", "prometheus"]}
    assert compose_errors(lean) == []
    bare = Workspace.model_validate({"name": "s", "services": {"a": {"path": "a", "port": 8001}}})
    assert set(compose_document(bare)["services"]) == {"a"}
    assert "grafana" in compose_document(bare, include=["grafana"])["services"]
    assert "prometheus" in compose_document(bare, include=["grafana"])["services"]


@pytest.mark.parametrize(
    ("include", "exclude", "message"),
    [
        (["kafka"], [], "unknown infrastructure 'kafka'"),
        (["jaeger"], ["jaeger"], "'jaeger' is given to both --with and --without"),
        (["grafana"], ["prometheus"], "grafana's dashboards read prometheus"),
    ],
)
def test_bad_infra_choices_are_refused(
    workspace: Workspace, include: list[str], exclude: list[str], message: str
) -> None:
    from msgen.errors import UsageError

    with pytest.raises(UsageError, match=message):
        select_infra(workspace, include=include, exclude=exclude)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_k8s_objects_validate_strictly(workspace: Workspace, version: str) -> None:
    docs = objects(k8s_files(workspace))
    kinds = {doc["kind"] for doc in docs}
    assert kinds == {
        "Deployment",
        "Service",
        "ServiceAccount",
        "ConfigMap",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "PersistentVolumeClaim",
    }
    assert [e for doc in docs for e in k8s_errors(doc, version)] == []


def test_k8s_strict_validation_catches_a_misspelled_field(workspace: Workspace) -> None:
    deployment = next(d for d in objects(k8s_files(workspace)) if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    assert k8s_errors(broken, SUPPORTED_VERSIONS[0]) != []


def test_k8s_deployment_is_hardened_and_observable(workspace: Workspace) -> None:
    files = {f.path: f for f in k8s_files(workspace)}
    assert "deploy/k8s/orders/deployment-v1.yaml" in files
    assert "deploy/k8s/orders/deployment-v2.yaml" in files
    deployment = yaml.safe_load(files["deploy/k8s/orders/deployment-v2.yaml"].text)
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["app"] == "orders"
    assert pod["metadata"]["labels"]["version"] == "v2"
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] == "true"
    container = pod["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert {"configMapRef": {"name": "orders-config"}} in container["envFrom"]
    assert {"secretRef": {"name": "orders-env", "optional": False}} in container["envFrom"]
    assert "replicas" not in deployment["spec"]  # the HPA owns the replica count
    kustomization = yaml.safe_load(files["deploy/k8s/kustomization.yaml"].text)
    listed = {f"deploy/k8s/{r}" for r in kustomization["resources"]}
    assert listed == set(files) - {"deploy/k8s/kustomization.yaml"}
    text = "".join(f.text for f in files.values())
    assert "namespace:" not in text and "hostPath" not in text and "TZ" not in text


def test_k8s_runs_a_sqlite_service_as_one_pod_on_a_claim(workspace: Workspace) -> None:
    files = {f.path: yaml.safe_load(f.text) for f in k8s_files(workspace)}
    billing = sorted(p.rsplit("/", 1)[1] for p in files if p.startswith("deploy/k8s/billing/"))
    assert billing == [
        "configmap.yaml",
        "deployment-v1.yaml",
        "persistentvolumeclaim.yaml",
        "service.yaml",
        "serviceaccount.yaml",
    ]  # no HPA, no PodDisruptionBudget
    claim = files["deploy/k8s/billing/persistentvolumeclaim.yaml"]
    assert claim["metadata"]["name"] == "billing-data"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    }  # no storageClassName: the cluster's default
    deployment = files["deploy/k8s/billing/deployment-v1.yaml"]["spec"]
    assert deployment["replicas"] == 1
    assert deployment["strategy"] == {"type": "Recreate"}
    pod = deployment["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"] == {
        "name": "data",
        "persistentVolumeClaim": {"claimName": "billing-data"},
    }
    assert [v["name"] for v in pod["volumes"] if "emptyDir" in v] == ["tmp"]
    # Mounted on the image's working directory, where DATABASE_URL's default file lives.
    assert {"name": "data", "mountPath": "/app"} in pod["containers"][0]["volumeMounts"]
    # The PostgreSQL service still scales: its HPA owns the replicas, the budget stays.
    orders = files["deploy/k8s/orders/deployment-v1.yaml"]["spec"]
    assert "replicas" not in orders and "strategy" not in orders
    assert files["deploy/k8s/orders/hpa-v1.yaml"]["spec"]["minReplicas"] == 2
    assert "deploy/k8s/orders/poddisruptionbudget.yaml" in files
    assert "deploy/k8s/orders/persistentvolumeclaim.yaml" not in files


def test_sqlite_warnings_name_each_sqlite_service(workspace: Workspace) -> None:
    assert sqlite_warnings(workspace) == [
        "billing keeps its database in a SQLite file: in Kubernetes it runs as one pod on one "
        "volume (no autoscaling, down while it restarts); move it to PostgreSQL with "
        "msgen add postgres billing"
    ]
    services = {
        name: svc.model_copy(update={"db": "postgres"}) for name, svc in workspace.services.items()
    }
    assert sqlite_warnings(workspace.model_copy(update={"services": services})) == []


def test_k8s_refuses_canary_versions_of_a_sqlite_service(workspace: Workspace) -> None:
    from msgen.errors import UsageError

    billing = workspace.services["billing"]
    workspace.services["billing"] = billing.model_copy(update={"versions": {"v1": 100, "v2": 0}})
    with pytest.raises(UsageError, match="its versions v1, v2 cannot run side by side") as info:
        k8s_files(workspace)
    assert "msgen add postgres billing" in (info.value.hint or "")
    workspace.services["billing"] = billing.model_copy(update={"versions": {"v2": 100}})
    names = {f.path for f in k8s_files(workspace)}
    assert "deploy/k8s/billing/deployment-v2.yaml" in names  # one version is fine


def test_secret_commands_create_exactly_the_keys_each_service_reads(workspace: Workspace) -> None:
    commands = secret_commands(workspace)
    assert commands == [
        "kubectl create secret generic billing-env --from-literal=BROKER_URL=...",
        "kubectl create secret generic orders-env --from-literal=DATABASE_URL=... "
        "--from-literal=BROKER_URL=... --from-literal=CONSUL_HTTP_ADDR=... "
        "--from-literal=OTEL_EXPORTER_OTLP_ENDPOINT=...",
    ]  # the gateway needs no Secret: its reference is optional
    for command in commands:
        words = command.split()
        name = words[4].removesuffix("-env")
        keys = [w.removeprefix("--from-literal=").split("=")[0] for w in words[5:]]
        assert keys == secret_keys(workspace, name)
        assert all(w.endswith("=...") for w in words[5:])  # placeholders, never values


def test_compose_and_k8s_name_each_service_image_alike(workspace: Workspace) -> None:
    services = compose_document(workspace)["services"]
    deployments = [d for d in objects(k8s_files(workspace)) if d["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        name = deployment["metadata"]["labels"]["app"]
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == services[name]["image"] == f"shop-{name}:0.1.0", name


def test_istio_objects_validate_against_their_crds(workspace: Workspace) -> None:
    docs = objects(istio_files(workspace))
    kinds = {doc["kind"] for doc in docs}
    assert kinds == {
        "VirtualService",
        "DestinationRule",
        "Gateway",
        "PeerAuthentication",
        "AuthorizationPolicy",
    }
    assert [e for doc in docs for e in istio_errors(doc)] == []


def test_istio_validation_rejects_unknown_fields(workspace: Workspace) -> None:
    rule = next(d for d in objects(istio_files(workspace)) if d["kind"] == "DestinationRule")
    broken = copy.deepcopy(rule)
    broken["spec"]["trafficPolicy"]["outlierDetection"]["consecutive5xxErrorz"] = 5
    assert istio_errors(broken) != []


def test_istio_routes_policies_and_mtls(workspace: Workspace) -> None:
    files = {f.path: yaml.safe_load(f.text) for f in istio_files(workspace)}
    route = files["deploy/istio/orders/virtualservice.yaml"]["spec"]["http"][0]
    assert [(r["destination"]["subset"], r["weight"]) for r in route["route"]] == [
        ("v1", 90),
        ("v2", 10),
    ]
    assert route["timeout"] and route["retries"]["attempts"] == 3
    rule = files["deploy/istio/orders/destinationrule.yaml"]["spec"]
    assert rule["trafficPolicy"]["tls"] == {"mode": "ISTIO_MUTUAL"}
    assert [s["name"] for s in rule["subsets"]] == ["v1", "v2"]
    assert files["deploy/istio/peerauthentication.yaml"]["spec"] == {"mtls": {"mode": "STRICT"}}
    orders_policy = files["deploy/istio/orders/authorizationpolicy.yaml"]["spec"]
    assert orders_policy["rules"] == [
        {"from": [{"source": {"principals": ["*/sa/billing", "*/sa/gateway"]}}]}
    ]
    billing_policy = files["deploy/istio/billing/authorizationpolicy.yaml"]["spec"]
    assert billing_policy["rules"] == [{"from": [{"source": {"principals": ["*/sa/gateway"]}}]}]
    ingress = files["deploy/istio/gateway/virtualservice-ingress.yaml"]["spec"]
    assert ingress["gateways"] == ["shop-gateway"]
    assert files["deploy/istio/gateway.yaml"]["kind"] == "Gateway"


def test_generation_is_byte_identical_and_sealed(workspace: Workspace) -> None:
    selection = select_infra(workspace)
    first = compose_files(workspace, selection) + k8s_files(workspace) + istio_files(workspace)
    again = compose_files(workspace, selection) + k8s_files(workspace) + istio_files(workspace)
    assert [(f.path, f.text) for f in first] == [(f.path, f.text) for f in again]
    for generated in first:
        assert "Generated by msgen" in generated.text.splitlines()[0] or generated.path.endswith(
            ".json"
        )
        assert is_pristine(generated.text), generated.path
        assert not is_pristine(generated.text + "edit"), generated.path
