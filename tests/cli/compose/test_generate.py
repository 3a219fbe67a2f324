"""``msgen compose generate`` through the CLI: files, .env, idempotence, edits kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from msgen.cli import app
from tests.manifestkit import THREE_SERVICES

runner = CliRunner()


def test_generate_writes_compose_env_and_monitoring(shop: Path) -> None:
    result = runner.invoke(app, ["compose", "generate"])
    assert result.exit_code == 0, result.output
    compose = yaml.safe_load((shop / "docker-compose.yml").read_text())
    assert {"orders", "orders-db", "billing", "gateway", "rabbitmq"} <= set(compose["services"])
    env = (shop / ".env").read_text()
    assert "ORDERS_DB_PASSWORD=" in env and "RABBITMQ_PASSWORD=" in env
    assert "ORDERS_DB_PASSWORD=\n" in (shop / ".env.example").read_text()
    for line in env.splitlines():
        if "=" in line and not line.startswith("#"):
            assert line.split("=", 1)[1] not in (shop / "docker-compose.yml").read_text()
    assert ".env" in (shop / ".gitignore").read_text().split()
    assert (shop / "deploy/monitoring/prometheus.yml").exists()
    assert (shop / "deploy/monitoring/grafana/dashboards/orders.json").exists()
    assert not (shop / "docker-compose.override.yml").exists()


def test_regenerating_is_byte_identical_and_keeps_env(shop: Path) -> None:
    runner.invoke(app, ["compose", "generate"])
    before = {p: p.read_bytes() for p in shop.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["compose", "generate"])
    assert result.exit_code == 0
    assert "created" not in result.stdout and "updated" not in result.stdout
    assert {p: p.read_bytes() for p in shop.rglob("*") if p.is_file()} == before


def test_an_edited_compose_file_is_kept_until_forced(shop: Path) -> None:
    runner.invoke(app, ["compose", "generate"])
    compose = shop / "docker-compose.yml"
    edited = compose.read_text().replace("restart: unless-stopped", "restart: always", 1)
    compose.write_text(edited)
    result = runner.invoke(app, ["compose", "generate"])
    assert result.exit_code == 0
    assert "kept" in result.stdout and "--force" in result.stderr
    assert compose.read_text() == edited
    result = runner.invoke(app, ["compose", "generate", "--force"])
    assert "replaced" in result.stdout
    assert "restart: always" not in compose.read_text()


def test_with_and_without_are_recorded(shop: Path) -> None:
    result = runner.invoke(app, ["compose", "generate", "--without", "consul"])
    assert result.exit_code == 0, result.output
    compose = yaml.safe_load((shop / "docker-compose.yml").read_text())
    assert "consul" not in compose["services"]
    assert compose["x-msgen"] == {"without": ["consul"]}
    assert "CONSUL_HTTP_ADDR=" in (shop / ".env").read_text()


def test_unknown_infrastructure_is_a_one_line_usage_error(shop: Path) -> None:
    result = runner.invoke(app, ["compose", "generate", "--with", "kafka"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: unknown infrastructure 'kafka'"
    assert not (shop / "docker-compose.yml").exists()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("v2: 10", "v2: 20", "services.orders.versions: canary weights must sum to 100"),
        ("v2: 10", "V2: 10", "services.orders.versions: version 'V2' must be up to 20"),
    ],
)
def test_invalid_canary_data_in_the_workspace_is_reported_and_exits_2(
    tree, monkeypatch, old: str, new: str, message: str
) -> None:
    root = tree({"msgen.yaml": THREE_SERVICES.replace(old, new)})
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["compose", "generate"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (root / "docker-compose.yml").exists()


def test_a_removed_service_loses_its_generated_dashboard(shop: Path) -> None:
    runner.invoke(app, ["compose", "generate"])
    dashboard = shop / "deploy/monitoring/grafana/dashboards/billing.json"
    assert dashboard.exists()
    workspace = yaml.safe_load((shop / "msgen.yaml").read_text())
    del workspace["services"]["billing"]
    workspace["services"]["gateway"]["upstreams"] = ["orders"]
    (shop / "msgen.yaml").write_text(yaml.safe_dump(workspace))
    result = runner.invoke(app, ["compose", "generate"])
    assert result.exit_code == 0, result.output
    assert not dashboard.exists()
    assert "billing" not in yaml.safe_load((shop / "docker-compose.yml").read_text())["services"]


def test_outside_a_workspace_is_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["compose", "generate"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no msgen.yaml in ")
    assert list(tmp_path.iterdir()) == []
