"""One line per planned operation, for ``--dry-run`` and the revision's docstring."""

from __future__ import annotations

from msgen.migrations.planner import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    Constraint,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropTable,
    FillNulls,
    Operation,
    Plan,
)
from msgen.migrations.schema import CheckSpec, ColumnSpec, ForeignKeySpec, IndexSpec

__all__ = ["describe", "describe_operation"]


def _column(column: ColumnSpec) -> str:
    text = f"{column.label}, {'null' if column.nullable else 'not null'}"
    if column.default_sql is not None:
        text += f", default {column.default_sql}"
    return text


def _constraint(table: str, constraint: Constraint) -> str:
    if isinstance(constraint, CheckSpec):
        return f"check {constraint.name} on {table} ({constraint.sql})"
    if isinstance(constraint, IndexSpec):
        return f"index {constraint.name} on {table} ({', '.join(constraint.columns)})"
    if isinstance(constraint, ForeignKeySpec):
        return (
            f"foreign key {constraint.name}: {table}.{constraint.column} -> "
            f"{constraint.target_table}.id ON DELETE {constraint.ondelete}"
        )
    return f"unique constraint {constraint.name} on {table} ({constraint.column})"


def _changes(old: ColumnSpec, new: ColumnSpec) -> str:
    changes = []
    if old.label != new.label:
        changes.append(f"type {old.label} -> {new.label}")
    if old.nullable != new.nullable:
        changes.append("null -> not null" if old.nullable else "not null -> null")
    if old.default_sql != new.default_sql:
        changes.append(f"default {old.default_sql or 'none'} -> {new.default_sql or 'none'}")
    return ", ".join(changes)


def describe_operation(operation: Operation) -> str:  # noqa: PLR0911 (one return per kind)
    """A human line for one operation; a drop says that its data goes with it."""
    if isinstance(operation, CreateTable):
        columns = ", ".join(column.name for column in operation.table.columns)
        return f"create table {operation.table.name} ({columns})"
    if isinstance(operation, DropTable):
        return (
            f"drop table {operation.table.name} and its rows "
            f"(the entity {operation.table.entity} was removed)"
        )
    if isinstance(operation, AddColumn):
        column = operation.column
        return f"add column {operation.table}.{column.name} ({_column(column)})"
    if isinstance(operation, DropColumn):
        return (
            f"drop column {operation.table}.{operation.column.name} and its values "
            "(the field was removed)"
        )
    if isinstance(operation, AlterColumn):
        return (
            f"alter column {operation.table}.{operation.new.name}: "
            f"{_changes(operation.old, operation.new)}"
        )
    if isinstance(operation, FillNulls):
        return f"set {operation.table}.{operation.column} to {operation.value_sql} where it is null"
    if isinstance(operation, AddConstraint):
        return f"add {_constraint(operation.table, operation.constraint)}"
    if isinstance(operation, DropConstraint):
        return f"drop {_constraint(operation.table, operation.constraint)}"
    return (
        f"replace check {operation.new.name} on {operation.table}: "
        f"{operation.old.sql} -> {operation.new.sql}"
    )


def describe(plan: Plan) -> list[str]:
    """One human line per operation, in the order the upgrade runs them."""
    return [describe_operation(operation) for operation in plan.operations]
