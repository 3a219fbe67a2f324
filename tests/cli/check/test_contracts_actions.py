"""msgen check contracts on consumed events that run commands (``consumes:`` as a mapping).

``orders`` pays or cancels an Order when ``payments`` captures or fails a payment (transition
commands, the Order id in the payload's ``order_id``); ``payments`` creates a Payment when
``orders`` creates an order (a creation command, its fields mapped from the payload). Each
service's contracts/events.json is written by hand, as pydantic writes it, then one side is
changed and the CLI's verdict read.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    db: sqlite
    broker: rabbitmq
    entities:
      Order:
        fields: {total: decimal, status: "enum(pending, paid, shipped, cancelled) = pending"}
        commands:
          pay: {from: [pending], to: paid}
          cancel: {from: [pending, paid], to: cancelled}
    publishes: [orders.order_created]
    consumes:
      payments.payment_captured: {command: Order.pay, id: order_id}
      payments.payment_failed: {command: Order.cancel, id: order_id}
  payments:
    path: payments
    port: 8002
    db: sqlite
    broker: rabbitmq
    entities:
      Payment:
        fields:
          order_id: uuid
          amount: decimal
          note: text?
          status: "enum(pending, captured, failed) = pending"
        commands:
          create_for_order: {to: pending}
          capture: {from: [pending], to: captured}
          fail: {from: [pending], to: failed}
    publishes: [payments.payment_captured, payments.payment_failed]
    consumes:
      orders.order_created:
        command: Payment.create_for_order
        fields: {order_id: id, amount: total}
"""

CREATED = "orders.order_created"
CAPTURED = "payments.payment_captured"
FAILED = "payments.payment_failed"
UUID = {"format": "uuid", "type": "string"}
DECIMAL = {"format": "decimal", "type": "string"}
DATETIME = {"format": "date-time", "type": "string"}


def published(name: str, states: list[str], **properties: Any) -> dict[str, Any]:
    """An entity's state event as a generated publisher writes it (every field required)."""
    return {
        "$defs": {f"{name}Status": {"enum": states, "title": f"{name}Status", "type": "string"}},
        "properties": {
            **properties,
            "status": {"$ref": f"#/$defs/{name}Status", "default": states[0]},
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "version": {"type": "integer"},
        },
        "required": [*properties, "status", "created_at", "updated_at", "version"],
        "title": f"{name}State",
        "type": "object",
    }


def consumed(**properties: Any) -> dict[str, Any]:
    """A consumer's model: ``id`` and what it reads, extra fields allowed."""
    return {
        "additionalProperties": True,
        "properties": {"id": {}, **properties},
        "required": ["id", *properties],
        "type": "object",
    }


PAYMENT = published(
    "Payment",
    ["pending", "captured", "failed"],
    id=UUID,
    order_id=UUID,
    amount=DECIMAL,
    note={"anyOf": [{"type": "string"}, {"type": "null"}]},
)
CONTRACTS: dict[str, dict[str, Any]] = {
    "orders": {
        "format": 1,
        "service": "orders",
        "publishes": {
            CREATED: published(
                "Order", ["pending", "paid", "shipped", "cancelled"], id=UUID, total=DECIMAL
            )
        },
        "consumes": {CAPTURED: consumed(), FAILED: consumed()},
    },
    "payments": {
        "format": 1,
        "service": "payments",
        "publishes": {CAPTURED: PAYMENT, FAILED: copy.deepcopy(PAYMENT)},
        "consumes": {CREATED: consumed(total=DECIMAL)},
    },
}


@pytest.fixture
def system(tree, monkeypatch: pytest.MonkeyPatch) -> Path:
    root: Path = tree({"msgen.yaml": WORKSPACE})
    for service, contract in CONTRACTS.items():
        write(root, service, contract)
    monkeypatch.chdir(root)
    return root


def write(root: Path, service: str, contract: dict[str, Any]) -> None:
    path = root / service / "contracts" / "events.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(contract, indent=2))


def change(root: Path, service: str, event: str, *edits: Callable[[dict[str, Any]], None]) -> None:
    """Edit the schema ``service`` publishes ``event`` with (from the original contract)."""
    contract = copy.deepcopy(CONTRACTS[service])
    for edit in edits:
        edit(contract["publishes"][event])
    write(root, service, contract)


def check() -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["check", "contracts", "--json"])
    assert result.stderr == "", result.stderr
    return result.exit_code, json.loads(result.stdout)


def verdict(data: dict[str, Any], consumer: str, event: str) -> tuple[str, list[tuple[str, str]]]:
    [found] = [c for c in data["checks"] if (c["consumer"], c["event"]) == (consumer, event)]
    return found["verdict"], [(p["kind"], p["path"]) for p in found["problems"]]


def messages(data: dict[str, Any], consumer: str, event: str) -> list[str]:
    [found] = [c for c in data["checks"] if (c["consumer"], c["event"]) == (consumer, event)]
    return [p["message"] for p in found["problems"]]


def test_compatible_commands_pass(system: Path) -> None:
    code, data = check()
    assert code == 0, data
    assert {(c["consumer"], c["event"], c["verdict"]) for c in data["checks"]} == {
        ("orders", CAPTURED, "compatible"),
        ("orders", FAILED, "compatible"),
        ("payments", CREATED, "compatible"),
    }


def drop(name: str) -> Callable[[dict[str, Any]], None]:
    def edit(schema: dict[str, Any]) -> None:
        del schema["properties"][name]
        schema["required"].remove(name)

    return edit


def retype(name: str, new: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(schema: dict[str, Any]) -> None:
        schema["properties"][name] = new

    return edit


def add(name: str, new: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(schema: dict[str, Any]) -> None:
        schema["properties"][name] = new
        schema["required"].append(name)

    return edit


def optional(name: str) -> Callable[[dict[str, Any]], None]:
    def edit(schema: dict[str, Any]) -> None:
        schema["required"].remove(name)

    return edit


def test_a_transition_without_its_id_field_fails(system: Path) -> None:
    change(system, "payments", CAPTURED, drop("order_id"))
    code, data = check()
    assert code == 1
    assert verdict(data, "orders", CAPTURED) == ("incompatible", [("missing-field", "order_id")])
    assert messages(data, "orders", CAPTURED) == [
        "Order.pay in orders reads it as the Order id; payments does not send it"
    ]
    # the other event of the same publisher still runs Order.cancel
    assert verdict(data, "orders", FAILED) == ("compatible", [])


@pytest.mark.parametrize(
    ("edit", "expected", "message"),
    [
        pytest.param(
            retype("order_id", {"type": "integer"}),
            ("type", "order_id"),
            "payments sends integer, Order.pay in orders expects string (it is the Order id)",
            id="integer",
        ),
        pytest.param(
            retype("order_id", {"type": "string"}),
            ("format", "order_id"),
            "Order.pay in orders expects format uuid, payments sends no particular format"
            " (it is the Order id)",
            id="plain-string",
        ),
        pytest.param(
            retype("order_id", {"anyOf": [UUID, {"type": "null"}]}),
            ("type", "order_id"),
            "payments may send null, Order.pay in orders expects string (it is the Order id)",
            id="nullable",
        ),
        pytest.param(
            optional("order_id"),
            ("missing-field", "order_id"),
            "Order.pay in orders reads it as the Order id; payments may leave it out",
            id="may-be-left-out",
        ),
    ],
)
def test_a_transition_id_of_the_wrong_type_fails(
    system: Path, edit: Callable[[dict[str, Any]], None], expected: tuple[str, str], message: str
) -> None:
    change(system, "payments", CAPTURED, edit)
    code, data = check()
    assert code == 1
    assert verdict(data, "orders", CAPTURED) == ("incompatible", [expected])
    assert messages(data, "orders", CAPTURED) == [message]


def test_a_creation_field_the_publisher_does_not_send_fails(system: Path) -> None:
    contract = copy.deepcopy(CONTRACTS["payments"])
    contract["consumes"][CREATED] = consumed()  # only the command reads total
    write(system, "payments", contract)
    change(system, "orders", CREATED, drop("total"))
    code, data = check()
    assert code == 1
    assert verdict(data, "payments", CREATED) == ("incompatible", [("missing-field", "total")])
    assert messages(data, "payments", CREATED) == [
        "Payment.create_for_order in payments reads it as Payment.amount; orders does not send it"
    ]


def test_a_creation_field_of_an_incompatible_type_fails(system: Path) -> None:
    change(system, "orders", CREATED, retype("total", {"type": "boolean"}))
    code, data = check()
    assert code == 1
    _, problems = verdict(data, "payments", CREATED)
    # the consumer's model and the command both reject it, each saying so
    assert problems == [("type", "total"), ("type", "total")]
    assert messages(data, "payments", CREATED)[1] == (
        "orders sends boolean, Payment.create_for_order in payments expects number or string"
        " (it is Payment.amount)"
    )


def test_a_number_is_a_decimal_and_the_mapped_id_must_be_a_uuid(system: Path) -> None:
    contract = copy.deepcopy(CONTRACTS["payments"])
    contract["consumes"][CREATED] = consumed()
    write(system, "payments", contract)
    change(system, "orders", CREATED, retype("total", {"type": "number"}))
    assert verdict(check()[1], "payments", CREATED) == ("compatible", [])
    change(system, "orders", CREATED, retype("id", {"type": "integer"}))
    assert verdict(check()[1], "payments", CREATED) == ("incompatible", [("type", "id")])


def test_unmapped_fields_come_from_the_same_named_payload_field(system: Path) -> None:
    text = (system / "msgen.yaml").read_text()
    # currency must be set (no default) and is not mapped: the payload must carry currency
    (system / "msgen.yaml").write_text(
        text.replace("          note: text?\n", "          note: text?\n          currency: str\n")
    )
    code, data = check()
    assert code == 1
    assert verdict(data, "payments", CREATED) == ("incompatible", [("missing-field", "currency")])
    currency = add("currency", {"type": "string"})
    change(system, "orders", CREATED, currency)
    assert verdict(check()[1], "payments", CREATED) == ("compatible", [])
    # sent but possibly left out: the Payment could not be created
    change(system, "orders", CREATED, currency, optional("currency"))
    assert verdict(check()[1], "payments", CREATED) == (
        "incompatible",
        [("missing-field", "currency")],
    )
    # note is optional: the payload may lack it, but a note it sends must fit
    change(system, "orders", CREATED, currency, retype("note", {"type": "integer"}))
    assert verdict(check()[1], "payments", CREATED) == ("incompatible", [("type", "note")])


def test_the_table_names_consumer_event_and_field(system: Path) -> None:
    change(system, "payments", CAPTURED, drop("order_id"))
    result = runner.invoke(app, ["check", "contracts"], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines() if CAPTURED in line and "orders" in line)
    assert "incompatible" in row
    assert "order_id: Order.pay in orders reads it as the Order id" in row
    assert "2 compatible, 1 failing" in result.stdout
