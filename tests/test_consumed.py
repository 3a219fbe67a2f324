"""A consumer's model of an event, derived from the JSON Schema its publisher sends."""

from __future__ import annotations

import ast
from typing import Any

from msgen.consumed import derive_model, minimal_model, model_class_name, sample_lines

PUBLISHED: dict[str, Any] = {
    "$defs": {"OrderStatus": {"enum": ["pending", "paid"], "type": "string"}},
    "properties": {
        "id": {"format": "uuid", "type": "string"},
        "total": {"format": "decimal", "type": "string"},
        "count": {"type": "integer"},
        "rate": {"type": "number"},
        "paid": {"type": "boolean"},
        "due": {"anyOf": [{"format": "date", "type": "string"}, {"type": "null"}]},
        "at": {"format": "date-time", "type": "string"},
        "status": {"$ref": "#/$defs/OrderStatus"},
        "meta": {},
        "tags": {"items": {"type": "string"}, "type": "array"},
        "legacy": {"type": "string"},
        "weird-name": {"type": "string"},
        "model_config": {"type": "string"},
    },
    "required": [
        "id",
        "total",
        "count",
        "rate",
        "paid",
        "due",
        "at",
        "status",
        "meta",
        "tags",
        "weird-name",
        "model_config",
    ],
    "type": "object",
}


def fields(model: dict[str, Any]) -> dict[str, str]:
    return {field["name"]: field["annotation"] for field in model["fields"]}


def test_each_json_schema_type_becomes_its_python_type() -> None:
    model = derive_model("orders.order_created", PUBLISHED, publisher="orders")
    assert fields(model) == {
        "id": "uuid.UUID",
        "total": "DecimalText",
        "count": "int",
        "rate": "float",
        "paid": "bool",
        "due": "date | None",
        "at": "datetime",
        "status": "str",
        "meta": "Any",
        "tags": "list[str]",
        # not always sent: the model gives it a default
        "legacy": "str | None = None",
    }
    assert model["class"] == "OrdersOrderCreated"
    assert model["types"] == ["Any", "Decimal", "date", "datetime", "uuid"]


def test_fields_follow_the_publisher_order_and_enums_say_their_values() -> None:
    model = derive_model("orders.order_created", PUBLISHED, publisher="orders")
    assert [f["name"] for f in model["fields"]][:3] == ["id", "total", "count"]
    [status] = [f for f in model["fields"] if f["name"] == "status"]
    assert status["comment"] == ["one of: pending, paid (when this model was generated)"]


def test_names_python_cannot_declare_stay_extra_fields_with_a_note() -> None:
    model = derive_model("orders.order_created", PUBLISHED, publisher="orders")
    assert "weird-name" not in fields(model)
    assert "model_config" not in fields(model)
    assert model["skipped"] == [
        '"weird-name" is not a Python name: it stays in the extra fields.',
        '"model_config" clashes with pydantic\'s own attributes: it stays in the extra fields.',
    ]


def test_an_event_without_an_id_still_declares_the_aggregate_id() -> None:
    model = derive_model("a.b_created", {"properties": {}, "type": "object"}, publisher="a")
    assert fields(model) == {"id": "str"}


def test_the_sample_payload_is_valid_python_in_ruff_s_quotes() -> None:
    model = derive_model("orders.order_created", PUBLISHED, publisher="orders")
    lines = model["sample_lines"]
    assert lines[0] == '"id": "00000000-0000-4000-8000-000000000001",'
    assert '"due": "2024-01-01",' in lines
    assert '"paid": True,' in lines
    assert '"tags": [],' in lines
    sample = ast.literal_eval("{" + "".join(lines) + "}")
    assert sample["total"] == "1.5"
    nested = sample_lines({"x": None, "y": {"k": [1, "a"]}})
    assert nested == ['"x": None,', '"y": {"k": [1, "a"]},']


def test_the_minimal_model_declares_the_id_and_says_why() -> None:
    model = minimal_model("stock.item_moved", "No contract of stock.item_moved was found.")
    assert fields(model) == {"id": "str"}
    assert model["note"] == ["No contract of stock.item_moved was found."]
    assert model_class_name("order-items.item_created") == "OrderItemsItemCreated"
