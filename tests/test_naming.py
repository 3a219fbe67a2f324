import pytest

from msgen.errors import InvalidNameError, PortError
from msgen.naming import (
    check_port,
    derive_names,
    next_free_port,
    pluralize,
    singularize,
    validate_resource_name,
    validate_service_name,
    validate_system_name,
)

BAD_SERVICE_NAMES = [
    ("", "empty"),
    ("Orders", "lowercase"),
    ("ORDERS", "lowercase"),
    ("1orders", "start with a letter"),
    ("-orders", "start with a letter"),
    ("orders-", "end with a hyphen"),
    ("order--items", "two hyphens"),
    ("order_items", "DNS-1123"),
    ("order.items", "DNS-1123"),
    ("order items", "DNS-1123"),
    ("orders!", "DNS-1123"),
    ("ordérs", "DNS-1123"),
    ("a" * 41, "at most 40"),
    ("../x", "not a path"),
    ("x/y", "not a path"),
    ("/abs/path", "not a path"),
    ("..", "not a path"),
    (".hidden", "not a path"),
    ("a\\b", "not a path"),
    ("class", "keyword"),
    ("import", "keyword"),
    ("async", "keyword"),
    ("match", "keyword"),
    ("email", "standard library"),
    ("json", "standard library"),
    ("logging", "standard library"),
    ("http", "standard library"),
    ("queue", "standard library"),
    ("string", "standard library"),
    ("fastapi", "shadow a library"),
    ("sqlalchemy", "shadow a library"),
    ("alembic", "shadow a library"),
    ("pydantic", "shadow a library"),
    ("tests", "directory name"),
    ("src", "directory name"),
    ("migrations", "directory name"),
]

GOOD_SERVICE_NAMES = [
    "orders",
    "billing",
    "order-items",
    "a",
    "users2",
    "inventory-v2",
    "payment-gateway",
    "x" * 40,
    "notifications",
    "email-service",
    "shipping",
]


@pytest.mark.parametrize(("name", "reason"), BAD_SERVICE_NAMES)
def test_bad_service_names_are_refused_with_reason(name: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_service_name(name)
    assert reason in str(info.value)
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_there_are_at_least_25_bad_and_10_good_names() -> None:
    assert len(BAD_SERVICE_NAMES) >= 25
    assert len(GOOD_SERVICE_NAMES) >= 10


@pytest.mark.parametrize("name", GOOD_SERVICE_NAMES)
def test_good_service_names_pass(name: str) -> None:
    assert validate_service_name(name) == name


def test_uppercase_name_hint_suggests_lowercase() -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_service_name("Orders")
    assert info.value.hint == "try 'orders'"


def test_path_names_point_to_output_option() -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_service_name("../x")
    assert "--output" in (info.value.hint or "")


def test_system_names_follow_dns_rules_but_may_be_stdlib_names() -> None:
    assert validate_system_name("shop") == "shop"
    assert validate_system_name("test") == "test"
    with pytest.raises(InvalidNameError):
        validate_system_name("My Shop")


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("orders", ("orders", "Order", "order", "orders", "orders")),
        ("order-items", ("order_items", "OrderItem", "order_item", "order_items", "order-items")),
        ("categories", ("categories", "Category", "category", "categories", "categories")),
        ("inventory", ("inventory", "Inventory", "inventory", "inventories", "inventories")),
        ("addresses", ("addresses", "Address", "address", "addresses", "addresses")),
        ("boxes", ("boxes", "Box", "box", "boxes", "boxes")),
        ("status", ("status", "Item", "item", "items", "items")),
        ("billing", ("billing", "Billing", "billing", "billings", "billings")),
    ],
)
def test_derived_names(service: str, expected: tuple[str, ...]) -> None:
    names = derive_names(service)
    assert (
        names.package,
        names.resource_class,
        names.resource_snake,
        names.resource_plural_snake,
        names.resource_path,
    ) == expected


@pytest.mark.parametrize(
    ("resource", "cls", "path"),
    [
        ("Order", "Order", "orders"),
        ("order", "Order", "orders"),
        ("OrderItem", "OrderItem", "order-items"),
        ("order-item", "OrderItem", "order-items"),
        ("order_items", "OrderItem", "order-items"),
        ("Invoice2", "Invoice2", "invoice2s"),
    ],
)
def test_resource_option_is_normalised(resource: str, cls: str, path: str) -> None:
    names = derive_names("billing", resource=resource)
    assert names.resource_class == cls
    assert names.resource_path == path


@pytest.mark.parametrize("resource", ["", "1Order", "Order Item", "order--item", "class", "Status"])
def test_bad_resource_names_are_refused(resource: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_resource_name(resource)


def test_as_data_has_every_template_key() -> None:
    assert derive_names("order-items").as_data() == {
        "service_name": "order-items",
        "package_name": "order_items",
        "resource_class": "OrderItem",
        "resource_snake": "order_item",
        "resource_plural_snake": "order_items",
        "resource_path": "order-items",
    }


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("orders", "order"),
        ("cities", "city"),
        ("classes", "class"),
        ("status", "status"),
        ("news", "new"),
        ("analysis", "analysis"),
        ("matches", "match"),
        ("wishes", "wish"),
    ],
)
def test_singularize(plural: str, singular: str) -> None:
    assert singularize(plural) == singular


@pytest.mark.parametrize(
    ("singular", "plural"),
    [
        ("order", "orders"),
        ("city", "cities"),
        ("day", "days"),
        ("box", "boxes"),
        ("match", "matches"),
        ("class", "classes"),
    ],
)
def test_pluralize(singular: str, plural: str) -> None:
    assert pluralize(singular) == plural


def test_next_free_port_starts_at_8001_and_skips_used() -> None:
    assert next_free_port(set()) == 8001
    assert next_free_port({8001, 8002, 8004}) == 8003
    assert next_free_port({8000}) == 8001


def test_next_free_port_fails_when_range_exhausted() -> None:
    with pytest.raises(PortError):
        next_free_port(set(range(8001, 65536)))


@pytest.mark.parametrize("port", [0, 80, 1023, 65536, -1, 70000])
def test_ports_outside_range_are_refused(port: int) -> None:
    with pytest.raises(PortError) as info:
        check_port(port, set())
    assert "1024-65535" in str(info.value)


def test_used_port_is_refused() -> None:
    with pytest.raises(PortError, match="already used"):
        check_port(8001, {8001})
    assert check_port(1024, {8001}) == 1024
    assert check_port(65535, set()) == 65535
