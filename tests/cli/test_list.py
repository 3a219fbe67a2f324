import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app

runner = CliRunner()

WORKSPACE = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: 8001
    db: postgres
    features: [tracing]
  edge:
    kind: gateway
    path: gateway
    port: 8000
"""


def test_list_table(tree, monkeypatch) -> None:
    root = tree({"msgen.yaml": WORKSPACE, "orders/x": ""})
    monkeypatch.chdir(root / "orders")
    result = runner.invoke(app, ["list"], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row = next(line for line in lines if "orders" in line and "8001" in line)
    assert "db:postgres, tracing" in row
    assert any("edge" in line and "gateway" in line and "8000" in line for line in lines)


def test_list_json(tree, monkeypatch) -> None:
    root = tree({"msgen.yaml": WORKSPACE})
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "shop"
    assert [s["name"] for s in data["services"]] == ["orders", "edge"]
    assert data["services"][0]["port"] == 8001
    assert data["services"][0]["features"] == ["tracing"]
    assert data["services"][1]["kind"] == "gateway"


def test_list_empty_workspace(tree, monkeypatch) -> None:
    monkeypatch.chdir(tree({"msgen.yaml": "schema: 1\nname: shop\n"}))
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    assert "no services yet" in result.stdout


def test_list_outside_workspace_fails_cleanly(in_tmp: Path) -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 1
    assert "no msgen.yaml" in result.stderr
    assert "hint: run 'msgen init'" in result.stderr


def test_list_invalid_workspace_names_line_and_exits_2(tree, monkeypatch) -> None:
    monkeypatch.chdir(tree({"msgen.yaml": WORKSPACE.replace("port: 8001", "port: many")}))
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 2
    assert "msgen.yaml:6: services.orders.port" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_list_flags_services_of_older_templates(tree, monkeypatch) -> None:
    from msgen.template_versions import template_version

    current = template_version("service")
    workspace = (
        "schema: 1\nname: shop\nservices:\n"
        f"  orders:\n    path: orders\n    port: 8001\n    template_version: {current}\n"
        "  billing:\n    path: billing\n    port: 8002\n    template_version: 0.0.1+0123456789ab\n"
    )
    monkeypatch.chdir(tree({"msgen.yaml": workspace}))
    table = runner.invoke(app, ["list"], terminal_width=200)
    assert table.exit_code == 0, table.output
    rows = {line.split()[1]: line for line in table.stdout.splitlines() if "800" in line}
    assert "current" in rows["orders"]
    assert "outdated" in rows["billing"]
    data = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert [s["template_outdated"] for s in data["services"]] == [False, True]


EVENTS = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: 8001
    broker: rabbitmq
    features: [tracing, metrics, ci:github]
    publishes: [orders.order_created, orders.order_updated, orders.order_deleted]
  notifications:
    path: notifications
    port: 8002
    broker: rabbitmq
    features: [tracing, metrics, ci:github]
    publishes: [notifications.notification_created]
    consumes: [orders.order_created]
  gateway:
    kind: gateway
    path: gateway
    port: 8000
    upstreams: [orders, notifications]
"""


@pytest.mark.parametrize("width", [80, 60])
def test_list_keeps_names_and_headings_whole_in_a_narrow_terminal(
    tree, monkeypatch, width: int
) -> None:
    monkeypatch.chdir(tree({"msgen.yaml": EVENTS}))
    result = runner.invoke(app, ["list"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "…" not in result.stdout
    assert max(len(line.rstrip()) for line in lines) <= width
    for name in ("orders", "notifications", "gateway"):
        assert any(line.split()[1:2] == [name] for line in lines), name
    (heading,) = [line for line in lines if "name" in line.split()]
    shown = heading.replace("┃", " ").split()
    assert {"name", "port", "features", "template"} <= set(shown)
    hidden = [c for c in ("kind", "publishes", "consumes", "path") if c not in shown]
    assert hidden, "the table did not need to leave anything out: widen the test data"
    assert f"not shown at this width: {', '.join(hidden)}" in " ".join(lines)


def test_list_leaves_nothing_out_where_everything_fits(tree, monkeypatch) -> None:
    monkeypatch.chdir(tree({"msgen.yaml": EVENTS}))
    result = runner.invoke(app, ["list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "not shown" not in result.stdout
    assert "notifications.notification_created" in result.stdout


def test_list_in_a_very_narrow_terminal_prints_each_service_as_a_block(tree, monkeypatch) -> None:
    monkeypatch.chdir(tree({"msgen.yaml": EVENTS}))
    result = runner.invoke(app, ["list"], env={"COLUMNS": "30"})
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert "…" not in result.stdout
    block = lines[lines.index("notifications") :]
    assert ["port:", "8002"] in [line.split() for line in block]
    assert ["path:", "notifications"] in [line.split() for line in block]


def test_list_flags_services_no_gateway_routes(tree, monkeypatch) -> None:
    monkeypatch.chdir(tree({"msgen.yaml": WORKSPACE}))  # edge was made before orders
    table = runner.invoke(app, ["list"], terminal_width=200)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    (heading,) = [line for line in lines if "name" in line.split()]
    assert "routed" in heading.replace("┃", " ").split()
    rows = {line.split()[1]: line.split() for line in lines if "800" in line}
    assert "no" in rows["orders"]
    assert "-" in rows["edge"]
    assert lines[-1] == "not routed by a gateway: orders (msgen update edge)"
    data = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert data["unrouted"] == ["orders"]
    assert [s["routed_by"] for s in data["services"]] == [[], None]


def test_list_names_the_gateways_that_route_each_service(tree, monkeypatch) -> None:
    monkeypatch.chdir(tree({"msgen.yaml": EVENTS}))
    table = runner.invoke(app, ["list"], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    assert "routed" not in table.stdout  # every service routed: no column, no note
    data = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert data["unrouted"] == []
    assert [s["routed_by"] for s in data["services"]] == [["gateway"], ["gateway"], None]
