"""Names derived from an entity: snake, table, URL path, and the path under its parent."""

import pytest

from msgen.domain.names import child_path, entity_path, entity_snake, snake_case, table_name


@pytest.mark.parametrize(
    ("entity", "snake", "table", "path"),
    [
        ("Order", "order", "orders", "orders"),
        ("OrderItem", "order_item", "order_items", "order-items"),
        ("Category", "category", "categories", "categories"),
        ("Address", "address", "addresses", "addresses"),
        ("HTTPLog", "http_log", "http_logs", "http-logs"),
        ("Invoice2Line", "invoice2_line", "invoice2_lines", "invoice2-lines"),
    ],
)
def test_entity_names(entity: str, snake: str, table: str, path: str) -> None:
    assert entity_snake(entity) == snake
    assert table_name(entity) == table
    assert entity_path(entity) == path


@pytest.mark.parametrize(
    ("entity", "parent", "path"),
    [
        ("OrderItem", "Order", "items"),
        ("OrderLineNote", "OrderLine", "notes"),
        ("Payment", "Order", "payments"),
        ("Order", "Order", "orders"),
        ("Orderly", "Order", "orderlies"),
        ("ShippingAddress", "Order", "shipping-addresses"),
    ],
)
def test_child_path_strips_the_parent_prefix(entity: str, parent: str, path: str) -> None:
    assert child_path(entity, parent) == path


@pytest.mark.parametrize(
    ("name", "snake"), [("customerId", "customer_id"), ("Total", "total"), ("a-b c", "a_b_c")]
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake
