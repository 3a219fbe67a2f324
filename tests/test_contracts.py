"""The contract check over hand-built JSON Schemas: each incompatibility, each compatible change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from msgen.contracts import ServiceContract, check_contracts, load_contract
from msgen.errors import ContractFileInvalidError, ContractFileMissingError
from msgen.schema_compat import compare_schemas

EVENT = "orders.order_created"
STATUS = {"enum": ["draft", "active", "archived"], "title": "OrderStatus", "type": "string"}


def order(**changes: Any) -> dict[str, Any]:
    """The publisher's schema of orders.order_created, as pydantic writes it."""
    properties: dict[str, Any] = {
        "id": {"format": "uuid", "type": "string"},
        "name": {"type": "string"},
        "description": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "status": {"$ref": "#/$defs/OrderStatus"},
        "total": {"type": "integer"},
        "lines": {"items": {"$ref": "#/$defs/Line"}, "type": "array"},
    }
    schema: dict[str, Any] = {
        "$defs": {
            "OrderStatus": STATUS,
            "Line": {
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
                "required": ["sku", "quantity"],
                "type": "object",
            },
        },
        "properties": properties,
        "required": list(properties),
        "type": "object",
    }
    for key, value in changes.items():
        if value is None:
            properties.pop(key)
            schema["required"].remove(key)
        else:
            properties[key] = value
            if key not in schema["required"]:
                schema["required"].append(key)
    return schema


def consumer(properties: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {"properties": properties, "required": required, "type": "object", **extra}


def kinds(published: dict[str, Any], consumed: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.kind, p.path) for p in compare_schemas(published, consumed)]


def test_the_generated_pair_is_compatible() -> None:
    assert kinds(order(), consumer({"id": {"type": "string"}}, ["id"])) == []


def test_a_required_field_the_publisher_does_not_send() -> None:
    wants = consumer({"id": {"type": "string"}, "customer": {"type": "string"}}, ["customer"])
    assert kinds(order(), wants) == [("missing-field", "customer")]


def test_a_required_field_the_publisher_may_leave_out() -> None:
    published = order()
    published["required"].remove("name")
    assert kinds(published, consumer({"name": {"type": "string"}}, ["name"])) == [
        ("missing-field", "name")
    ]


def test_a_field_removed_by_the_publisher() -> None:
    wants = consumer({"total": {"type": "integer"}}, ["total"])
    assert kinds(order(), wants) == []
    assert kinds(order(total=None), wants) == [("missing-field", "total")]


def test_a_type_change() -> None:
    wants = consumer({"total": {"type": "integer"}}, ["total"])
    [problem] = compare_schemas(order(total={"type": "string"}), wants)
    assert (problem.kind, problem.path) == ("type", "total")
    assert problem.message == "publisher sends string, consumer expects integer"


def test_an_integer_is_accepted_where_a_number_is_expected_but_not_the_reverse() -> None:
    assert kinds(order(), consumer({"total": {"type": "number"}}, ["total"])) == []
    wants = consumer({"total": {"type": "integer"}}, ["total"])
    assert kinds(order(total={"type": "number"}), wants) == [("type", "total")]


def test_a_field_that_became_nullable() -> None:
    wants = consumer({"name": {"type": "string"}}, ["name"])
    nullable = order(name={"anyOf": [{"type": "string"}, {"type": "null"}]})
    [problem] = compare_schemas(nullable, wants)
    assert (problem.kind, problem.path) == ("type", "name")
    assert "may send null" in problem.message
    accepts_null = consumer({"name": {"type": ["string", "null"]}}, ["name"])
    assert kinds(nullable, accepts_null) == []


def test_openapi_nullable_is_understood() -> None:
    wants = consumer({"name": {"type": "string", "nullable": True}}, ["name"])
    assert kinds(order(name={"anyOf": [{"type": "string"}, {"type": "null"}]}), wants) == []


def test_an_enum_value_the_consumer_does_not_accept() -> None:
    narrow = {"$defs": {"S": {"enum": ["active", "archived"]}}}
    wants = consumer({"status": {"$ref": "#/$defs/S"}}, ["status"], **narrow)
    [problem] = compare_schemas(order(), wants)
    assert (problem.kind, problem.path) == ("enum", "status")
    assert '"draft"' in problem.message


def test_a_widened_enum_on_the_consumer_side_is_compatible() -> None:
    wide = {"enum": ["draft", "active", "archived", "cancelled"], "type": "string"}
    assert kinds(order(), consumer({"status": wide}, ["status"])) == []


def test_a_new_enum_value_on_the_publisher_side_is_not() -> None:
    published = order()
    published["$defs"]["OrderStatus"] = {**STATUS, "enum": [*STATUS["enum"], "cancelled"]}
    wants = consumer({"status": STATUS}, ["status"])
    assert kinds(published, wants) == [("enum", "status")]


def test_a_free_string_where_the_consumer_wants_an_enum() -> None:
    wants = consumer({"name": STATUS}, ["name"])
    assert kinds(order(), wants) == [("enum", "name")]


def test_an_added_optional_field_is_compatible_on_both_sides() -> None:
    wants = consumer({"id": {"type": "string"}}, ["id"])
    assert kinds(order(coupon={"anyOf": [{"type": "string"}, {"type": "null"}]}), wants) == []
    optional = consumer({"id": {"type": "string"}, "note": {"type": "string"}}, ["id"])
    assert kinds(order(), optional) == []


def test_nested_objects_and_arrays_through_refs() -> None:
    line = {"properties": {"sku": {"type": "string"}, "price": {"type": "number"}}}
    wants = consumer(
        {"lines": {"items": {"$ref": "#/$defs/L"}, "type": "array"}},
        ["lines"],
        **{"$defs": {"L": {**line, "required": ["sku", "price"], "type": "object"}}},
    )
    assert kinds(order(), wants) == [("missing-field", "lines[].price")]
    published = order()
    published["$defs"]["Line"]["properties"]["sku"] = {"type": "integer"}
    wants_sku = consumer(
        {"lines": {"type": "array", "items": {"properties": {"sku": {"type": "string"}}}}},
        ["lines"],
    )
    assert kinds(published, wants_sku) == [("type", "lines[].sku")]


def test_all_of_wrappers_and_recursive_models() -> None:
    tree = {
        "$defs": {
            "Node": {
                "properties": {
                    "name": {"type": "string"},
                    "children": {"items": {"$ref": "#/$defs/Node"}, "type": "array"},
                },
                "required": ["name", "children"],
                "type": "object",
            }
        },
        "allOf": [{"$ref": "#/$defs/Node"}],
        "description": "a tree",
    }
    assert kinds(tree, tree) == []
    wants_int = json.loads(
        json.dumps(tree).replace('"name": {"type": "string"}', '"name": {"type": "integer"}')
    )
    assert kinds(tree, wants_int) == [("type", "children[].name"), ("type", "name")]


def test_a_consumer_that_forbids_unknown_fields() -> None:
    strict = consumer({"id": {"type": "string"}}, ["id"], additionalProperties=False)
    found = kinds(order(), strict)
    assert ("extra-field", "name") in found
    assert all(kind == "extra-field" for kind, _ in found)


def test_format_and_bounds_the_consumer_adds() -> None:
    wants = consumer({"name": {"type": "string", "format": "email", "maxLength": 50}}, ["name"])
    assert kinds(order(), wants) == [("format", "name"), ("constraint", "name")]
    bounded = order(name={"type": "string", "format": "email", "maxLength": 40})
    assert kinds(bounded, wants) == []


def test_dicts_compare_their_values() -> None:
    published = order(tags={"additionalProperties": {"type": "integer"}, "type": "object"})
    wants = consumer(
        {"tags": {"additionalProperties": {"type": "string"}, "type": "object"}}, ["tags"]
    )
    assert kinds(published, wants) == [("type", "tags.*")]


def contract(name: str, **kwargs: Any) -> ServiceContract:
    return ServiceContract(service=name, **kwargs)


def test_check_gives_a_verdict_per_consumer_and_event() -> None:
    orders = contract(
        "orders",
        publishes={EVENT: order(), "orders.order_deleted": order()},
        declared_publishes=(EVENT, "orders.order_deleted"),
    )
    billing = contract(
        "billing",
        consumes={EVENT: consumer({"id": {"type": "string"}}, ["id"])},
        declared_consumes=(EVENT,),
    )
    shipping = contract(
        "shipping",
        consumes={EVENT: consumer({"weight": {"type": "number"}}, ["weight"])},
        declared_consumes=(EVENT,),
    )
    report = check_contracts([shipping, orders, billing])
    assert [(c.consumer, c.event, c.verdict) for c in report.checks] == [
        ("billing", EVENT, "compatible"),
        ("shipping", EVENT, "incompatible"),
    ]
    # the reason names the consumer, the field and the publisher
    assert report.checks[1].reasons() == ["weight: shipping requires it; orders does not send it"]
    assert [(w.publisher, w.event) for w in report.warnings] == [("orders", "orders.order_deleted")]
    assert not report.ok
    data = report.as_dict()
    assert data["ok"] is False
    assert data["checks"][1]["problems"][0] == {
        "kind": "missing-field",
        "path": "weight",
        "message": "shipping requires it; orders does not send it",
        "publisher": "orders",
    }
    assert data["warnings"][0]["kind"] == "unconsumed"
    only_billing = check_contracts([shipping, orders, billing], services=["billing"])
    assert [c.consumer for c in only_billing.checks] == ["billing"]
    assert only_billing.ok
    assert only_billing.warnings == ()


def test_a_removed_event_and_an_event_nobody_publishes() -> None:
    orders = contract("orders", publishes={}, declared_publishes=(EVENT,))
    billing = contract(
        "billing",
        consumes={EVENT: consumer({}, []), "payments.payment_made": consumer({}, [])},
        declared_consumes=(EVENT, "payments.payment_made"),
    )
    report = check_contracts([orders, billing])
    assert [(c.event, c.verdict, c.reasons()) for c in report.checks] == [
        (EVENT, "removed", ["orders no longer publishes it"]),
        ("payments.payment_made", "unpublished", ["no service publishes it"]),
    ]
    assert not report.ok
    # The owner named by the event counts as its former publisher too.
    report = check_contracts([contract("orders"), billing])
    assert report.checks[0].verdict == "removed"


def test_a_consumer_without_a_model_of_the_event_is_incompatible() -> None:
    orders = contract("orders", publishes={EVENT: order()})
    billing = contract("billing", declared_consumes=(EVENT,))
    [check] = check_contracts([orders, billing]).checks
    assert check.verdict == "incompatible"
    assert check.problems[0].kind == "no-model"


def test_several_publishers_are_named_in_the_reasons() -> None:
    first = contract("orders", publishes={EVENT: order()})
    second = contract("legacy", publishes={EVENT: order(total={"type": "string"})})
    billing = contract("billing", consumes={EVENT: consumer({"total": {"type": "integer"}}, [])})
    [check] = check_contracts([first, second, billing]).checks
    assert check.publishers == ("legacy", "orders")
    assert check.reasons() == ["legacy: total: legacy sends string, billing expects integer"]


def test_load_contract_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "contracts" / "events.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"format": 1, "publishes": {EVENT: order()}, "consumes": {}}))
    loaded = load_contract("orders", path)
    assert list(loaded.publishes) == [EVENT]
    assert loaded.consumes == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON (line 1, column 2"),
        ("[]", "must hold a JSON object"),
        ('{"format": 7}', "has format 7; this msgen reads format 1"),
        ('{"format": 1, "publishes": []}', "'publishes' must map event names to JSON Schema"),
        ('{"format": 1, "consumes": {"e": 1}}', "'consumes' must map event names to JSON Schema"),
    ],
)
def test_load_contract_rejects_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "events.json"
    path.write_text(text)
    with pytest.raises(ContractFileInvalidError) as caught:
        load_contract("orders", path)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.hint == f"run `python -m orders.contracts` in {tmp_path.parent}"


def test_load_contract_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ContractFileMissingError) as caught:
        load_contract("order-items", tmp_path / "contracts" / "events.json")
    assert caught.value.message.startswith("order-items has no contracts/events.json")
    assert caught.value.hint is not None
    assert "python -m order_items.contracts" in caught.value.hint


def test_write_contract_file_names_the_failure(tmp_path: Path) -> None:
    from msgen.contracts import write_contract_file
    from msgen.errors import ContractError

    with pytest.raises(ContractError) as caught:
        write_contract_file(tmp_path, package="nosuch")
    assert caught.value.message.startswith("could not write contracts/events.json: ")
    assert "nosuch" in caught.value.message


def test_action_needs_reads_the_consumer_domain() -> None:
    from msgen.contracts import ActionField, action_needs
    from msgen.domain.model import Command, Domain, Entity, Field
    from msgen.workspace import ConsumeAction

    shipment = Entity(
        name="Shipment",
        fields=(
            Field(name="order", kind="ref", target="Order"),
            Field(name="weight", kind="float"),
            Field(name="carrier", kind="str", default="post"),
            Field(name="note", kind="text", optional=True),
            Field(name="state", kind="enum", choices=("packed", "sent"), default="packed"),
        ),
        commands=(
            Command(name="pack", field="state", sources=(), to="packed"),
            Command(name="send", field="state", sources=("packed",), to="sent"),
        ),
    )
    domain = Domain(entities=(shipment,))
    creation = action_needs(
        ConsumeAction(command="Shipment.pack", fields={"weight": "total_weight"}),
        domain,
        consumer="shipping",
    )
    assert creation.command == "Shipment.pack"
    # the state is the command's; a ref is read from <name>_id; only fields without a
    # default are required; a mapped field must be sent at all
    assert [(f.payload, f.target, f.required, f.named) for f in creation.fields] == [
        ("order_id", "Shipment.order", True, False),
        ("total_weight", "Shipment.weight", True, True),
        ("carrier", "Shipment.carrier", False, False),
        ("note", "Shipment.note", False, False),
    ]
    assert creation.fields[0].schema == {"type": "string", "format": "uuid"}
    assert creation.fields[3].schema == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    transition = action_needs(
        ConsumeAction(command="Shipment.send", id="shipment_id"), domain, consumer="shipping"
    )
    assert transition.fields == (
        ActionField(
            payload="shipment_id",
            target="the Shipment id",
            schema={"type": "string", "format": "uuid"},
            required=True,
            named=True,
        ),
    )
