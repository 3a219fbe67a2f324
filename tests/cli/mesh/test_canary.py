"""``msgen mesh canary`` and ``mesh generate`` / ``k8s generate`` through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from msgen.cli import app
from msgen.deploy import plan_canary
from msgen.errors import UsageError
from tests.manifestkit import THREE_SERVICES

runner = CliRunner()


def versions(root: Path, service: str) -> dict[str, int]:
    return yaml.safe_load((root / "msgen.yaml").read_text())["services"][service].get("versions")


def routes(root: Path, service: str) -> list[tuple[str, int]]:
    doc = yaml.safe_load((root / f"deploy/istio/{service}/virtualservice.yaml").read_text())
    return [(r["destination"]["subset"], r["weight"]) for r in doc["spec"]["http"][0]["route"]]


def test_canary_starts_shifts_and_promotes(shop: Path) -> None:
    # billing on PostgreSQL: Kubernetes runs no canary of a SQLite service (test below).
    (shop / "msgen.yaml").write_text(THREE_SERVICES.replace("db: sqlite", "db: postgres"))
    assert runner.invoke(app, ["k8s", "generate"]).exit_code == 0
    result = runner.invoke(app, ["mesh", "canary", "billing", "--version", "v2", "--weight", "10"])
    assert result.exit_code == 0, result.output
    assert "billing: v1 100% -> v1 90%, v2 10%" in result.stdout
    assert versions(shop, "billing") == {"v1": 90, "v2": 10}
    assert routes(shop, "billing") == [("v1", 90), ("v2", 10)]
    assert (shop / "deploy/k8s/billing/deployment-v2.yaml").exists()
    runner.invoke(app, ["mesh", "canary", "billing", "--version", "v2", "--weight", "50"])
    assert versions(shop, "billing") == {"v1": 50, "v2": 50}
    result = runner.invoke(app, ["mesh", "canary", "billing", "--version", "v2", "--promote"])
    assert result.exit_code == 0, result.output
    assert versions(shop, "billing") == {"v2": 100}
    assert routes(shop, "billing") == [("v2", 100)]
    rule = yaml.safe_load((shop / "deploy/istio/billing/destinationrule.yaml").read_text())
    assert [s["name"] for s in rule["spec"]["subsets"]] == ["v2"]
    assert "removed deploy/k8s/billing/deployment-v1.yaml" in " ".join(result.stdout.split())
    assert sorted(p.name for p in (shop / "deploy/k8s/billing").iterdir()) == [
        "configmap.yaml",
        "deployment-v2.yaml",
        "hpa-v2.yaml",
        "poddisruptionbudget.yaml",
        "service.yaml",
        "serviceaccount.yaml",
    ]


def test_canary_of_a_sqlite_service_is_refused_when_deploy_k8s_exists(shop: Path) -> None:
    assert runner.invoke(app, ["k8s", "generate"]).exit_code == 0
    before = {p: p.read_bytes() for p in sorted((shop / "deploy").rglob("*")) if p.is_file()}
    workspace = (shop / "msgen.yaml").read_bytes()
    result = runner.invoke(app, ["mesh", "canary", "billing", "--version", "v2", "--weight", "10"])
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first == (
        "error: billing keeps its database in a SQLite file, which one pod at a time may open: "
        "its versions v1, v2 cannot run side by side in Kubernetes"
    )
    assert "msgen add postgres billing" in result.stderr
    assert (shop / "msgen.yaml").read_bytes() == workspace
    # Nothing written, the Istio routes included.
    after = {p: p.read_bytes() for p in sorted((shop / "deploy").rglob("*")) if p.is_file()}
    assert after == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["orders", "--version", "v3", "--weight", "130"], "invalid weight 130"),
        (["orders", "--version", "v3", "--weight", "-5"], "invalid weight -5"),
        (["orders", "--version", "v3", "--promote"], "unknown version 'v3'"),
        (["orders", "--version", "V 2", "--weight", "5"], "invalid version 'V 2'"),
        (["nope", "--version", "v2", "--weight", "5"], "unknown service 'nope'"),
        (["orders", "--version", "v2"], "give --weight"),
        (["billing", "--version", "v1", "--weight", "40"], "'v1' is the only version"),
    ],
)
def test_bad_canary_requests_change_nothing(shop: Path, argv: list[str], message: str) -> None:
    before = (shop / "msgen.yaml").read_bytes()
    result = runner.invoke(app, ["mesh", "canary", *argv])
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and message in first
    assert "Traceback" not in result.output
    assert (shop / "msgen.yaml").read_bytes() == before
    assert not (shop / "deploy").exists()


def test_canary_keeps_other_versions_at_zero() -> None:
    weights = {"v1": 80, "v2": 10, "v3": 10}
    assert plan_canary(weights, version="v3", weight=20, promote=False) == {
        "v1": 80,
        "v2": 0,
        "v3": 20,
    }
    assert plan_canary({}, version="v1", weight=100, promote=False) == {"v1": 100}
    with pytest.raises(UsageError):
        plan_canary(weights, version="v2", weight=50, promote=True)


def test_mesh_and_k8s_generate_are_idempotent(shop: Path) -> None:
    for group in ("mesh", "k8s"):
        first = runner.invoke(app, [group, "generate"])
        assert first.exit_code == 0, first.output
        assert "created" in first.stdout
        again = runner.invoke(app, [group, "generate"])
        assert "created" not in again.stdout and "updated" not in again.stdout
    assert (shop / "deploy/istio/kustomization.yaml").exists()
    assert (shop / "deploy/k8s/kustomization.yaml").exists()


def test_a_canary_whose_manifests_cannot_be_written_is_not_recorded(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msgen import faults

    before = (shop / "msgen.yaml").read_text()
    monkeypatch.setenv(faults.FAULT_ENV, "1:raise")
    faults.reset()
    try:
        result = runner.invoke(
            app, ["mesh", "canary", "billing", "--version", "v2", "--weight", "10"]
        )
    finally:
        faults.reset()
    assert result.exit_code == 1
    assert "injected fault" in result.stderr
    assert (shop / "msgen.yaml").read_text() == before
    monkeypatch.delenv(faults.FAULT_ENV)
    result = runner.invoke(app, ["mesh", "canary", "billing", "--version", "v2", "--weight", "10"])
    assert result.exit_code == 0, result.output
    assert versions(shop, "billing") == {"v1": 90, "v2": 10}
    assert routes(shop, "billing") == [("v1", 90), ("v2", 10)]
