"""The domain in msgen.yaml: kept raw, validated on load, edited in place, schema line kept."""

import json
from pathlib import Path

import pytest

from msgen.domain.edit import add_entity, remove_entity, remove_field, set_field
from msgen.domain.syntax import parse_cli_field
from msgen.errors import DomainError
from msgen.workspace import (
    SCHEMA_FILE,
    SCHEMA_MODELINE,
    ServiceEntry,
    init_workspace,
    load_workspace,
)
from msgen.workspace_schema import SHIPPED_SCHEMA

ISSUE_EXAMPLE = """\
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

HAND_WRITTEN = """\
# yaml-language-server: $schema=.msgen/msgen.schema.json
# the shop system
schema: 1
name: shop
services:
  orders:
    kind: service
    path: orders
    port: 8001   # fixed
    version: 0.1.0
    db: sqlite
    entities:
      Order:   # the aggregate
        fields: {customer_id: uuid, "note": "text?", status: "enum(pending, paid) = pending"}
        commands: {pay: {from: [pending], to: paid}}
      Coupon:
        fields:
          # when the coupon starts
          starts_on: {type: date, default: 2024-01-01}
          rate: {type: decimal, min: 0, max: 1.0}  # a fraction
          code: 'str'
"""


def test_the_issue_example_loads_and_parses(tree) -> None:
    root = tree({"msgen.yaml": ISSUE_EXAMPLE})
    service = load_workspace(root / "msgen.yaml").model.services["orders"]
    assert service.entities["Order"]["fields"]["note"] == "text?"
    domain = service.domain()
    assert [e.name for e in domain.entities] == ["Order", "OrderItem"]
    item = domain.entity("OrderItem")
    assert item is not None and item.fields[0].column == "order_id"


def test_a_service_without_entities_has_an_empty_domain_and_writes_no_key(tree) -> None:
    service = ServiceEntry(path="orders", port=8001)
    assert service.domain().entities == ()
    assert "entities" not in service.to_data()
    assert ServiceEntry(path="x", port=8002, entities=None).entities == {}


def test_load_and_save_keeps_the_users_text_byte_for_byte(tree) -> None:
    root = tree({"msgen.yaml": HAND_WRITTEN})
    workspace = load_workspace(root / "msgen.yaml")
    workspace.save()
    assert (root / "msgen.yaml").read_text() == HAND_WRITTEN


def test_an_unrelated_change_keeps_entities_and_comments(tree) -> None:
    root = tree({"msgen.yaml": HAND_WRITTEN})
    workspace = load_workspace(root / "msgen.yaml")
    workspace.model.services["orders"].port = 8005
    workspace.save()
    assert (root / "msgen.yaml").read_text() == HAND_WRITTEN.replace("8001", "8005")


def test_to_data_writes_entities_back_unchanged(tree) -> None:
    root = tree({"msgen.yaml": HAND_WRITTEN})
    service = load_workspace(root / "msgen.yaml").model.services["orders"]
    data = service.to_data()
    assert data["entities"] == service.entities
    assert data["entities"] is not service.entities
    assert data["entities"]["Order"]["fields"]["status"] == "enum(pending, paid) = pending"


def test_adding_a_field_writes_the_short_form_and_keeps_the_rest(tree) -> None:
    root = tree({"msgen.yaml": HAND_WRITTEN})
    workspace = load_workspace(root / "msgen.yaml")
    service = workspace.model.services["orders"]
    service.entities, domain = set_field(service.entities, "Coupon", parse_cli_field("note:text?"))
    coupon = domain.entity("Coupon")
    assert coupon is not None and coupon.fields[-1].name == "note"
    workspace.save()
    text = (root / "msgen.yaml").read_text()
    assert text == HAND_WRITTEN + "          note: text?\n"
    assert load_workspace(root / "msgen.yaml").model.services["orders"].domain() == domain


def test_replacing_a_field_keeps_its_place(tree) -> None:
    root = tree({"msgen.yaml": HAND_WRITTEN})
    workspace = load_workspace(root / "msgen.yaml")
    service = workspace.model.services["orders"]
    field = parse_cli_field("code:str=WELCOME")
    with pytest.raises(DomainError, match="Coupon already has a field 'code'"):
        set_field(service.entities, "Coupon", field)
    service.entities, _ = set_field(service.entities, "Coupon", field, replace=True)
    workspace.save()
    assert (root / "msgen.yaml").read_text() == HAND_WRITTEN.replace(
        "code: 'str'", "code: str = WELCOME"
    )


def test_removing_a_field_and_an_entity(tree) -> None:
    root = tree({"msgen.yaml": ISSUE_EXAMPLE})
    workspace = load_workspace(root / "msgen.yaml")
    service = workspace.model.services["orders"]
    with pytest.raises(DomainError) as info:
        remove_entity(service.entities, "Order")
    assert info.value.message == (
        "OrderItem.fields.order: OrderItem.order refers to Order; remove that field first"
    )
    service.entities, _ = remove_field(service.entities, "Order", "note")
    service.entities, domain = remove_entity(service.entities, "OrderItem")
    assert [e.name for e in domain.entities] == ["Order"]
    workspace.save()
    text = (root / "msgen.yaml").read_text()
    assert "note" not in text and "OrderItem" not in text and "customer_id: uuid" in text


def test_adding_an_entity_validates_the_whole_new_domain(tree) -> None:
    entities = {"Order": {"fields": {"total": "decimal"}}}
    fields = [parse_cli_field(text) for text in ("order:ref(Order)", "sku:str", "quantity:int")]
    result, domain = add_entity(entities, "OrderItem", fields)
    assert result["OrderItem"] == {
        "fields": {"order": "ref(Order)", "sku": "str", "quantity": "int"}
    }
    assert entities == {"Order": {"fields": {"total": "decimal"}}}  # the input is left alone
    assert domain.entity("OrderItem") is not None
    with pytest.raises(DomainError, match="ref to unknown entity 'Customer'"):
        add_entity(entities, "Invoice", [parse_cli_field("customer:ref(Customer)")])
    with pytest.raises(DomainError, match="the field is given twice"):
        add_entity(entities, "Invoice", [parse_cli_field("sku:str")] * 2)
    with pytest.raises(DomainError, match="already has an entity 'Order'"):
        add_entity(entities, "Order", fields)


def test_editing_an_unknown_entity_or_field_names_what_exists() -> None:
    entities = {"Order": {"fields": {"total": "decimal"}}}
    with pytest.raises(DomainError, match="no entity 'Invoice' \\(entities: Order\\)"):
        set_field(entities, "Invoice", parse_cli_field("x:int"))
    with pytest.raises(DomainError, match="Order has no field 'note' \\(fields: total\\)"):
        remove_field(entities, "Order", "note")


def test_removing_the_field_a_command_moves_is_refused() -> None:
    entities = {
        "Order": {
            "fields": {"status": "enum(a, b)", "total": "int"},
            "commands": {"go": {"from": ["a"], "to": "b"}},
        }
    }
    with pytest.raises(DomainError, match=r"not members|no enum field"):
        remove_field(entities, "Order", "status")


def test_domain_error_on_load_carries_the_full_key_path(tree) -> None:
    root = tree({"msgen.yaml": ISSUE_EXAMPLE.replace("sku: str", "sku: strr")})
    with pytest.raises(DomainError) as info:
        load_workspace(root / "msgen.yaml")
    error = info.value
    assert error.loc == ("services", "orders", "entities", "OrderItem", "fields", "sku")
    assert error.source == f"{root / 'msgen.yaml'}:17"
    assert error.exit_code == 2


# --- the schema line --------------------------------------------------------------------


def test_new_workspace_starts_with_the_schema_line_and_writes_the_schema(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    lines = (tmp_path / "msgen.yaml").read_text().splitlines()
    assert lines[0] == f"# {SCHEMA_MODELINE}"
    assert lines[0] == "# yaml-language-server: $schema=.msgen/msgen.schema.json"
    written = tmp_path / SCHEMA_FILE
    assert written.read_text() == SHIPPED_SCHEMA.read_text()
    assert json.loads(written.read_text())["title"] == "msgen.yaml"


def test_schema_line_and_comments_survive_saves(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    path = tmp_path / "msgen.yaml"
    path.write_text(path.read_text() + "# my note\n")
    workspace = load_workspace(path)
    workspace.model.services["orders"] = ServiceEntry(
        path="orders", port=8001, entities={"Order": {"fields": {"total": "decimal"}}}
    )
    workspace.save()
    text = path.read_text()
    assert text.splitlines()[0] == f"# {SCHEMA_MODELINE}"
    assert "# my note" in text and "total: decimal" in text


def test_a_stale_schema_file_is_refreshed_on_save(tmp_path: Path) -> None:
    workspace = init_workspace(tmp_path, name="shop")
    (tmp_path / SCHEMA_FILE).write_text("{}")
    workspace.save()
    assert (tmp_path / SCHEMA_FILE).read_text() == SHIPPED_SCHEMA.read_text()


def test_a_workspace_without_the_line_gets_no_schema_file(tree) -> None:
    root = tree({"msgen.yaml": ISSUE_EXAMPLE})
    load_workspace(root / "msgen.yaml").save()
    assert not (root / ".msgen").exists()
