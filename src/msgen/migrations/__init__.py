"""Alembic revisions planned from a change of a service's domain.

Like Django's ``makemigrations``: :func:`plan` compares the tables of two domains and
returns the ordered operations (tables created and dropped, columns added, dropped and
altered, CHECK/UNIQUE/index/foreign-key constraints added, dropped and replaced), or
refuses with :class:`~msgen.errors.MigrationError` when a change would need values the
database does not have. :func:`describe` explains a plan line by line and
:func:`render_revision` writes it as an Alembic revision that runs on SQLite (batch mode)
and PostgreSQL. Renames are not detected: a renamed entity or field is a drop and an add.

Everything here is pure except :func:`heads`/:func:`next_revision_id`, which read a
``versions`` directory. msgen does not depend on SQLAlchemy or Alembic: revisions are text.
"""

from __future__ import annotations

from msgen.migrations.describe import describe
from msgen.migrations.planner import Operation, Plan, plan
from msgen.migrations.render import render_revision
from msgen.migrations.schema import (
    NAMING_CONVENTION,
    TableSpec,
    domain_tables,
    entity_table,
    table_name,
)
from msgen.migrations.versions import heads, next_revision_id, revision_filename

__all__ = [
    "NAMING_CONVENTION",
    "Operation",
    "Plan",
    "TableSpec",
    "describe",
    "domain_tables",
    "entity_table",
    "heads",
    "next_revision_id",
    "plan",
    "render_revision",
    "revision_filename",
    "table_name",
]
