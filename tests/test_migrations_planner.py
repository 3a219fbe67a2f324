"""The migration planner: plans between domains, refusals, rendered revisions, real upgrades."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from msgen.domain.model import Domain, Entity, Field
from msgen.errors import MigrationError, UsageError
from msgen.migrations import (
    describe,
    heads,
    next_revision_id,
    plan,
    render_revision,
    revision_filename,
    table_name,
)
from msgen.migrations.planner import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropTable,
    FillNulls,
    ReplaceCheck,
)
from tests.conftest import require_service

ORDER = Entity(
    name="Order",
    fields=(
        Field(name="customer_id", kind="uuid"),
        Field(name="total", kind="decimal"),
        Field(name="status", kind="enum", choices=("pending", "paid"), default="pending"),
    ),
)
ORDER_ITEM = Entity(
    name="OrderItem",
    fields=(
        Field(name="order", kind="ref", target="Order"),
        Field(name="sku", kind="str"),
        Field(name="quantity", kind="int", min=1),
    ),
)
V1 = Domain(entities=(ORDER, ORDER_ITEM))


def with_fields(entity: Entity, *fields: Field, drop: tuple[str, ...] = ()) -> Entity:
    """``entity`` with ``fields`` replacing same-named ones or appended, minus ``drop``."""
    by_name = {f.name: f for f in entity.fields if f.name not in drop}
    for field in fields:
        by_name[field.name] = field
    return replace(entity, fields=tuple(by_name.values()))


def v1_with(*fields: Field, drop: tuple[str, ...] = ()) -> Domain:
    return Domain(entities=(with_fields(ORDER, *fields, drop=drop), ORDER_ITEM))


def kinds(domain_old: Domain, domain_new: Domain) -> list[str]:
    return [type(operation).__name__ for operation in plan(domain_old, domain_new).operations]


# --- tables and names ---------------------------------------------------------------------


def test_table_names_are_the_plural_snake_of_the_entity() -> None:
    assert table_name("Order") == "orders"
    assert table_name("OrderItem") == "order_items"
    assert table_name("Category") == "categories"
    assert table_name("Address") == "addresses"


def test_first_plan_creates_referenced_tables_first() -> None:
    domain = Domain(entities=(ORDER_ITEM, ORDER))  # the child declared first
    operations = plan(Domain(), domain).operations
    assert [type(o) for o in operations] == [CreateTable, CreateTable]
    assert [o.table.name for o in operations if isinstance(o, CreateTable)] == [
        "orders",
        "order_items",
    ]


def test_create_table_has_the_spec_columns_and_constraints() -> None:
    (_, items) = plan(Domain(), V1).operations
    assert isinstance(items, CreateTable)
    table = items.table
    assert [c.name for c in table.columns] == [
        "id",
        "order_id",
        "sku",
        "quantity",
        "created_at",
        "updated_at",
        "version",
    ]
    assert [(fk.name, fk.ondelete) for fk in table.foreign_keys] == [
        ("fk_order_items_order_id_orders", "RESTRICT")
    ]
    assert [(c.name, c.sql) for c in table.checks] == [
        ("ck_order_items_quantity_min", "quantity >= 1")
    ]
    assert [i.name for i in table.indexes] == [
        "ix_order_items_order_id",
        "ix_order_items_created_at_id",
    ]


def test_reference_cycle_adds_the_closing_foreign_key_after_both_tables() -> None:
    a = Entity(
        name="Author", fields=(Field(name="best", kind="ref", target="Book", optional=True),)
    )
    b = Entity(name="Book", fields=(Field(name="author", kind="ref", target="Author"),))
    operations = plan(Domain(), Domain(entities=(a, b))).operations
    assert [type(o) for o in operations] == [CreateTable, CreateTable, AddConstraint]
    last = operations[2]
    assert isinstance(last, AddConstraint)
    assert last.constraint.name == "fk_authors_best_id_books"
    down = plan(Domain(entities=(a, b)), Domain()).operations
    assert [type(o) for o in down] == [DropConstraint, DropTable, DropTable]


def test_optional_reference_sets_null_on_delete() -> None:
    ship = Entity(
        name="Shipment", fields=(Field(name="order", kind="ref", target="Order", optional=True),)
    )
    (operation,) = plan(V1, Domain(entities=(ORDER, ORDER_ITEM, ship))).operations
    assert isinstance(operation, CreateTable)
    assert operation.table.foreign_keys[0].ondelete == "SET NULL"


# --- one plan per operation kind ----------------------------------------------------------


def test_same_domain_plans_nothing() -> None:
    assert not plan(V1, V1)
    assert describe(plan(V1, V1)) == []


def test_new_optional_field_adds_a_nullable_column() -> None:
    (operation,) = plan(V1, v1_with(Field(name="note", kind="text", optional=True))).operations
    assert isinstance(operation, AddColumn)
    assert (operation.table, operation.column.name, operation.column.nullable) == (
        "orders",
        "note",
        True,
    )


def test_new_required_field_with_default_gets_a_server_default() -> None:
    (operation,) = plan(V1, v1_with(Field(name="priority", kind="int", default=0))).operations
    assert isinstance(operation, AddColumn)
    assert operation.column.server_default == '"0"'
    assert not operation.column.nullable


def test_bool_and_json_defaults_are_server_defaults() -> None:
    new = v1_with(
        Field(name="gift", kind="bool", default=False),
        Field(name="extra", kind="json", default={"b": 1, "a": [1]}),
    )
    columns = {
        o.column.name: o.column for o in plan(V1, new).operations if isinstance(o, AddColumn)
    }
    assert columns["gift"].server_default == "sa.false()"
    assert columns["extra"].server_default == '\'{"a": [1], "b": 1}\''


def test_removed_field_drops_its_column_and_constraints_first() -> None:
    new = Domain(entities=(ORDER, with_fields(ORDER_ITEM, drop=("quantity",))))
    operations = plan(V1, new).operations
    assert [type(o) for o in operations] == [DropConstraint, DropColumn]
    assert describe(plan(V1, new)) == [
        "drop check ck_order_items_quantity_min on order_items (quantity >= 1)",
        "drop column order_items.quantity and its values (the field was removed)",
    ]


def test_removed_reference_drops_foreign_key_and_index_before_the_column() -> None:
    new = Domain(entities=(ORDER, with_fields(ORDER_ITEM, drop=("order",))))
    operations = plan(V1, new).operations
    assert [type(o) for o in operations] == [DropConstraint, DropConstraint, DropColumn]


def test_removed_entity_drops_its_table() -> None:
    (operation,) = plan(V1, Domain(entities=(ORDER,))).operations
    assert isinstance(operation, DropTable)
    assert describe(plan(V1, Domain(entities=(ORDER,)))) == [
        "drop table order_items and its rows (the entity OrderItem was removed)"
    ]


def test_removed_entities_drop_referencing_tables_first() -> None:
    assert [o.table.name for o in plan(V1, Domain()).operations if isinstance(o, DropTable)] == [
        "order_items",
        "orders",
    ]


def test_optional_field_made_required_with_default_fills_nulls_first() -> None:
    old = v1_with(Field(name="note", kind="text", optional=True))
    new = v1_with(Field(name="note", kind="text", default="none"))
    operations = plan(old, new).operations
    assert [type(o) for o in operations] == [FillNulls, AlterColumn]
    fill = operations[0]
    assert isinstance(fill, FillNulls)
    assert fill.value_sql == "'none'"


def test_required_field_made_optional_alters_nullability() -> None:
    new = v1_with(Field(name="total", kind="decimal", optional=True))
    (operation,) = plan(V1, new).operations
    assert isinstance(operation, AlterColumn)
    assert describe(plan(V1, new)) == ["alter column orders.total: not null -> null"]


def test_longer_string_alters_the_varchar_length() -> None:
    old = v1_with(Field(name="code", kind="str", optional=True))
    new = v1_with(Field(name="code", kind="str", optional=True, max_length=400))
    (operation,) = plan(old, new).operations
    assert isinstance(operation, AlterColumn)
    assert (operation.old.type, operation.new.type) == (
        "sa.String(length=200)",
        "sa.String(length=400)",
    )


def test_int_widened_to_bigint_alters_the_type() -> None:
    old = v1_with(Field(name="count", kind="int", default=0))
    new = v1_with(Field(name="count", kind="bigint", default=0))
    assert describe(plan(old, new)) == ["alter column orders.count: type INTEGER -> BIGINT"]


def test_changed_default_alters_the_server_default() -> None:
    new = v1_with(Field(name="status", kind="enum", choices=("pending", "paid"), default="paid"))
    assert describe(plan(V1, new)) == ["alter column orders.status: default 'pending' -> 'paid'"]


def test_added_enum_member_replaces_the_check() -> None:
    new = v1_with(
        Field(name="status", kind="enum", choices=("pending", "paid", "shipped"), default="pending")
    )
    assert kinds(V1, new) == ["ReplaceCheck"]
    (operation,) = plan(V1, new).operations
    assert isinstance(operation, ReplaceCheck)
    assert operation.new.sql == "status IN ('pending', 'paid', 'shipped')"


def test_longer_enum_member_widens_the_column_and_replaces_the_check() -> None:
    new = v1_with(
        Field(
            name="status", kind="enum", choices=("pending", "paid", "refunded"), default="pending"
        )
    )
    assert kinds(V1, new) == ["AlterColumn", "ReplaceCheck"]


def test_min_and_max_add_drop_and_replace_checks() -> None:
    old = v1_with(Field(name="score", kind="int", default=0, min=0))
    assert kinds(old, v1_with(Field(name="score", kind="int", default=0, min=0, max=5))) == [
        "AddConstraint"
    ]
    assert kinds(old, v1_with(Field(name="score", kind="int", default=0))) == ["DropConstraint"]
    assert kinds(old, v1_with(Field(name="score", kind="int", default=0, min=1))) == [
        "ReplaceCheck"
    ]


def test_unique_and_index_are_added_and_dropped() -> None:
    plain = v1_with(Field(name="code", kind="str", optional=True))
    unique = v1_with(Field(name="code", kind="str", optional=True, unique=True))
    indexed = v1_with(Field(name="code", kind="str", optional=True, index=True))
    both = v1_with(Field(name="code", kind="str", optional=True, unique=True, index=True))
    assert describe(plan(plain, unique)) == [
        "add unique constraint uq_orders_code on orders (code)"
    ]
    assert describe(plan(unique, plain)) == [
        "drop unique constraint uq_orders_code on orders (code)"
    ]
    assert describe(plan(plain, indexed)) == ["add index ix_orders_code on orders (code)"]
    assert describe(plan(indexed, plain)) == ["drop index ix_orders_code on orders (code)"]
    assert describe(plan(unique, both)) == []  # unique and index: the unique constraint only


def test_uuid_field_turned_into_a_reference_adds_foreign_key_and_index() -> None:
    customer = Entity(name="Customer", fields=(Field(name="name", kind="str"),))
    old = Domain(entities=(customer, ORDER, ORDER_ITEM))
    order = with_fields(
        ORDER, Field(name="customer", kind="ref", target="Customer"), drop=("customer_id",)
    )
    lines = describe(plan(old, Domain(entities=(customer, order, ORDER_ITEM))))
    assert lines == [
        "add index ix_orders_customer_id on orders (customer_id)",
        "add foreign key fk_orders_customer_id_customers: orders.customer_id -> customers.id "
        "ON DELETE RESTRICT",
    ]


def test_reference_made_optional_replaces_the_foreign_key_with_set_null() -> None:
    item = with_fields(ORDER_ITEM, Field(name="order", kind="ref", target="Order", optional=True))
    assert kinds(V1, Domain(entities=(ORDER, item))) == [
        "DropConstraint",
        "AlterColumn",
        "AddConstraint",
    ]


def test_new_entity_and_new_reference_to_it_create_the_table_first() -> None:
    customer = Entity(name="Customer", fields=(Field(name="name", kind="str"),))
    order = with_fields(ORDER, Field(name="buyer", kind="ref", target="Customer", optional=True))
    lines = describe(plan(V1, Domain(entities=(order, ORDER_ITEM, customer))))
    assert lines[0].startswith("create table customers (id, name, created_at")
    assert lines[1] == "add column orders.buyer_id (UUID, null)"


# --- refusals -----------------------------------------------------------------------------


def refusal(old: Domain, new: Domain) -> MigrationError:
    with pytest.raises(MigrationError) as info:
        plan(old, new)
    assert isinstance(info.value, UsageError)
    assert info.value.exit_code == 2
    assert info.value.hint
    return info.value


def test_refuses_new_required_field_without_default_on_existing_table() -> None:
    error = refusal(V1, v1_with(Field(name="priority", kind="int")))
    assert str(error) == (
        "cannot migrate orders.priority: a new required field needs a default, or make it optional"
    )


def test_new_required_field_without_default_is_fine_on_a_new_table() -> None:
    assert kinds(Domain(), v1_with(Field(name="priority", kind="int")))[0] == "CreateTable"


def test_refuses_optional_field_made_required_without_default() -> None:
    old = v1_with(Field(name="note", kind="text", optional=True))
    error = refusal(old, v1_with(Field(name="note", kind="text")))
    assert "optional field becomes required without a default" in str(error)


def test_refuses_removing_the_enum_member_that_was_the_default() -> None:
    new = v1_with(Field(name="status", kind="enum", choices=("paid", "shipped"), default="paid"))
    error = refusal(V1, new)
    assert "'pending' is removed but it was the default" in str(error)


def test_removing_another_enum_member_replaces_the_check() -> None:
    new = v1_with(Field(name="status", kind="enum", choices=("pending",), default="pending"))
    assert kinds(V1, new) == ["ReplaceCheck"]


def test_refuses_a_type_change_that_cannot_convert_values() -> None:
    error = refusal(V1, v1_with(Field(name="total", kind="json")))
    assert "from decimal to json" in str(error)


def test_refuses_a_reference_to_an_unknown_entity() -> None:
    ghost = with_fields(ORDER_ITEM, Field(name="order", kind="ref", target="Ghost"))
    assert "'Ghost'" in str(refusal(V1, Domain(entities=(ORDER, ghost))))


# --- rendered revisions -------------------------------------------------------------------

RUFF_CONFIG = """\
[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "W", "F", "I", "UP", "B", "SIM", "C4", "RUF"]
"""


def assert_ruff_clean(tmp_path: Path, source: str) -> None:
    (tmp_path / "pyproject.toml").write_text(RUFF_CONFIG)
    path = tmp_path / "revision.py"
    path.write_text(source)
    for args in (["check"], ["format", "--check", "--diff"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", str(path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


LONG_ENUM = tuple(f"member_number_{n}_with_a_long_name" for n in range(8))
WIDE = Entity(
    name="AVeryLongEntityNameForTheTableOfThings",
    fields=(
        Field(name="status", kind="enum", choices=LONG_ENUM, default=LONG_ENUM[0]),
        Field(name="motto", kind="str", default='it\'s a "quoted" default: with colons ' * 3),
        Field(name="owner", kind="ref", target="Order", optional=True),
        Field(name="ratio", kind="decimal", min=Decimal("0.5"), max=Decimal(100)),
        Field(name="when", kind="datetime", optional=True, default="2024-01-01T10:00:00+00:00"),
    ),
)


@pytest.mark.parametrize("sqlite_safe", [True, False], ids=["batch", "plain"])
@pytest.mark.parametrize(
    ("old", "new"),
    [
        (Domain(), V1),
        (V1, Domain(entities=(ORDER, ORDER_ITEM, WIDE))),
        (Domain(entities=(ORDER, ORDER_ITEM, WIDE)), V1),
        (V1, v1_with(Field(name="note", kind="text", optional=True), drop=("total",))),
        (
            v1_with(Field(name="note", kind="text", optional=True)),
            v1_with(Field(name="note", kind="text", default="a: 'quoted' \\ default")),
        ),
        (V1, V1),
    ],
    ids=["create", "long-names", "drop", "add-drop", "fill", "empty"],
)
def test_rendered_revision_is_ruff_clean(
    tmp_path: Path, old: Domain, new: Domain, sqlite_safe: bool
) -> None:
    source = render_revision(
        plan(old, new, sqlite_safe=sqlite_safe),
        revision="0004",
        down_revision=("0002", "0003"),
        message='a change with a "quoted" and a very long message ' * 3,
    )
    assert_ruff_clean(tmp_path, source)


def test_rendered_revision_header_names_revision_and_heads() -> None:
    source = render_revision(
        plan(V1, v1_with(Field(name="note", kind="text", optional=True))),
        revision="0004",
        down_revision=("0002", "0003"),
        message="add note to orders",
    )
    assert source.startswith('"""Add note to orders.\n\n- add column orders.note (TEXT, null)\n')
    assert "Revision ID: 0004\nRevises: 0002, 0003\n" in source
    assert 'revision: str = "0004"\n' in source
    assert 'down_revision: str | Sequence[str] | None = ("0002", "0003")\n' in source
    assert 'with op.batch_alter_table("orders", recreate="auto") as batch:' in source
    assert 'batch.drop_column("note")' in source.split("def downgrade")[1]


def test_first_revision_revises_nothing() -> None:
    source = render_revision(plan(Domain(), V1), revision="0001", down_revision=None, message="x")
    assert "down_revision: str | Sequence[str] | None = None\n" in source
    assert "Revises:\n" in source


# --- heads and revision ids ---------------------------------------------------------------


def revision_file(revision: str, down: str) -> str:
    return f'"""r."""\n\nrevision: str = "{revision}"\ndown_revision = {down}\n'


def test_heads_of_a_branched_history(tree: Callable[[dict[str, str]], Path]) -> None:
    versions = tree(
        {
            "0001_create.py": revision_file("0001", "None"),
            "0002_messaging.py": revision_file("0002", '"0001"'),
            "0003_event_store.py": revision_file("0003", '"0001"'),
            "README.txt": "not a revision",
            "helpers.py": "X = 1\n",
        }
    )
    assert heads(versions) == ("0002", "0003")
    assert next_revision_id(versions) == "0004"
    (versions / "0004_merge.py").write_text(revision_file("0004", '("0002", "0003")'))
    assert heads(versions) == ("0004",)
    assert next_revision_id(versions) == "0005"


def test_missing_versions_directory_has_no_heads(tmp_path: Path) -> None:
    assert heads(tmp_path / "absent") == ()
    assert next_revision_id(tmp_path / "absent") == "0001"


def test_non_numeric_revision_ids_are_skipped_for_the_next_id(
    tree: Callable[[dict[str, str]], Path],
) -> None:
    versions = tree(
        {"a.py": revision_file("0007", "None"), "b.py": revision_file("ae1027a6acf", '"0007"')}
    )
    assert heads(versions) == ("ae1027a6acf",)
    assert next_revision_id(versions) == "0008"


def test_unreadable_revision_file_is_a_migration_error(
    tree: Callable[[dict[str, str]], Path],
) -> None:
    versions = tree({"0001_bad.py": "revision = (\n"})
    with pytest.raises(MigrationError, match=r"0001_bad\.py"):
        heads(versions)
    versions = tree({"0001_bad.py": "revision = make_id()\n"})
    with pytest.raises(MigrationError, match="not a literal"):
        heads(versions)


def test_revision_filename_is_a_slug_of_the_message() -> None:
    assert revision_filename("0004", "Add note to Orders!") == "0004_add_note_to_orders.py"
    assert revision_filename("0004", "!!!") == "0004.py"


# --- real databases -----------------------------------------------------------------------

ENV_PY = """\
from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

BRANCH = """\
\"\"\"A template revision on its own branch.\"\"\"

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "0001"


def upgrade() -> None:
    op.create_table("{table}", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("{table}")
"""


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.services),
        pytest.param("postgresql-plain", marks=pytest.mark.services),
    ]
)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, bool]]:
    """(SQLAlchemy URL, sqlite_safe) of a fresh database, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}", True
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    name = f"msgen_migrations_{uuid.uuid4().hex[:12]}"
    user = os.environ.get("MSGEN_PG_USER", "postgres")
    with psycopg.connect(host="127.0.0.1", user=user, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:5432/{name}", request.param == "postgresql"
    finally:
        with psycopg.connect(
            host="127.0.0.1", user=user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Migrations:
    """A temporary Alembic script directory, driven through alembic's command API."""

    def __init__(self, root: Path, url: str, *, sqlite_safe: bool) -> None:
        from alembic.config import Config

        self.versions = root / "versions"
        self.versions.mkdir(parents=True)
        (root / "env.py").write_text(ENV_PY)
        self.config = Config()
        self.config.set_main_option("script_location", str(root))
        self.config.set_main_option("sqlalchemy.url", url)
        self.url = url
        self.sqlite_safe = sqlite_safe

    def add(self, old: Domain, new: Domain, message: str) -> str:
        revision = next_revision_id(self.versions)
        current = heads(self.versions)
        down = current[0] if len(current) == 1 else (current or None)
        source = render_revision(
            plan(old, new, sqlite_safe=self.sqlite_safe),
            revision=revision,
            down_revision=down,
            message=message,
        )
        (self.versions / revision_filename(revision, message)).write_text(source)
        return revision

    def upgrade(self, target: str = "head") -> None:
        from alembic import command

        command.upgrade(self.config, target)

    def downgrade(self, target: str) -> None:
        from alembic import command

        command.downgrade(self.config, target)


def schema_differences(url: str, domain: Domain) -> list[Any]:
    """What Alembic's autogenerate sees between the database and the domain's models."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tests.domain_metadata import domain_metadata

    metadata = domain_metadata(domain)
    tables = set(metadata.tables)

    def include_name(name: str | None, type_: str, parent: Any) -> bool:
        return type_ != "table" or name in tables

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            )
            differences: list[Any] = compare_metadata(context, metadata)
            inspector = sa.inspect(connection)
            for table in metadata.tables.values():
                if not inspector.has_table(table.name):
                    continue  # compare_metadata reported it
                expected = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
                found = {c["name"] for c in inspector.get_check_constraints(table.name)}
                if expected != found:
                    differences.append(("checks", table.name, sorted(found), sorted(expected)))
    finally:
        engine.dispose()
    return differences


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(sa.text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


O1, O2, C1 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

V2_ORDER = with_fields(
    ORDER,
    Field(name="customer_id", kind="uuid", index=True),
    Field(name="status", kind="enum", choices=("pending", "paid", "shipped"), default="pending"),
    Field(name="note", kind="text", optional=True),
    Field(name="priority", kind="int", default=3),
)
V2_ITEM = with_fields(ORDER_ITEM, Field(name="sku", kind="str", unique=True), drop=("quantity",))
SHIPMENT = Entity(
    name="Shipment",
    fields=(
        Field(name="order", kind="ref", target="Order"),
        Field(name="carrier", kind="str", max_length=40, default="post"),
        Field(name="shipped_at", kind="datetime", optional=True),
    ),
)
V2 = Domain(entities=(V2_ORDER, V2_ITEM, SHIPMENT))
NOTE = "n/a: 'none' at 10:00"  # quotes and colons (sa.text reads ":name" as a parameter)
V3 = Domain(
    entities=(
        with_fields(V2_ORDER, Field(name="note", kind="text", default=NOTE)),
        V2_ITEM,
        SHIPMENT,
    )
)


def test_domain_changes_migrate_real_databases_keeping_every_row(
    tmp_path: Path, database: tuple[str, bool]
) -> None:
    import sqlalchemy as sa

    url, sqlite_safe = database
    migrations = Migrations(tmp_path / "migrations", url, sqlite_safe=sqlite_safe)
    assert migrations.add(Domain(), V1, "create orders") == "0001"
    migrations.upgrade()
    assert schema_differences(url, V1) == []
    # The comparison sees what matters: here the columns, index, unique and table of V2.
    seen = {d[0] if isinstance(d, tuple) else d[0][0] for d in schema_differences(url, V2)}
    assert {"add_table", "add_column", "remove_column", "add_index", "add_constraint"} <= seen
    query(
        url,
        "INSERT INTO orders (id, customer_id, total, status) VALUES "
        f"('{O1.hex}', '{C1.hex}', 12.5, 'paid')",
    )
    query(url, f"INSERT INTO orders (id, customer_id, total) VALUES ('{O2.hex}', '{C1.hex}', 3)")
    query(
        url,
        "INSERT INTO order_items (id, order_id, sku, quantity) VALUES "
        f"('{uuid.uuid4().hex}', '{O1.hex}', 'SKU-1', 2)",
    )

    # The template's messaging and event-store revisions form a second branch: the domain
    # revision merges both heads.
    for revision, table in (("0002", "outbox"), ("0003", "events")):
        (migrations.versions / f"{revision}_{table}.py").write_text(
            BRANCH.format(revision=revision, table=table)
        )
    assert migrations.add(V1, V2, "add shipments") == "0004"
    assert heads(migrations.versions) == ("0004",)
    migrations.upgrade()
    assert schema_differences(url, V2) == []

    rows = query(url, "SELECT id, customer_id, total, status, note, priority FROM orders")
    by_id = {uuid.UUID(str(row[0])): row[1:] for row in rows}
    assert set(by_id) == {O1, O2}
    assert uuid.UUID(str(by_id[O1][0])) == C1
    assert Decimal(str(by_id[O1][1])) == Decimal("12.5")
    assert by_id[O1][2:] == ("paid", None, 3)
    assert by_id[O2][2:] == ("pending", None, 3)
    assert query(url, "SELECT sku FROM order_items") == [("SKU-1",)]
    query(
        url,
        "INSERT INTO orders (id, customer_id, total, status, note) VALUES "
        f"('{uuid.uuid4().hex}', '{C1.hex}', 1, 'shipped', 'fragile')",
    )
    query(url, f"INSERT INTO shipments (id, order_id) VALUES ('{uuid.uuid4().hex}', '{O1.hex}')")
    with pytest.raises(sa.exc.IntegrityError, match="ck_orders_status_enum"):
        query(url, f"UPDATE orders SET status = 'lost' WHERE id = '{O2.hex}'")
    assert query(url, "SELECT carrier FROM shipments") == [("post",)]

    assert migrations.add(V2, V3, "note required") == "0005"
    migrations.upgrade()
    assert schema_differences(url, V3) == []
    assert sorted(row[0] for row in query(url, "SELECT note FROM orders")) == [
        "fragile",
        NOTE,
        NOTE,
    ]

    migrations.downgrade("0004")
    assert schema_differences(url, V2) == []
    query(url, "DELETE FROM orders WHERE status = 'shipped'")
    query(url, "DELETE FROM shipments")
    migrations.downgrade("0001")
    # The dropped quantity column comes back nullable: its values went with the upgrade.
    differences = schema_differences(url, V1)
    assert [(d[0][0], d[0][2], d[0][3]) for d in differences] == [
        ("modify_nullable", "order_items", "quantity")
    ]
    assert sorted(uuid.UUID(str(row[0])) for row in query(url, "SELECT id FROM orders")) == sorted(
        [O1, O2]
    )
    migrations.downgrade("base")
    migrations.upgrade()
    assert schema_differences(url, V3) == []
