"""``msgen k8s generate`` through the CLI: the warnings and the next steps it prints."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from msgen.cli import app
from msgen.manifests.k8s import secret_keys
from msgen.workspace import Workspace
from tests.manifestkit import THREE_SERVICES

runner = CliRunner()


def test_generate_warns_once_per_sqlite_service(shop: Path) -> None:
    result = runner.invoke(app, ["k8s", "generate"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: billing keeps its database in a SQLite file: in Kubernetes it runs as one pod "
        "on one volume (no autoscaling, down while it restarts); move it to PostgreSQL with "
        "msgen add postgres billing"
    ]
    (shop / "msgen.yaml").write_text(THREE_SERVICES.replace("db: sqlite", "db: postgres"))
    result = runner.invoke(app, ["k8s", "generate"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "SQLite" not in result.stderr


def test_generate_prints_the_secrets_to_create_then_the_apply(shop: Path) -> None:
    result = runner.invoke(app, ["k8s", "generate"], terminal_width=300)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    steps = lines[
        lines.index("Next: create each service's Secret (put the values in place of ...):") :
    ]
    assert steps[-1] == "  kubectl apply -k deploy/k8s"
    workspace = Workspace.model_validate(yaml.safe_load(THREE_SERVICES))
    created = {}
    for step in steps[1:-1]:
        words = step.split()
        assert words[:4] == ["kubectl", "create", "secret", "generic"]
        created[words[4]] = [
            w.removeprefix("--from-literal=").removesuffix("=...") for w in words[5:]
        ]
    # Every service that needs a Secret, exactly its keys, in the order the pod annotation lists.
    assert created == {
        f"{name}-env": secret_keys(workspace, name)
        for name in sorted(workspace.services)
        if secret_keys(workspace, name)
    }
    assert set(created) == {"billing-env", "orders-env"}
    annotation = yaml.safe_load((shop / "deploy/k8s/orders/deployment-v1.yaml").read_text())
    keys = annotation["spec"]["template"]["metadata"]["annotations"]["msgen.dev/secret-keys"]
    assert created["orders-env"] == keys.split(",")


def test_generate_without_secrets_prints_only_the_apply(tree, monkeypatch) -> None:
    workspace = "schema: 1\nname: s\nservices:\n  a: {path: a, port: 8001, db: none}\n"
    root = tree({"msgen.yaml": workspace})
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["k8s", "generate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == ["Next:", "  kubectl apply -k deploy/k8s"]
    assert "secret" not in result.stdout and result.stderr == ""


def test_generate_refuses_a_sqlite_service_with_canary_versions(shop: Path) -> None:
    text = THREE_SERVICES.replace(
        "    upstreams: [orders]\n", "    upstreams: [orders]\n    versions: {v1: 90, v2: 10}\n", 1
    )
    assert "versions: {v1: 90, v2: 10}" in text.split("  billing:")[1].split("  gateway:")[0]
    (shop / "msgen.yaml").write_text(text)
    result = runner.invoke(app, ["k8s", "generate"], terminal_width=300)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == (
        "error: billing keeps its database in a SQLite file, which one pod at a time may open: "
        "its versions v1, v2 cannot run side by side in Kubernetes"
    )
    assert "Traceback" not in result.output
    assert not (shop / "deploy").exists()
