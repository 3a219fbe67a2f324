"""Plan the schema change between two domains, as Django's autodetector does between states.

Pure: two :class:`~msgen.domain.model.Domain` objects in, an ordered :class:`Plan` out.
Tables are matched by name and columns by column name, so a renamed entity or field is a
drop and an add (its values are not carried over); renames are never guessed.

Order of the operations (upgrade): new tables (referenced tables first; foreign keys of a
reference cycle are added after the tables), then each kept table's changes (nulls filled,
constraints dropped, columns dropped, added and altered, constraints added), then dropped
tables (referencing tables first). ``downgrade`` runs the inverses in reverse order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from msgen.domain.model import Domain, Entity, Field
from msgen.errors import MigrationError
from msgen.migrations.schema import (
    CheckSpec,
    ColumnSpec,
    ForeignKeySpec,
    IndexSpec,
    TableSpec,
    UniqueSpec,
    domain_tables,
    table_name,
)

__all__ = [
    "AddColumn",
    "AddConstraint",
    "AlterColumn",
    "Constraint",
    "CreateTable",
    "DropColumn",
    "DropConstraint",
    "DropTable",
    "FillNulls",
    "Operation",
    "Plan",
    "ReplaceCheck",
    "plan",
]

Constraint = CheckSpec | UniqueSpec | IndexSpec | ForeignKeySpec
# Constraints are dropped foreign keys first and added foreign keys last.
_ADD_ORDER: tuple[type, ...] = (CheckSpec, UniqueSpec, IndexSpec, ForeignKeySpec)

# Type changes whose values convert without loss on PostgreSQL and SQLite (batch copy).
# A value that does not fit (a long text into a VARCHAR, a member outside a new enum) makes
# the upgrade fail on the database; none is truncated or dropped silently.
_CONVERSIONS = frozenset(
    {
        ("int", "bigint"),
        ("int", "float"),
        ("int", "decimal"),
        ("bigint", "decimal"),
        *((number, text) for number in ("int", "bigint", "decimal") for text in ("str", "text")),
        ("str", "text"),
        ("text", "str"),
        ("enum", "str"),
        ("enum", "text"),
        ("str", "enum"),
        ("text", "enum"),
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTable:
    """Create an entity's table (with its indexes)."""

    table: TableSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class DropTable:
    """Drop a removed entity's table, rows included; downgrade recreates it empty."""

    table: TableSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class AddColumn:
    """Add a column; existing rows get its server default, or null."""

    table: str
    column: ColumnSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class DropColumn:
    """Drop a removed field's column, values included."""

    table: str
    column: ColumnSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class AlterColumn:
    """Change a column's type, nullability or server default."""

    table: str
    old: ColumnSpec
    new: ColumnSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class FillNulls:
    """Set a column's nulls to its new default before it becomes NOT NULL (no inverse)."""

    table: str
    column: str
    value_sql: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AddConstraint:
    """Add a CHECK, UNIQUE, index or foreign key."""

    table: str
    constraint: Constraint


@dataclass(frozen=True, slots=True, kw_only=True)
class DropConstraint:
    """Drop a CHECK, UNIQUE, index or foreign key."""

    table: str
    constraint: Constraint


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceCheck:
    """Replace a CHECK with a new condition under the same name (enum members, min, max)."""

    table: str
    old: CheckSpec
    new: CheckSpec


Operation = (
    CreateTable
    | DropTable
    | AddColumn
    | DropColumn
    | AlterColumn
    | FillNulls
    | AddConstraint
    | DropConstraint
    | ReplaceCheck
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The ordered operations that turn the old domain's tables into the new one's.

    ``sqlite_safe`` plans for a revision that runs on SQLite too: every table change goes
    through ``op.batch_alter_table(..., recreate="auto")``; without it the revision uses plain
    ``op.*`` calls (PostgreSQL only).
    """

    operations: tuple[Operation, ...]
    sqlite_safe: bool = True

    def __bool__(self) -> bool:
        return bool(self.operations)


def _refuse(table: str, field: Field, reason: str, hint: str) -> MigrationError:
    return MigrationError(f"cannot migrate {table}.{field.column}: {reason}", hint=hint)


def _fields(entity: Entity) -> dict[str, Field]:
    return {field.column: field for field in entity.fields}


def _check_targets(domain: Domain) -> None:
    names = {entity.name for entity in domain.entities}
    for entity in domain.entities:
        for field in entity.fields:
            if field.kind == "ref" and field.target not in names:
                raise _refuse(
                    table_name(entity.name),
                    field,
                    f"it refers to {field.target!r}, which is not an entity of this service",
                    "a reference to another service's entity is a plain uuid field",
                )


def _creation_order(
    tables: list[TableSpec],
) -> tuple[list[TableSpec], list[tuple[str, ForeignKeySpec]]]:
    """Tables with referenced ones first; foreign keys that close a cycle come back apart."""
    pending = {table.name for table in tables}
    ordered: list[TableSpec] = []
    deferred: list[tuple[str, ForeignKeySpec]] = []
    remaining = list(tables)
    while remaining:
        ready = next(
            (
                t
                for t in remaining
                if all(
                    fk.target_table in {t.name} or fk.target_table not in pending
                    for fk in t.foreign_keys
                )
            ),
            None,
        )
        if ready is None:  # a cycle: create the first table without its forward references
            first = remaining[0]
            cut = [fk for fk in first.foreign_keys if fk.target_table in pending - {first.name}]
            deferred += [(first.name, fk) for fk in cut]
            ready = replace(
                first, foreign_keys=tuple(f for f in first.foreign_keys if f not in cut)
            )
        ordered.append(ready)
        pending.discard(ready.name)
        remaining = [t for t in remaining if t.name != ready.name]
    return ordered, deferred


def _constraints(table: TableSpec) -> dict[str, Constraint]:
    items: Iterable[Constraint] = (
        *table.foreign_keys,
        *table.uniques,
        *table.indexes,
        *table.checks,
    )
    return {item.name: item for item in items}


def _alter_column(
    table: str, old_field: Field, new_field: Field, old: ColumnSpec, new: ColumnSpec
) -> list[Operation]:
    kinds = (old_field.kind, new_field.kind)
    if old.type != new.type and kinds[0] != kinds[1] and kinds not in _CONVERSIONS:
        raise _refuse(
            table,
            new_field,
            f"its type changes from {kinds[0]} to {kinds[1]}, and the values "
            "cannot be converted safely",
            "add a new field, copy the values in a hand-written revision, then remove "
            "the old field",
        )
    removed = [c for c in old_field.choices if c not in new_field.choices]
    if new_field.kind == "enum" and old_field.has_default and old_field.default in removed:
        raise _refuse(
            table,
            new_field,
            f"the enum member {old_field.default!r} is removed but it was the default, "
            "so rows surely hold it",
            "keep the member, or move those rows to another value in a hand-written revision first",
        )
    operations: list[Operation] = []
    if old.nullable and not new.nullable:
        if new.default_sql is None:
            raise _refuse(
                table,
                new_field,
                "an optional field becomes required without a default, and existing rows "
                "may hold null",
                "give it a default (null values become the default), or keep it optional",
            )
        operations.append(FillNulls(table=table, column=new.name, value_sql=new.default_sql))
    if old != new:
        operations.append(AlterColumn(table=table, old=old, new=new))
    return operations


def _alter_table(
    old_entity: Entity, new_entity: Entity, old: TableSpec, new: TableSpec
) -> list[Operation]:
    name = new.name
    old_fields, new_fields = _fields(old_entity), _fields(new_entity)
    fills: list[Operation] = []
    dropped: list[Operation] = []
    added: list[Operation] = []
    altered: list[Operation] = []
    for column in old.columns:
        if new.column(column.name) is None:
            dropped.append(DropColumn(table=name, column=column))
    for column in new.columns:
        previous = old.column(column.name)
        if previous is None:
            field = new_fields[column.name]
            if not column.nullable and column.server_default is None:
                raise _refuse(
                    name,
                    field,
                    "a new required field needs a default, or make it optional",
                    "make it optional (a trailing '?') or give it a default ('= value'): "
                    "the rows already in the table need a value",
                )
            added.append(AddColumn(table=name, column=column))
        elif column.name in new_fields:
            for operation in _alter_column(
                name, old_fields[column.name], new_fields[column.name], previous, column
            ):
                (fills if isinstance(operation, FillNulls) else altered).append(operation)
    old_constraints, new_constraints = _constraints(old), _constraints(new)
    drops: list[Operation] = []
    adds: list[AddConstraint] = []
    for key, before in old_constraints.items():
        after = new_constraints.get(key)
        if after == before:
            continue
        if isinstance(before, CheckSpec) and isinstance(after, CheckSpec):
            altered.append(ReplaceCheck(table=name, old=before, new=after))
            continue
        drops.append(DropConstraint(table=name, constraint=before))
        if after is not None:
            adds.append(AddConstraint(table=name, constraint=after))
    adds += [
        AddConstraint(table=name, constraint=after)
        for key, after in new_constraints.items()
        if key not in old_constraints
    ]
    adds.sort(key=lambda op: _ADD_ORDER.index(type(op.constraint)))
    return [*fills, *drops, *dropped, *added, *altered, *adds]


def plan(old: Domain, new: Domain, *, sqlite_safe: bool = True) -> Plan:
    """Plan the revision that turns ``old``'s tables into ``new``'s.

    Raises :class:`~msgen.errors.MigrationError` for a change that would need values the
    database does not have (a new required field without a default on an existing table,
    an optional field made required without a default), that cannot convert its values
    (an unsafe type change), or that would strand rows (removing the enum member that was
    the default). Dropping a removed entity's table or a removed field's column is planned:
    the user removed it. Renames are not detected: a renamed entity or field is a drop and
    an add, and its values are not carried over.
    """
    _check_targets(new)
    old_tables, new_tables = domain_tables(old), domain_tables(new)
    old_names = {table.name: entity for entity, table in old_tables.items()}
    new_names = {table.name: entity for entity, table in new_tables.items()}
    operations: list[Operation] = []

    created, deferred = _creation_order([t for t in new_tables.values() if t.name not in old_names])
    operations += [CreateTable(table=table) for table in created]
    operations += [AddConstraint(table=table, constraint=fk) for table, fk in deferred]

    for entity in new.entities:
        table = new_tables[entity.name]
        if table.name in old_names:
            old_entity = old.entity(old_names[table.name])
            assert old_entity is not None
            operations += _alter_table(old_entity, entity, old_tables[old_entity.name], table)

    removed, cycles = _creation_order([t for t in old_tables.values() if t.name not in new_names])
    operations += [DropConstraint(table=table, constraint=fk) for table, fk in cycles]
    operations += [DropTable(table=table) for table in reversed(removed)]
    return Plan(operations=tuple(operations), sqlite_safe=sqlite_safe)
