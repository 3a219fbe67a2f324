"""Validators for what msgen renders, and workspaces to render: shared by the manifest tests.

- compose files: check-jsonschema's vendored Compose Specification schema, the newer copy in
  ``../shared/schemas/compose-spec.json`` and, when installed, ``docker-compose config -q``;
- Kubernetes objects: ``kubernetes-validate`` in strict mode for each supported version;
- Istio objects: the CRD's openAPIV3Schema with unknown fields rejected.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

THREE_SERVICES = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: 8001
    db: postgres
    broker: rabbitmq
    discovery: consul
    features: [tracing, metrics]
    publishes: [orders.order_created]
    versions: {v1: 90, v2: 10}
  billing:
    path: billing
    port: 8002
    db: sqlite
    broker: rabbitmq
    features: [metrics]
    consumes: [orders.order_created]
    upstreams: [orders]
  gateway:
    kind: gateway
    path: gateway
    port: 8000
    upstreams: [orders, billing]
"""


def schemas_dir() -> Path:
    """``$MSGEN_SCHEMAS_DIR``, else ``shared/schemas`` beside the project (or an ancestor)."""
    if os.environ.get("MSGEN_SCHEMAS_DIR"):
        return Path(os.environ["MSGEN_SCHEMAS_DIR"])
    for parent in ROOT.parents:
        if (parent / "shared" / "schemas").is_dir():
            return parent / "shared" / "schemas"
    return ROOT.parent / "shared" / "schemas"


def shared_schema(name: str) -> Path:
    path = schemas_dir() / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (set MSGEN_SCHEMAS_DIR to the shared schemas)")
    return path


@functools.cache
def _builtin_compose_validator() -> Any:
    import jsonschema

    text = (
        resources.files("check_jsonschema")
        .joinpath("builtin_schemas/vendor/compose-spec.json")
        .read_text(encoding="utf-8")
    )
    return jsonschema.Draft7Validator(json.loads(text))


@functools.cache
def _shared_compose_validator(path: Path) -> Any:
    import jsonschema

    return jsonschema.Draft7Validator(json.loads(path.read_text(encoding="utf-8")))


def compose_errors(document: dict[str, Any]) -> list[str]:
    """Errors of both Compose Specification schemas (the shared one skips when absent)."""
    errors = [f"builtin: {e.message}" for e in _builtin_compose_validator().iter_errors(document)]
    shared = _shared_compose_validator(shared_schema("compose-spec.json"))
    errors += [f"shared: {e.message}" for e in shared.iter_errors(document)]
    return errors


def docker_compose_config(root: Path) -> subprocess.CompletedProcess[str] | None:
    """``docker-compose config -q`` (compose v1, an independent parser) in ``root``."""
    binary = shutil.which("docker-compose")
    if binary is None:
        return None
    return subprocess.run(
        [binary, "config", "-q"], cwd=root, capture_output=True, text=True, check=False
    )


def k8s_errors(document: dict[str, Any], version: str) -> list[str]:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    try:
        kubernetes_validate.validate(document, version, strict=True)
    except ValidationError as exc:
        return [f"{document['kind']}/{document['metadata']['name']} ({version}): {exc.message}"]
    except SchemaNotFoundError as exc:
        return [f"no schema: {exc}"]
    return []


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(value) for value in node]
    return node


@functools.cache
def _istio_validators(path: Path) -> dict[tuple[str, str], Any]:
    import jsonschema

    validators = {}
    for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        for version in spec["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            schema = _strict(schema)
            schema.setdefault("properties", {})
            schema["properties"]["apiVersion"] = {"type": "string"}
            schema["properties"]["kind"] = {"type": "string"}
            schema["properties"]["metadata"] = {"type": "object"}
            key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
            validators[key] = jsonschema.Draft7Validator(schema)
    return validators


def istio_errors(document: dict[str, Any]) -> list[str]:
    validators = _istio_validators(shared_schema("istio-crds.yaml"))
    key = (document["apiVersion"], document["kind"])
    if key not in validators:
        return [f"no CRD for {key}"]
    name = f"{document['kind']}/{document['metadata']['name']}"
    return [f"{name}: {e.json_path}: {e.message}" for e in validators[key].iter_errors(document)]


def yaml_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]
