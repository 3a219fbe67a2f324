"""SQLAlchemy MetaData of a domain, written from the table spec (docs/migrations.md).

Test-only and deliberately independent of msgen.migrations: it is what a generated
service's models declare, so comparing a migrated database against it (Alembic's
autogenerate comparison) checks the rendered revisions against the models.
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa

from msgen.domain.model import Domain, Field
from msgen.naming import pluralize

CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def plural_snake(name: str) -> str:
    words = [w.lower() for w in re.split(r"(?<=[a-z0-9])(?=[A-Z])", name) if w]
    return "_".join([*words[:-1], pluralize(words[-1])])


def _type(field: Field) -> Any:
    return {
        "str": lambda: sa.String(length=field.length),
        "enum": lambda: sa.String(length=field.length),
        "text": sa.Text,
        "int": sa.Integer,
        "bigint": sa.BigInteger,
        "float": sa.Float,
        "decimal": lambda: sa.Numeric(precision=18, scale=4),
        "bool": sa.Boolean,
        "uuid": sa.Uuid,
        "ref": sa.Uuid,
        "date": sa.Date,
        "datetime": lambda: sa.DateTime(timezone=True),
        "json": sa.JSON,
    }[field.kind]()


def _server_default(field: Field) -> Any:
    if not field.has_default or field.default is None:
        return None
    if field.kind == "bool":
        return sa.true() if field.default else sa.false()
    if field.kind == "json":
        return json.dumps(field.default, sort_keys=True)
    return str(field.default)


def domain_metadata(domain: Domain) -> sa.MetaData:
    metadata = sa.MetaData(naming_convention=CONVENTION)
    for entity in domain.entities:
        table = plural_snake(entity.name)
        items: list[Any] = [sa.Column("id", sa.Uuid(), primary_key=True)]
        for field in entity.fields:
            column = field.column
            extra: list[Any] = []
            if field.kind == "ref":
                assert field.target is not None
                ondelete = "SET NULL" if field.optional else "RESTRICT"
                extra.append(sa.ForeignKey(f"{plural_snake(field.target)}.id", ondelete=ondelete))
            items.append(
                sa.Column(
                    column,
                    _type(field),
                    *extra,
                    nullable=field.optional,
                    server_default=_server_default(field),
                    unique=field.unique or None,
                    index=(not field.unique and (field.index or field.kind == "ref")) or None,
                )
            )
            if field.kind == "enum":
                members = ", ".join(f"'{choice}'" for choice in field.choices)
                items.append(sa.CheckConstraint(f"{column} IN ({members})", name=f"{column}_enum"))
            if field.min is not None:
                items.append(sa.CheckConstraint(f"{column} >= {field.min}", name=f"{column}_min"))
            if field.max is not None:
                items.append(sa.CheckConstraint(f"{column} <= {field.max}", name=f"{column}_max"))
        items += [
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.func.now(),
                nullable=False,
            ),
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                server_default=sa.func.now(),
                nullable=False,
            ),
            sa.Column("version", sa.Integer(), server_default="1", nullable=False),
            sa.Index(f"ix_{table}_created_at_id", "created_at", "id"),
        ]
        sa.Table(table, metadata, *items)
    return metadata
