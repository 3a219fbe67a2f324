"""Pin every file msgen generates for the three-service workspace (two services, a gateway,
one canary), and the Compose and Kubernetes files that ``auth: {provider: dev}`` changes or
adds (the issuer's module copies aside: tests/test_compose_auth.py checks that they are
msgen's own). An intended change updates them in the same commit:
``python -m pytest tests/test_manifest_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest
import yaml
from syrupy.assertion import SnapshotAssertion

from msgen.manifests.compose import compose_files, select_infra
from msgen.manifests.istio import istio_files
from msgen.manifests.k8s import k8s_files
from msgen.workspace import Workspace
from tests.manifestkit import THREE_SERVICES


def all_files() -> dict[str, str]:
    workspace = Workspace.model_validate(yaml.safe_load(THREE_SERVICES))
    files = compose_files(workspace, select_infra(workspace))
    files += k8s_files(workspace) + istio_files(workspace)
    return {f.path: f.text for f in files}


FILES = all_files()


def auth_files() -> dict[str, str]:
    data = yaml.safe_load(THREE_SERVICES)
    data["auth"] = {"provider": "dev", "issuer": "http://127.0.0.1:8900", "audience": "shop"}
    workspace = Workspace.model_validate(data)
    files = compose_files(workspace, select_infra(workspace)) + k8s_files(workspace)
    return {
        f.path: f.text
        for f in files
        if FILES.get(f.path) != f.text and not f.path.startswith("deploy/issuer/msgen/")
    }


AUTH_FILES = auth_files()


def test_file_list(snapshot: SnapshotAssertion) -> None:
    assert sorted(FILES) == snapshot


@pytest.mark.parametrize("path", sorted(FILES))
def test_generated_file(path: str, snapshot: SnapshotAssertion) -> None:
    assert FILES[path] == snapshot


def test_auth_file_list(snapshot: SnapshotAssertion) -> None:
    assert sorted(AUTH_FILES) == snapshot


@pytest.mark.parametrize("path", sorted(AUTH_FILES))
def test_generated_auth_file(path: str, snapshot: SnapshotAssertion) -> None:
    assert AUTH_FILES[path] == snapshot
