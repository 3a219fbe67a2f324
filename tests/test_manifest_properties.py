"""Property tests over random workspaces: every generated document validates, and canary
weights always sum to 100 (in the workspace, the VirtualServices and after any canary step).
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgen.deploy import plan_canary
from msgen.errors import UsageError
from msgen.manifests.compose import INFRA, compose_files, select_infra
from msgen.manifests.istio import istio_files
from msgen.manifests.k8s import SUPPORTED_VERSIONS, check_versions, k8s_files, keeps_sqlite
from msgen.workspace import Workspace
from tests.manifestkit import compose_errors, istio_errors, k8s_errors, yaml_documents

NAMES = ["orders", "billing", "order-items", "users", "stock", "edge", "payments"]


@st.composite
def weights(draw: st.DrawFn) -> dict[str, int]:
    count = draw(st.integers(min_value=0, max_value=3))
    if count == 0:
        return {}
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 100]
    return {f"v{i + 1}": bounds[i + 1] - bounds[i] for i in range(count)}


@st.composite
def workspaces(draw: st.DrawFn) -> Workspace:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    ports = draw(
        st.lists(st.integers(1024, 65535), min_size=len(names), max_size=len(names), unique=True)
    )
    services = {}
    for index, (name, port) in enumerate(zip(names, ports, strict=True)):
        gateway = index == 0 and draw(st.booleans())
        db = draw(st.sampled_from(["sqlite", "postgres", "none"]))
        # Kubernetes refuses canaries of a SQLite service (test_sqlite_canaries_are_refused).
        one_version = db == "sqlite" and not gateway
        services[name] = {
            "kind": "gateway" if gateway else "service",
            "path": name,
            "port": port,
            "db": db,
            "broker": draw(st.sampled_from(["rabbitmq", "none"])),
            "discovery": draw(st.sampled_from(["consul", "static", "dns"])),
            "features": draw(st.lists(st.sampled_from(["tracing", "metrics"]), unique=True)),
            "upstreams": draw(st.lists(st.sampled_from(names), unique=True)),
            "versions": draw(weights().filter(lambda w: len(w) <= 1) if one_version else weights()),
        }
    return Workspace.model_validate({"name": "prop", "services": services})


PROFILE = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROFILE
@given(workspace=workspaces(), include=st.lists(st.sampled_from(INFRA), unique=True))
def test_every_compose_file_validates(workspace: Workspace, include: list[str]) -> None:
    rest = [
        p for p in INFRA if p not in include and not (p == "prometheus" and "grafana" in include)
    ]
    for exclude in ([], rest):
        files = compose_files(workspace, select_infra(workspace, include=include, exclude=exclude))
        document = yaml.safe_load(files[0].text)
        assert compose_errors(document) == []
        for service in document["services"].values():
            assert "healthcheck" in service


@settings(
    max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(workspace=workspaces())
def test_every_k8s_and_istio_object_validates(workspace: Workspace) -> None:
    docs = [doc for generated in k8s_files(workspace) for doc in yaml_documents(generated.text)]
    for doc in docs:
        if doc["kind"] != "Kustomization":
            for version in SUPPORTED_VERSIONS:
                assert k8s_errors(doc, version) == []
    for name, svc in workspace.services.items():
        mine = [d for d in docs if d.get("metadata", {}).get("labels", {}).get("app") == name]
        kinds = sorted(d["kind"] for d in mine)
        deployments = [d["spec"] for d in mine if d["kind"] == "Deployment"]
        if keeps_sqlite(svc):
            # One pod, never two at once, its file on a claim, nothing that scales it.
            assert kinds.count("PersistentVolumeClaim") == 1
            assert "HorizontalPodAutoscaler" not in kinds
            assert "PodDisruptionBudget" not in kinds
            (spec,) = deployments
            assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
        else:
            assert "PersistentVolumeClaim" not in kinds
            assert kinds.count("HorizontalPodAutoscaler") == len(deployments)
            assert all("replicas" not in spec for spec in deployments)
    for generated in istio_files(workspace):
        for doc in yaml_documents(generated.text):
            if doc["kind"] == "Kustomization":
                continue
            assert istio_errors(doc) == []
            if doc["kind"] == "VirtualService":
                for http in doc["spec"]["http"]:
                    assert sum(route["weight"] for route in http["route"]) == 100


@PROFILE
@given(
    workspace=workspaces(),
    versions=weights().filter(lambda w: len(w) > 1),
    data=st.data(),
)
def test_sqlite_canaries_are_refused(
    workspace: Workspace, versions: dict[str, int], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(workspace.services)))
    svc = workspace.services[name]
    workspace.services[name] = svc.model_copy(
        update={"kind": "service", "db": "sqlite", "versions": versions}
    )
    with pytest.raises(UsageError, match=f"^{name} keeps its database in a SQLite file"):
        k8s_files(workspace)
    with pytest.raises(UsageError):
        check_versions(workspace)


@settings(max_examples=200, deadline=None, database=None)
@given(
    current=weights(),
    version=st.sampled_from(["v1", "v2", "v3", "v4"]),
    weight=st.integers(-10, 110),
    promote=st.booleans(),
)
def test_canary_steps_keep_weights_summing_to_100(
    current: dict[str, int], version: str, weight: int, promote: bool
) -> None:
    try:
        result = plan_canary(
            current, version=version, weight=None if promote else weight, promote=promote
        )
    except UsageError:
        return
    assert sum(result.values()) == 100
    assert all(0 <= w <= 100 for w in result.values())
    assert result[version] == (100 if promote else weight)
    Workspace.model_validate(
        {"name": "p", "services": {"a": {"path": "a", "port": 8001, "versions": result}}}
    )
