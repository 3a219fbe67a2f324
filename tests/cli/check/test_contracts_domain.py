"""Contracts follow the domain: a consumer's typed model, checked after the publisher changes.

``orders`` is generated from its domain; ``payments`` consumes ``orders.order_created`` and
gets a typed model of it derived from orders' contracts/events.json. Each case changes the
publisher's domain through msgen (``remove field``, ``add field``), which regenerates its
contract, then runs ``msgen check contracts``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from tests.clikit import system_copy
from tests.servicekit import render

EVENT = "orders.order_created"
ORDER_FIELDS = ("customer_id:uuid", "total:decimal", "note:text?", "placed:datetime?")

runner = CliRunner()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("domain-pair")
    render(root, "orders", db="sqlite", fields=ORDER_FIELDS)
    # A publisher msgen knows (--consumes must name one) but whose contract does not exist:
    # stock has no broker, so no contracts/events.json.
    render(root, "stock", db="none")
    render(root, "payments", db="sqlite", consumes=(EVENT, "stock.item_moved"))
    return root


@pytest.fixture
def system(rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return system_copy(rendered, tmp_path, monkeypatch)


def msgen(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def check() -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["check", "contracts", "--json", "payments"])
    return result.exit_code, json.loads(result.stdout)


def verdict(data: dict[str, object], event: str = EVENT) -> tuple[str, list[tuple[str, str, str]]]:
    """payments' verdict on ``event`` and its problems as (kind, path, message)."""
    checks = data["checks"]
    assert isinstance(checks, list)
    [found] = [c for c in checks if c["event"] == event]
    return found["verdict"], [(p["kind"], p["path"], p["message"]) for p in found["problems"]]


def consumer_model(root: Path) -> str:
    text = (root / "payments" / "src" / "payments" / "events.py").read_text()
    start = text.index("class OrdersOrderCreated(ConsumedEvent):")
    return text[start : text.index("\n\n\nclass", start)]


def test_the_consumer_model_is_typed_from_the_publisher_contract(system: Path) -> None:
    model = consumer_model(system)
    for line in (
        "    id: uuid.UUID\n",
        "    customer_id: uuid.UUID\n",
        "    total: DecimalText\n",
        "    note: str | None\n",
        "    placed: datetime | None\n",
        "    version: int",
    ):
        assert line in model
    assert "Derived from the contract of orders" in model
    code, data = check()
    assert (code, verdict(data)[0]) == (1, "compatible")  # 1: stock.item_moved is unpublished


def test_an_event_without_a_known_publisher_gets_the_minimal_model(system: Path) -> None:
    text = (system / "payments" / "src" / "payments" / "events.py").read_text()
    start = text.index("class StockItemMoved(ConsumedEvent):")
    model = text[start : text.index("\n\n\n", start)]
    note = "No contract of stock.item_moved was found in the workspace: declare what you read."
    assert f"\n    {note}\n" in model  # one line
    assert model.endswith("\n    id: str")


def test_removing_a_field_the_consumer_reads_names_the_consumer_and_the_field(
    system: Path,
) -> None:
    msgen("remove", "field", "orders", "Order", "total")
    code, data = check()
    message = "payments requires it; orders does not send it"
    assert (code, verdict(data)) == (1, ("incompatible", [("missing-field", "total", message)]))
    table = runner.invoke(app, ["check", "contracts", "payments"], env={"COLUMNS": "250"})
    assert f"total: {message}" in table.stdout


def test_a_changed_type_names_the_consumer_and_the_field(system: Path) -> None:
    msgen("remove", "field", "orders", "Order", "note")
    msgen("add", "field", "orders", "Order", "note:int?")
    code, data = check()
    message = "orders sends integer, payments expects null or string"
    assert (code, verdict(data)) == (1, ("incompatible", [("type", "note", message)]))


def test_adding_an_optional_field_to_the_publisher_is_compatible(system: Path) -> None:
    msgen("add", "field", "orders", "Order", "coupon:str?")
    published = json.loads((system / "orders" / "contracts" / "events.json").read_text())
    assert "coupon" in published["publishes"][EVENT]["properties"]
    _, data = check()
    assert verdict(data) == ("compatible", [])
