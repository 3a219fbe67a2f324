import shutil
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from msgen.cli import app
from msgen.graph import (
    build_graph,
    render_dot,
    render_image,
    render_mermaid,
    routed_by,
    unrouted,
)
from msgen.workspace import Workspace, load_workspace

runner = CliRunner()

SHOP = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: 8001
    db: postgres
    broker: rabbitmq
    discovery: consul
    publishes: [orders.order_created, orders.order_updated]
    versions: {v1: 90, v2: 10}
  billing:
    path: billing
    port: 8002
    broker: rabbitmq
    consumes: [orders.order_created, orders.order_shipped]
    upstreams: [orders]
  gateway:
    kind: gateway
    path: gateway
    port: 8000
    db: none
    upstreams: [orders, billing]
"""


@pytest.fixture
def shop(tree) -> Path:
    return tree({"msgen.yaml": SHOP})


def model(root: Path) -> Workspace:
    return load_workspace(root / "msgen.yaml").model


def test_graph_nodes_and_edges(shop: Path) -> None:
    graph = build_graph(model(shop))
    kinds = {node.id: node.kind for node in graph.nodes}
    assert kinds == {
        "billing": "service",
        "billing_db": "database",
        "consul": "consul",
        "gateway": "gateway",
        "orders": "service",
        "orders_db": "database",
        "rabbitmq": "broker",
    }
    edges = {(e.source, e.target, e.kind, e.label) for e in graph.edges}
    assert ("orders", "billing", "event", "orders.order_created") in edges
    assert ("gateway", "orders", "http", "") in edges
    assert ("billing", "orders", "http", "") in edges
    assert ("orders", "orders_db", "uses", "") in edges
    assert not any(e.label == "orders.order_shipped" for e in graph.edges)  # nobody publishes
    assert next(n.label for n in graph.nodes if n.id == "orders") == "orders (v1 90% / v2 10%)"


def test_graph_is_deterministic(shop: Path) -> None:
    text = (shop / "msgen.yaml").read_text()
    reordered = text.replace(
        "consumes: [orders.order_created, orders.order_shipped]",
        "consumes: [orders.order_shipped, orders.order_created]",
    )
    other = shop / "other"
    other.mkdir()
    (other / "msgen.yaml").write_text(reordered)
    assert render_mermaid(build_graph(model(shop))) == render_mermaid(build_graph(model(other)))


def test_mermaid_snapshot(shop: Path, snapshot: SnapshotAssertion) -> None:
    assert render_mermaid(build_graph(model(shop))) == snapshot


def test_dot_snapshot(shop: Path, snapshot: SnapshotAssertion) -> None:
    assert render_dot(build_graph(model(shop))) == snapshot


def test_tree_snapshot(
    shop: Path, monkeypatch: pytest.MonkeyPatch, snapshot: SnapshotAssertion
) -> None:
    monkeypatch.chdir(shop)
    result = runner.invoke(app, ["graph"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "nobody publishes it" in result.stdout
    assert result.stdout == snapshot


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_cli_text_formats_to_stdout_and_file(
    shop: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.chdir(shop)
    result = runner.invoke(app, ["graph", "--format", fmt])
    assert result.exit_code == 0, result.output
    out = shop / f"graph.{fmt}"
    assert runner.invoke(app, ["graph", "-f", fmt, "-o", str(out)]).exit_code == 0
    assert out.read_text() == result.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_contains_every_service_and_event(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svg = render_image(build_graph(model(shop)), "svg").decode()
    assert svg.lstrip().startswith("<?xml")
    for name in ("orders", "billing", "gateway", "orders.order_created", "rabbitmq", "consul"):
        assert name in svg
    monkeypatch.chdir(shop)
    assert runner.invoke(app, ["graph", "-f", "png", "-o", "g.png"]).exit_code == 0
    assert (shop / "g.png").read_bytes().startswith(b"\x89PNG")


def test_missing_graphviz_is_one_line(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(shop)
    monkeypatch.setenv("PATH", str(shop))
    result = runner.invoke(app, ["graph", "--format", "svg"])
    assert result.exit_code == 1
    assert "needs Graphviz's 'dot'" in result.stderr
    assert "apt-get install graphviz" in result.stderr


def test_tree_with_output_is_usage_error(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(shop)
    result = runner.invoke(app, ["graph", "-o", "x.txt"])
    assert result.exit_code == 2


WORKFLOWS = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: 8001
    broker: rabbitmq
    entities:
      Order:
        fields: {total: decimal, status: "enum(pending, paid, cancelled) = pending"}
        commands:
          pay: {from: [pending], to: paid}
          cancel: {from: [pending, paid], to: cancelled}
    publishes: [orders.order_created]
    consumes:
      payments.payment_failed: {command: Order.cancel, id: order_id}
      payments.payment_captured: {command: Order.pay, id: order_id}
  payments:
    path: payments
    port: 8002
    broker: rabbitmq
    entities:
      Payment:
        fields: {order_id: uuid, amount: decimal, status: "enum(pending, captured) = pending"}
        commands:
          create_for_order: {to: pending}
          capture: {from: [pending], to: captured}
    publishes: [payments.payment_captured, payments.payment_failed]
    consumes:
      orders.order_created: {command: Payment.create_for_order, fields: {order_id: id}}
  audit:
    path: audit
    port: 8003
    db: none
    broker: rabbitmq
    consumes: {orders.order_created: null, payments.payment_captured: null}
"""


@pytest.fixture
def workflows(tree) -> Path:
    return tree({"msgen.yaml": WORKFLOWS})


def test_a_consumed_event_that_runs_a_command_is_labelled_with_it(workflows: Path) -> None:
    events = {(e.source, e.target, e.label) for e in build_graph(model(workflows)).edges}
    assert {edge for edge in events if edge[2]} == {
        ("orders", "payments", "orders.order_created -> Payment.create_for_order"),
        ("payments", "orders", "payments.payment_captured -> Order.pay"),
        ("payments", "orders", "payments.payment_failed -> Order.cancel"),
        # a mapping entry without a command keeps the event's name
        ("orders", "audit", "orders.order_created"),
        ("payments", "audit", "payments.payment_captured"),
    }
    mermaid = render_mermaid(build_graph(model(workflows)))
    assert '    payments -.->|"payments.payment_captured -> Order.pay"| orders\n' in mermaid
    dot = render_dot(build_graph(model(workflows)))
    assert (
        '    payments -> orders [style=dashed, label="payments.payment_captured -> Order.pay"];\n'
        in dot
    )


def test_command_labels_are_deterministic(workflows: Path) -> None:
    text = (workflows / "msgen.yaml").read_text()
    lines = text.splitlines(keepends=True)
    # the mapping in the other order
    start = lines.index("      payments.payment_failed: {command: Order.cancel, id: order_id}\n")
    lines[start], lines[start + 1] = lines[start + 1], lines[start]
    other = workflows / "other"
    other.mkdir()
    (other / "msgen.yaml").write_text("".join(lines))
    assert "".join(lines) != text
    for render in (render_mermaid, render_dot):
        assert render(build_graph(model(workflows))) == render(build_graph(model(other)))


def test_workflows_mermaid_snapshot(workflows: Path, snapshot: SnapshotAssertion) -> None:
    assert render_mermaid(build_graph(model(workflows))) == snapshot


def test_the_tree_and_the_list_show_the_commands(
    workflows: Path, monkeypatch: pytest.MonkeyPatch, snapshot: SnapshotAssertion
) -> None:
    monkeypatch.chdir(workflows)
    result = runner.invoke(app, ["graph"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "consumes payments.payment_captured -> Order.pay <- payments" in result.stdout
    assert "publishes orders.order_created -> audit, payments (Payment.create_for_order)" in (
        result.stdout
    )
    assert result.stdout == snapshot
    listed = runner.invoke(app, ["list"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    assert "orders.order_created -> Payment.create_for_order" in listed.stdout


ROUTES = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: 8001
  gateway:
    kind: gateway
    path: gateway
    port: 8000
    db: none
    upstreams: [orders]
  pay-ments:
    path: payments
    port: 8002
    db: none
  edge:
    kind: gateway
    path: edge
    port: 8010
    db: none
    upstreams: [pay-ments]
  billing:
    path: billing
    port: 8003
"""


@pytest.fixture
def routes(tree) -> Path:
    """Two gateways; ``billing`` was added after both and neither routes it."""
    return tree({"msgen.yaml": ROUTES})


def other_workspace(root: Path, text: str) -> Path:
    """A second workspace beside ``root``'s, with ``text`` as its msgen.yaml."""
    other = root / "other"
    other.mkdir()
    (other / "msgen.yaml").write_text(text)
    return other


def test_services_no_gateway_routes_are_unrouted(routes: Path) -> None:
    assert routed_by(model(routes)) == {
        "orders": ["gateway"],
        "pay-ments": ["edge"],
        "billing": [],
    }
    assert unrouted(model(routes)) == ["billing"]
    assert unrouted(model(other_workspace(routes, SHOP))) == []


def test_without_a_gateway_no_service_is_unrouted(routes: Path) -> None:
    assert unrouted(model(other_workspace(routes, WORKFLOWS))) == []


def test_mermaid_and_dot_show_unrouted_services_apart(routes: Path) -> None:
    graph = build_graph(model(routes))
    assert graph.unrouted == ("billing",)
    note = "not routed by a gateway: billing (msgen update edge gateway)"
    mermaid = render_mermaid(graph).splitlines()
    assert mermaid[:3] == ["%% shop: generated by msgen graph", f"%% {note}", "flowchart LR"]
    assert '    billing["billing (not routed)"]:::unrouted' in mermaid
    assert '    pay_ments["pay-ments"]:::service' in mermaid
    assert mermaid[-1] == "    classDef unrouted fill:#f4f4f4,stroke:#888888,stroke-dasharray:5 5"
    dot = render_dot(graph).splitlines()
    assert dot[1] == f"// {note}"
    assert (
        '    billing [label="billing (not routed)", shape=box, style="rounded,filled,dashed", '
        'fillcolor="#f4f4f4", color=gray50, fontcolor=gray30];'
    ) in dot
    # a workspace whose gateways route everything draws as before (the snapshots above)
    shop = model(other_workspace(routes, SHOP))
    assert "not routed" not in render_mermaid(build_graph(shop))
    assert "not routed" not in render_dot(build_graph(shop))


def test_the_tree_flags_unrouted_services_and_says_how_to_route_them(
    routes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(routes)
    result = runner.invoke(app, ["graph"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.endswith("billing service :8003 not routed") for line in lines)
    assert not any(line.endswith("orders service :8001 not routed") for line in lines)
    assert lines[-1] == "not routed by a gateway: billing (msgen update edge gateway)"
