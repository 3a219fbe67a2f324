"""``consumes:`` as a mapping of events to commands, through ``msgen update``.

Two sqlite services are rendered once (``orders`` and ``payments`` with their lifecycle
commands, as in docs/workflows.md) and copied for each test; a test writes a ``consumes:``
mapping into ``msgen.yaml`` as a user would and runs ``msgen update``.
"""

from __future__ import annotations

import ast
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msgen.workflows import template_workflows
from msgen.workspace import load_workspace
from tests.clikit import edit_workspace, msgen
from tests.servicekit import install, ruff_clean, run, run_own_tests

ORDER_STATES = "status:enum(pending, paid, shipped, cancelled)=pending"
PAYMENT_STATES = "status:enum(pending, captured, failed)=pending"
CAPTURED = {"payments.payment_captured": {"command": "Order.pay", "id": "order_id"}}
CREATE = {
    "orders.order_created": {
        "command": "Payment.create_for_order",
        "fields": {"order_id": "id", "amount": "total"},
    }
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        steps = [
            ["new", "service", "orders", "total:decimal", ORDER_STATES, "--db", "sqlite"],
            [
                *("new", "service", "payments", "order_id:uuid", "amount:decimal"),
                *(PAYMENT_STATES, "--db", "sqlite", "--consumes", "orders.order_created"),
            ],
            ["add", "command", "orders", "Order", "pay", "--from", "pending", "--to", "paid"],
            [
                *("add", "command", "orders", "Order", "cancel"),
                *("--from", "pending", "--from", "paid", "--to", "cancelled"),
            ],
            ["add", "command", "payments", "Payment", "create_for_order", "--to", "pending"],
            [
                *("add", "command", "payments", "Payment", "capture"),
                *("--from", "pending", "--to", "captured"),
            ],
        ]
        for step in steps:
            code, out, err = msgen(*step)
            assert code == 0, out + err
    return root


@pytest.fixture
def workspace(rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    shutil.copytree(rendered, root, symlinks=True)
    monkeypatch.chdir(root)
    yield root


def set_consumes(root: Path, service: str, consumes: Any) -> None:
    def change(document: Any) -> None:
        document["services"][service]["consumes"] = consumes

    edit_workspace(root, change)


def workflows_of(service_dir: Path, package: str) -> dict[str, Any]:
    """WORKFLOWS of the rendered workflows.py: event -> the Workflow(...) keyword values."""
    tree = ast.parse((service_dir / "src" / package / "workflows.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "WORKFLOWS":
            assert isinstance(node.value, ast.Dict)
            result: dict[str, Any] = {}
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                assert isinstance(key, ast.Constant) and isinstance(value, ast.Call)
                result[key.value] = {
                    kw.arg: ast.unparse(kw.value)
                    if not isinstance(kw.value, ast.Constant)
                    else kw.value.value
                    for kw in value.keywords
                }
            return result
    raise AssertionError("no WORKFLOWS in workflows.py")


def test_a_consumer_that_starts_consuming_gets_its_workflows_and_consumer_tables(
    workspace: Path,
) -> None:
    set_consumes(workspace, "orders", CAPTURED)

    code, out, err = msgen("update", "orders")

    assert code == 0, out + err
    orders = workspace / "orders"
    assert workflows_of(orders, "orders") == {
        "payments.payment_captured": {"spec": "ORDER", "command": "pay", "entity_id": "order_id"}
    }
    versions = orders / "src" / "orders" / "migrations" / "versions"
    revision = versions / "0004_consumer_tables.py"
    assert revision.is_file(), sorted(p.name for p in versions.iterdir())
    assert 'down_revision: str | Sequence[str] | None = "0002"' in revision.read_text()
    handlers = (orders / "src" / "orders" / "handlers.py").read_text()
    assert "HANDLERS: dict[str, Handler] = {}" in handlers  # the event runs a command instead
    assert (orders / "tests" / "test_workflows.py").is_file()
    assert not (orders / "tests" / "test_consumer.py").exists()
    entry = load_workspace(workspace / "msgen.yaml").model.services["orders"]
    assert entry.consumed_events == ["payments.payment_captured"]
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=orders)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=orders)


def test_a_creation_command_maps_payload_fields_and_plain_events_keep_their_handler(
    workspace: Path,
) -> None:
    set_consumes(workspace, "payments", CREATE)
    code, out, err = msgen("update", "payments")
    assert code == 0, out + err
    payments = workspace / "payments"
    assert workflows_of(payments, "payments") == {
        "orders.order_created": {
            "spec": "PAYMENT",
            "command": "create_for_order",
            "create": "PaymentCreate",
            "fields": "{'order_id': 'id', 'amount': 'total'}",
        }
    }
    # Already a consumer: no second set of consumer tables.
    versions = payments / "src" / "payments" / "migrations" / "versions"
    assert not list(versions.glob("*consumer_tables*"))

    set_consumes(workspace, "payments", {"orders.order_created": None})
    code, out, err = msgen("update", "payments")
    assert code == 0, out + err
    assert not (payments / "src" / "payments" / "workflows.py").exists()
    handlers = (payments / "src" / "payments" / "handlers.py").read_text()
    assert '"orders.order_created": on_orders_order_created' in handlers
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=payments)


@pytest.mark.parametrize(
    ("service", "consumes", "key", "message"),
    [
        (
            "orders",
            {"payments.payment_captured": {"command": "Order.refund", "id": "order_id"}},
            "payments.payment_captured.command",
            "Order has no command 'refund' (its commands: pay, cancel)",
        ),
        (
            "orders",
            {"payments.payment_captured": {"command": "Invoice.pay", "id": "order_id"}},
            "payments.payment_captured.command",
            "Invoice is not an entity of this service (Order)",
        ),
        (
            "orders",
            {"payments.payment_captured": {"command": "Order.pay"}},
            "payments.payment_captured.id",
            "changes an existing Order: name the payload field holding its id",
        ),
        (
            "payments",
            {"orders.order_created": {"command": "Payment.create_for_order", "id": "id"}},
            "orders.order_created.id",
            "creates a Payment: it takes no id",
        ),
        (
            "payments",
            {
                "orders.order_created": {
                    "command": "Payment.create_for_order",
                    "fields": {"status": "status"},
                }
            },
            "orders.order_created.fields.status",
            "'status' is not a field Payment.create_for_order sets",
        ),
        (
            "orders",
            {"shipping.parcel_sent": {"command": "Order.pay", "id": "order_id"}},
            "shipping.parcel_sent",
            "does not name a service of this workspace",
        ),
    ],
)
def test_a_mapping_that_does_not_fit_the_domain_is_refused_naming_its_line(
    workspace: Path, service: str, consumes: dict[str, Any], key: str, message: str
) -> None:
    set_consumes(workspace, service, consumes)
    before = {p: p.read_bytes() for p in (workspace / service).rglob("*") if p.is_file()}

    code, _, err = msgen("update", service)

    assert code != 0
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"error: {workspace / 'msgen.yaml'}:"), err
    assert f"services.{service}.consumes.{key}" in first, err
    assert message in first, err
    after = {p: p.read_bytes() for p in (workspace / service).rglob("*") if p.is_file()}
    assert after == before


def test_the_workflows_answer_follows_msgen_yaml(workspace: Path) -> None:
    set_consumes(workspace, "orders", CAPTURED)
    entry = load_workspace(workspace / "msgen.yaml").model.services["orders"]

    [flow] = template_workflows(entry)

    assert flow == {
        "event": "payments.payment_captured",
        "entity": "Order",
        "spec": "ORDER",
        "command": "pay",
        "creates": False,
        "id": "order_id",
        "fields": [],
    }


@pytest.mark.slow
def test_an_event_sourced_service_with_commands_passes_its_own_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command is an event of the aggregate; its tests replay the stream."""
    monkeypatch.chdir(tmp_path)
    steps = [
        [
            *("new", "service", "ledger", "total:decimal", ORDER_STATES),
            *("--db", "sqlite", "--event-sourcing"),
        ],
        ["add", "command", "ledger", "Ledger", "pay", "--from", "pending", "--to", "paid"],
        ["add", "command", "ledger", "Ledger", "ship", "--from", "paid", "--to", "shipped"],
        [
            *("add", "command", "ledger", "Ledger", "cancel"),
            *("--from", "pending", "--from", "paid", "--to", "cancelled"),
        ],
    ]
    for step in steps:
        code, out, err = msgen(*step)
        assert code == 0, out + err
    service = tmp_path / "ledger"
    ruff_clean(service)
    python = install(service)
    output = run_own_tests(service, python)
    assert " passed" in output
    assert " failed" not in output
