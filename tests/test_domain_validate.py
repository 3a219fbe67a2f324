"""Whole-domain validation: every rule, its key path, and the one-line CLI error."""

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from msgen.domain.model import Domain, Entity, Field
from msgen.domain.reserved import SQL_RESERVED
from msgen.domain.syntax import parse_entities
from msgen.domain.validate import validate_domain
from msgen.errors import DomainError

ISSUE_EXAMPLE = {
    "Order": {
        "fields": {
            "customer_id": "uuid",
            "total": "decimal",
            "note": "text?",
            "status": "enum(pending, paid, shipped, cancelled) = pending",
        }
    },
    "OrderItem": {
        "fields": {
            "order": "ref(Order)",
            "sku": "str",
            "quantity": "int",
            "unit_price": "decimal",
        }
    },
}


def _error(entities: dict) -> DomainError:
    with pytest.raises(DomainError) as info:
        parse_entities(entities)
    return info.value


def _one(fields: dict, entity: str = "Order") -> DomainError:
    return _error({entity: {"fields": fields}})


def test_the_issue_example_is_valid() -> None:
    domain = parse_entities(ISSUE_EXAMPLE)
    item = domain.entity("OrderItem")
    assert item is not None
    order = item.field("order")
    assert order is not None
    assert (order.column, order.target) == ("order_id", "Order")


def test_everyday_field_names_are_allowed() -> None:
    names = "name description status title email amount price quantity sku note total"
    for name in names.split():
        assert name not in SQL_RESERVED
    parse_entities({"Thing": {"fields": {name: "str" for name in names.split()}}})


def test_a_ref_column_may_not_collide_with_another_field() -> None:
    after = _one({"customer": "ref(Order)?", "customer_id": "uuid"})
    assert after.loc == ("Order", "fields", "customer_id")
    assert after.problem == "'customer_id' is also the column of customer"
    before = _one({"customer_id": "uuid", "customer": "ref(Order)?"})
    assert before.loc == ("Order", "fields", "customer")
    assert before.problem == "'customer_id' is also the field"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("id", "'id' is a column every entity has (id, created_at, updated_at, version)"),
        ("created_at", "'created_at' is a column every entity has"),
        ("version", "'version' is a column every entity has"),
        ("class", "'class' is a Python keyword"),
        ("match", "'match' is a Python keyword"),
        ("type", "'type' is a Python keyword"),
        ("metadata", "'metadata' is an attribute of pydantic or SQLAlchemy models"),
        ("registry", "an attribute of pydantic or SQLAlchemy models"),
        ("json", "an attribute of pydantic or SQLAlchemy models"),
        ("dict", "an attribute of pydantic or SQLAlchemy models"),
        ("schema", "an attribute of pydantic or SQLAlchemy models"),
        ("copy", "an attribute of pydantic or SQLAlchemy models"),
        ("model_name", "an attribute of pydantic or SQLAlchemy models"),
        ("select", "'select' is an SQL reserved word"),
        ("order", "'order' is an SQL reserved word"),
        ("group", "'group' is an SQL reserved word"),
        ("user", "'user' is an SQL reserved word"),
        ("limit", "'limit' is an SQL reserved word"),
        ("sort", "'sort' is a query parameter of the list route"),
        ("_secret", "must not start with '_'"),
        ("customerId", "snake_case"),
        ("Total", "snake_case"),
        ("prix_total_ü", "snake_case"),
        ("a" * 41, "at most 40 characters"),
    ],
)
def test_reserved_or_bad_field_names_are_refused(field: str, message: str) -> None:
    error = _one({field: "str"})
    assert error.loc == ("Order", "fields", field)
    assert message in error.problem


def test_reserved_word_hint_suggests_a_prefixed_name() -> None:
    error = _one({"date": "date"})
    assert error.problem == "'date' is an SQL reserved word"
    assert error.hint == "rename it, e.g. order_date"


def test_snake_case_hint() -> None:
    assert _one({"customerId": "uuid"}).hint == "try 'customer_id'"


def test_sql_check_applies_to_the_ref_column() -> None:
    # 'order' and 'current' are SQL reserved words; their columns order_id, current_id are not
    domain = parse_entities(
        {
            "Order": {"fields": {"total": "int"}},
            "Line": {"fields": {"order": "ref(Order)", "current": "ref(Order)?"}},
        }
    )
    line = domain.entity("Line")
    assert line is not None and [f.column for f in line.fields] == ["order_id", "current_id"]
    assert "current" in SQL_RESERVED
    assert _one({"current": "uuid"}).problem == "'current' is an SQL reserved word"


def test_ref_named_like_a_generated_column_is_refused() -> None:
    error = _error(
        {"Order": {"fields": {"total": "int"}}, "Line": {"fields": {"version": "ref(Order)"}}}
    )
    assert "'version' is a column every entity has" in error.problem


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        ("order", "must be CamelCase ASCII"),
        ("Order_Item", "must be CamelCase ASCII"),
        ("Bestellungö", "must be CamelCase ASCII"),
        ("OutboxMessage", "a class the generated service already has"),
        ("ProcessedMessage", "a class the generated service already has"),
        ("ReceivedEvent", "a class the generated service already has"),
        ("StoredEvent", "a class the generated service already has"),
        ("Snapshot", "a class the generated service already has"),
        ("Page", "a class the generated service already has"),
        ("Base", "a class the generated service already has"),
        ("Decimal", "a class the generated service already has"),
        ("Event", "table 'events' is one the generated service already has"),
        ("Value", "table 'values' is an SQL reserved word"),
        ("Class", "clashes with the generated code"),
        ("Health", "clashes with the generated code"),
        ("A" + "b" * 40, "longer than 40 characters"),
    ],
)
def test_reserved_or_bad_entity_names_are_refused(entity: str, message: str) -> None:
    error = _error({entity: {"fields": {"total": "int"}}})
    assert error.loc == (entity,)
    assert message in error.problem


def test_entity_hint_suggests_camel_case() -> None:
    assert _error({"order_item": {"fields": {"x": "int"}}}).hint == "try 'OrderItem'"


def test_entity_without_fields_is_refused() -> None:
    error = _error({"Order": {"fields": {}}})
    assert (error.loc, error.problem) == (("Order", "fields"), "an entity needs at least one field")
    assert _error({"Order": {}}).loc == ("Order", "fields")


def test_ref_to_an_unknown_entity_is_refused_with_the_cross_service_hint() -> None:
    error = _error({"Payment": {"fields": {"order": "ref(Order)"}}})
    assert error.loc == ("Payment", "fields", "order")
    assert error.problem == "ref to unknown entity 'Order' (entities: Payment)"
    assert "plain uuid" in (error.hint or "")


def test_duplicate_tables_are_refused() -> None:
    error = _error({"UrlMap": {"fields": {"x": "int"}}, "URLMap": {"fields": {"x": "int"}}})
    assert error.loc == ("URLMap",)
    assert "table 'url_maps' is also the table of UrlMap" in error.problem


def test_entity_named_like_another_entitys_schema_is_refused() -> None:
    error = _error({"Order": {"fields": {"x": "int"}}, "OrderCreate": {"fields": {"x": "int"}}})
    assert "'OrderCreate' is the name of Order's Create schema" in error.problem


def test_self_reference_must_be_optional() -> None:
    error = _error({"Category": {"fields": {"parent": "ref(Category)"}}})
    assert error.loc == ("Category", "fields", "parent")
    assert "cycle" in error.problem and "optional" in (error.hint or "")
    parse_entities({"Category": {"fields": {"parent": "ref(Category)?"}}})


def test_a_cycle_of_required_refs_is_refused() -> None:
    error = _error(
        {"Author": {"fields": {"book": "ref(Book)"}}, "Book": {"fields": {"author": "ref(Author)"}}}
    )
    assert "cycle" in error.problem
    parse_entities(
        {
            "Author": {"fields": {"book": "ref(Book)?"}},
            "Book": {"fields": {"author": "ref(Author)"}},
        }
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [("create", "one of the CRUD operations"), ("Pay", "snake_case"), ("pass", "snake_case")],
)
def test_bad_command_names(command: str, message: str) -> None:
    error = _error(
        {
            "Order": {
                "fields": {"status": "enum(a, b)"},
                "commands": {command: {"from": ["a"], "to": "b"}},
            }
        }
    )
    assert error.loc == ("Order", "commands", command)
    assert message in error.problem


# Domains built in code (the CLI path) go through the same rules.


def test_duplicate_fields_from_the_cli_path_are_refused() -> None:
    entity = Entity(name="Order", fields=(Field(name="total", kind="int"),) * 2)
    with pytest.raises(DomainError) as info:
        validate_domain(Domain(entities=(entity,)))
    assert info.value.loc == ("Order", "fields", "total")
    assert info.value.problem == "'total' is also the field"


def test_duplicate_entities_from_the_cli_path_are_refused() -> None:
    entity = Entity(name="Order", fields=(Field(name="total", kind="int"),))
    with pytest.raises(DomainError, match="defined twice"):
        validate_domain(Domain(entities=(entity, entity)))


def test_enum_default_outside_the_members_is_refused_for_built_fields() -> None:
    field = Field(name="status", kind="enum", choices=("a", "b"), default="c")
    with pytest.raises(DomainError) as info:
        validate_domain(Domain(entities=(Entity(name="Order", fields=(field,)),)))
    assert info.value.problem == "default 'c' is not one of a, b"


def test_unknown_kind_for_built_fields_lists_the_types() -> None:
    field = Field(name="total", kind="money")  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="unknown type 'money' \\(types: str, text"):
        validate_domain(Domain(entities=(Entity(name="Order", fields=(field,)),)))


# --- through msgen.yaml and the CLI -----------------------------------------------------

WORKSPACE = """\
# the shop
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
      OrderItem:
        fields:
          order: ref(Order)
          sku: str
          quantity: int
          unit_price: decimal
"""

runner = CliRunner()


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "problem"),
    [
        (
            "total: decimal",
            "total: decimals",
            12,
            "services.orders.entities.Order.fields.total",
            "unknown type 'decimals' (did you mean 'decimal'? types: str, text, int, bigint, "
            "float, decimal, bool, uuid, date, datetime, json, enum, ref)",
        ),
        (
            "= pending",
            "= refunded",
            14,
            "services.orders.entities.Order.fields.status",
            "'refunded' is not one of pending, paid, shipped, cancelled",
        ),
        (
            "ref(Order)",
            "ref(Purchase)",
            17,
            "services.orders.entities.OrderItem.fields.order",
            "ref to unknown entity 'Purchase' (entities: Order, OrderItem)",
        ),
        (
            "sku: str",
            "select: str",
            18,
            "services.orders.entities.OrderItem.fields.select",
            "'select' is an SQL reserved word",
        ),
        (
            "note: text?",
            "id: uuid",
            13,
            "services.orders.entities.Order.fields.id",
            "'id' is a column every entity has (id, created_at, updated_at, version)",
        ),
        (
            "      OrderItem:",
            "      Outbox Message:",
            15,
            "services.orders.entities.Outbox Message",
            "entity name 'Outbox Message' must be CamelCase ASCII letters and digits",
        ),
        (
            "unit_price: decimal",
            "unit_price: {type: decimal, min: 1, default: 0}",
            20,
            "services.orders.entities.OrderItem.fields.unit_price",
            "default 0 is below min 1",
        ),
        (
            "unit_price: decimal",
            "unit_price: {type: decimal, mini: 1}",
            20,
            "services.orders.entities.OrderItem.fields.unit_price.mini",
            "unknown key (keys: type, optional, default, min, max, max_length, unique, index, "
            "choices, target)",
        ),
    ],
)
def test_msgen_yaml_domain_errors_exit_2_with_file_line_and_key(
    tree, monkeypatch, old: str, new: str, line: int, key: str, problem: str
) -> None:
    assert old in WORKSPACE
    root = tree({"msgen.yaml": WORKSPACE.replace(old, new)})
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["list"], terminal_width=300)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {root / 'msgen.yaml'}:{line}: {key}: {problem}"
    assert "Traceback" not in result.output


def test_msgen_list_accepts_the_issue_example(tree, monkeypatch) -> None:
    root = tree({"msgen.yaml": WORKSPACE})
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["list"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "orders" in result.stdout


def test_a_field_commands_move_needs_its_first_state_as_a_default() -> None:
    error = _error(
        {
            "Order": {
                "fields": {"status": "enum(pending, paid)"},
                "commands": {"pay": {"from": ["pending"], "to": "paid"}},
            }
        }
    )
    assert error.loc == ("Order", "fields", "status")
    assert "= pending" in error.problem


def test_a_command_ending_in_a_state_named_like_a_crud_event_is_refused() -> None:
    error = _error(
        {
            "Order": {
                "fields": {"status": "enum(open, deleted) = open"},
                "commands": {"remove": {"from": ["open"], "to": "deleted"}},
            }
        }
    )
    assert error.loc == ("Order", "commands", "remove", "to")
    assert "CRUD event" in error.problem


def test_commands_name_their_events_after_the_state_and_creation_commands_create() -> None:
    domain = parse_entities(
        {
            "Payment": {
                "fields": {"status": "enum(pending, captured, failed) = pending"},
                "commands": {
                    "open_for_order": {"to": "pending"},
                    "capture": {"from": ["pending"], "to": "captured"},
                    "fail": {"from": "pending", "to": "failed"},
                    "reject": {"from": ["pending"], "to": "failed"},
                },
            }
        }
    )
    payment = domain.entities[0]
    opening = payment.command("open_for_order")
    assert opening is not None and opening.creates and opening.event_suffix == "created"
    assert [c.event_suffix for c in payment.commands[1:]] == ["captured", "failed", "failed"]
    assert payment.commanded == ("status",)
    from msgen.messaging import domain_events

    assert domain_events("payments", domain) == [
        "payments.payment_created",
        "payments.payment_updated",
        "payments.payment_deleted",
        "payments.payment_captured",
        "payments.payment_failed",
    ]
