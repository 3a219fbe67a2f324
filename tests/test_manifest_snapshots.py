"""Pin every file msgen generates for the three-service workspace (two services, a gateway,
one canary). An intended change updates them in the same commit:
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


def test_file_list(snapshot: SnapshotAssertion) -> None:
    assert sorted(FILES) == snapshot


@pytest.mark.parametrize("path", sorted(FILES))
def test_generated_file(path: str, snapshot: SnapshotAssertion) -> None:
    assert FILES[path] == snapshot
