"""The tables a domain declares: names, columns, constraints and indexes, as plain data.

This is the one spec both sides follow: the generated SQLAlchemy models declare exactly
these tables, and the planner diffs two of them. Types and defaults are kept as the Python
source a revision file needs (``sa.String(length=200)``) plus a short SQL label for humans.
Constraint names are the final names the models' naming convention produces, so a later
revision can drop them by name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from msgen.domain.model import Domain, Entity, Field
from msgen.migrations.source import quote
from msgen.naming import pluralize, singularize

__all__ = [
    "NAMING_CONVENTION",
    "CheckSpec",
    "ColumnSpec",
    "ForeignKeySpec",
    "IndexSpec",
    "TableSpec",
    "UniqueSpec",
    "domain_tables",
    "entity_table",
    "table_name",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""The ``MetaData(naming_convention=...)`` of the generated models."""

_WORDS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[-_]")

# kind -> (SQLAlchemy type source, SQL label); str and enum get their length added.
_TYPES: dict[str, tuple[str, str]] = {
    "text": ("sa.Text()", "TEXT"),
    "int": ("sa.Integer()", "INTEGER"),
    "bigint": ("sa.BigInteger()", "BIGINT"),
    "float": ("sa.Float()", "FLOAT"),
    "decimal": ("sa.Numeric(precision=18, scale=4)", "NUMERIC(18, 4)"),
    "bool": ("sa.Boolean()", "BOOLEAN"),
    "uuid": ("sa.Uuid()", "UUID"),
    "ref": ("sa.Uuid()", "UUID"),
    "date": ("sa.Date()", "DATE"),
    "datetime": ("sa.DateTime(timezone=True)", "TIMESTAMP WITH TIME ZONE"),
    "json": ("sa.JSON()", "JSON"),
}
_TIMESTAMP = ("sa.DateTime(timezone=True)", "TIMESTAMP WITH TIME ZONE")


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnSpec:
    """One column. ``type`` and ``server_default`` are Python source for a revision file."""

    name: str
    type: str
    label: str
    nullable: bool
    server_default: str | None = None
    """The ``server_default=`` argument as source (``"pending"``, ``sa.true()``), or None."""
    default_sql: str | None = None
    """The default as a SQL literal (``'pending'``, ``12.5``, ``TRUE``), to fill nulls."""
    primary_key: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSpec:
    """A CHECK constraint on one column; ``name`` is the final (conventional) name."""

    name: str
    column: str
    sql: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UniqueSpec:
    """A single-column UNIQUE constraint."""

    name: str
    column: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexSpec:
    """A (non-unique) index."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignKeySpec:
    """A foreign key from ``column`` to ``target_table.id``."""

    name: str
    column: str
    target_table: str
    ondelete: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TableSpec:
    """The table of one entity."""

    name: str
    entity: str
    columns: tuple[ColumnSpec, ...]
    checks: tuple[CheckSpec, ...] = ()
    uniques: tuple[UniqueSpec, ...] = ()
    indexes: tuple[IndexSpec, ...] = ()
    foreign_keys: tuple[ForeignKeySpec, ...] = ()

    def column(self, name: str) -> ColumnSpec | None:
        """The column called ``name``, if any."""
        return next((c for c in self.columns if c.name == name), None)


def table_name(entity: str) -> str:
    """The table of an entity: the plural snake of its name (``OrderItem`` -> ``order_items``).

    The same rule as :func:`msgen.naming.derive_names` for a service's resource.
    """
    words = [w.lower() for w in _WORDS.split(entity) if w]
    singular = [*words[:-1], singularize(words[-1])]
    return "_".join([*singular[:-1], pluralize(singular[-1])])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number(value: int | float | Decimal) -> str:
    return str(value)


def _default(field: Field) -> tuple[str | None, str | None]:
    """``server_default`` source and the SQL literal of a field's (non-null) default."""
    value: Any = field.default
    if not field.has_default or value is None:
        return None, None
    if field.kind == "bool":
        return ("sa.true()", "TRUE") if value else ("sa.false()", "FALSE")
    if field.kind in {"int", "bigint", "float", "decimal"}:
        text = _number(value)
        return quote(text), text
    text = json.dumps(value, sort_keys=True) if field.kind == "json" else str(value)
    return quote(text), _quote(text)


def _column(field: Field) -> ColumnSpec:
    if field.kind in {"str", "enum"}:
        type_ = f"sa.String(length={field.length})"
        label = f"VARCHAR({field.length})"
    else:
        type_, label = _TYPES[field.kind]
    server_default, default_sql = _default(field)
    return ColumnSpec(
        name=field.column,
        type=type_,
        label=label,
        nullable=field.optional,
        server_default=server_default,
        default_sql=default_sql,
    )


def _checks(table: str, field: Field) -> list[CheckSpec]:
    column = field.column
    checks = []
    if field.kind == "enum":
        members = ", ".join(_quote(choice) for choice in field.choices)
        checks.append(
            CheckSpec(
                name=f"ck_{table}_{column}_enum", column=column, sql=f"{column} IN ({members})"
            )
        )
    if field.min is not None:
        checks.append(
            CheckSpec(
                name=f"ck_{table}_{column}_min", column=column, sql=f"{column} >= {field.min}"
            )
        )
    if field.max is not None:
        checks.append(
            CheckSpec(
                name=f"ck_{table}_{column}_max", column=column, sql=f"{column} <= {field.max}"
            )
        )
    return checks


def entity_table(entity: Entity) -> TableSpec:
    """The table of ``entity``, exactly as its generated SQLAlchemy model declares it."""
    name = table_name(entity.name)
    columns = [
        ColumnSpec(name="id", type="sa.Uuid()", label="UUID", nullable=False, primary_key=True)
    ]
    checks: list[CheckSpec] = []
    uniques: list[UniqueSpec] = []
    indexes: list[IndexSpec] = []
    foreign_keys: list[ForeignKeySpec] = []
    for field in entity.fields:
        column = field.column
        columns.append(_column(field))
        checks.extend(_checks(name, field))
        if field.unique:
            uniques.append(UniqueSpec(name=f"uq_{name}_{column}", column=column))
        elif field.index or field.kind == "ref":
            indexes.append(IndexSpec(name=f"ix_{name}_{column}", columns=(column,)))
        if field.kind == "ref":
            target = table_name(field.target or "")
            foreign_keys.append(
                ForeignKeySpec(
                    name=f"fk_{name}_{column}_{target}",
                    column=column,
                    target_table=target,
                    ondelete="SET NULL" if field.optional else "RESTRICT",
                )
            )
    columns += [
        *(
            ColumnSpec(
                name=stamp,
                type=_TIMESTAMP[0],
                label=_TIMESTAMP[1],
                nullable=False,
                server_default="sa.func.now()",
            )
            for stamp in ("created_at", "updated_at")
        ),
        ColumnSpec(
            name="version",
            type="sa.Integer()",
            label="INTEGER",
            nullable=False,
            server_default='"1"',
        ),
    ]
    indexes.append(IndexSpec(name=f"ix_{name}_created_at_id", columns=("created_at", "id")))
    return TableSpec(
        name=name,
        entity=entity.name,
        columns=tuple(columns),
        checks=tuple(checks),
        uniques=tuple(uniques),
        indexes=tuple(indexes),
        foreign_keys=tuple(foreign_keys),
    )


def domain_tables(domain: Domain) -> dict[str, TableSpec]:
    """Every entity's table, keyed by entity name, in declaration order."""
    return {entity.name: entity_table(entity) for entity in domain.entities}
