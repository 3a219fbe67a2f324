"""The JSON Schema of msgen.yaml: shipped up to date, and it tells good files from bad."""

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from msgen.workspace import load_workspace
from msgen.workspace_schema import REGENERATE, SHIPPED_SCHEMA, main, render_schema

EXAMPLE = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: 8001
    entities:
      Order:
        fields:
          customer_id: uuid
          total: decimal
          note: text?
          status: enum(pending, paid, shipped, cancelled) = pending
          price: {type: decimal, min: 0, max: 1000, index: true}
          code: {type: str, max_length: 40, unique: true}
          kind: {type: enum, choices: [a, b], default: a}
        commands:
          pay: {from: [pending], to: paid}
          ship: {from: paid, to: shipped, field: status}
          cancel: {from: [pending, paid], to: cancelled}
      OrderItem:
        fields:
          order: ref(Order)
          sku: str
          quantity: int
          unit_price: decimal
    consumes:
      payments.payment_captured: {command: Order.pay, id: order_id}
      payments.payment_failed: {command: Order.cancel, id: order_id}
      payments.payment_refunded:
  payments:
    path: payments
    port: 8002
    entities:
      Payment:
        fields: {order_id: uuid, amount: decimal, status: "enum(pending, captured) = pending"}
        commands:
          create_for_order: {to: pending}
          capture: {from: [pending], to: captured}
    consumes:
      orders.order_created: {command: Payment.create_for_order, fields: {order_id: id}}
  shipping:
    path: shipping
    port: 8003
    consumes: [orders.order_paid, payments.payment_captured]
"""


def _errors(text: str) -> list[tuple[list, str]]:
    schema = json.loads(SHIPPED_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    document = YAML(typ="safe").load(text)
    return [(list(error.absolute_path), error.message) for error in validator.iter_errors(document)]


def test_shipped_schema_is_generated_from_the_model() -> None:
    assert SHIPPED_SCHEMA.read_text(encoding="utf-8") == render_schema(), (
        f"src/msgen/schemas/msgen.schema.json is stale; regenerate it: {REGENERATE}"
    )
    assert main(["--check"]) == 0


def test_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SHIPPED_SCHEMA.read_text()))


def test_the_issue_example_validates() -> None:
    assert _errors(EXAMPLE) == []


def test_the_example_is_a_workspace_msgen_loads(tmp_path: Path) -> None:
    (tmp_path / "msgen.yaml").write_text(EXAMPLE)

    services = load_workspace(tmp_path / "msgen.yaml").model.services

    assert set(services["orders"].consume_actions()) == {
        "payments.payment_captured",
        "payments.payment_failed",
    }
    assert services["shipping"].consumed_events == [
        "orders.order_paid",
        "payments.payment_captured",
    ]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (
            "total: decimal",
            "total: decimals",
            ["services", "orders", "entities", "Order", "fields", "total"],
        ),
        (
            "sku: str",
            "sku: string?",
            ["services", "orders", "entities", "OrderItem", "fields", "sku"],
        ),
        (
            "order: ref(Order)",
            "order: ref(order)",
            ["services", "orders", "entities", "OrderItem", "fields", "order"],
        ),
        (
            "index: true",
            "indexed: true",
            ["services", "orders", "entities", "Order", "fields", "price"],
        ),
        ("      OrderItem:", "      order_item:", ["services", "orders", "entities"]),
        ("    port: 8001", "    port: 80", ["services", "orders", "port"]),
        (
            "to: paid}",
            "to: paid, when: now}",
            ["services", "orders", "entities", "Order", "commands", "pay"],
        ),
        (
            "pay: {from: [pending], to: paid}",
            "pay: {from: [], to: paid}",
            ["services", "orders", "entities", "Order", "commands", "pay", "from"],
        ),
        (
            "ship: {from: paid, to: shipped, field: status}",
            "ship: {from: paid}",
            ["services", "orders", "entities", "Order", "commands", "ship"],
        ),
        (
            "ship: {from: paid, to: shipped, field: status}",
            "ship: {from: paid, to: shipped, field: null}",
            ["services", "orders", "entities", "Order", "commands", "ship", "field"],
        ),
        (
            "capture: {from",
            "Capture: {from",
            ["services", "payments", "entities", "Payment", "commands"],
        ),
        (
            "{command: Order.pay, id: order_id}",
            "{command: pay, id: order_id}",
            ["services", "orders", "consumes"],
        ),
        (
            "{command: Order.cancel, id: order_id}",
            "{command: Order.cancel, key: order_id}",
            ["services", "orders", "consumes"],
        ),
        (
            "[orders.order_paid, payments.payment_captured]",
            "[order_paid, payments.payment_captured]",
            ["services", "shipping", "consumes"],
        ),
    ],
)
def test_mistakes_are_flagged_where_they_are(old: str, new: str, path: list) -> None:
    assert old in EXAMPLE
    errors = _errors(EXAMPLE.replace(old, new))
    assert errors, new
    assert errors[0][0] == path


def test_every_short_form_the_parser_reads_matches_the_pattern() -> None:
    import re

    from msgen.domain.syntax import SHORT_FORM_PATTERN, parse_field

    for spec in ("text ?", "enum( a ,b, ) = a", "ref( Order )?", "str = a=b", "json = {}"):
        parse_field("f", spec)
        assert re.match(SHORT_FORM_PATTERN, spec), spec
