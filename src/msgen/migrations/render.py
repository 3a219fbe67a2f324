"""Render a :class:`~msgen.migrations.planner.Plan` as a complete Alembic revision file.

Every change to a table goes through ``op.batch_alter_table(table, recreate="auto")``:
PostgreSQL runs plain ``ALTER TABLE`` statements, SQLite copies the table (rows kept) when
its own ``ALTER TABLE`` cannot do the change. Constraint names are final (``op.f``), so a
later revision drops them by the same name. ``downgrade()`` runs the inverse operations in
reverse order; what an upgrade dropped comes back empty.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator

from msgen.migrations.describe import describe
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
from msgen.migrations.schema import CheckSpec, ColumnSpec, ForeignKeySpec, IndexSpec, TableSpec
from msgen.migrations.source import LINE_LENGTH, Call, Kw, Node, Seq, Str, format_node, quote

__all__ = ["render_revision"]

Step = tuple[str | None, Node]
"""A statement and the table whose batch block it belongs to (None: module level)."""


def _f(name: str) -> Call:
    return Call("op.f", (Str(name),))


def _names(names: tuple[str, ...] | list[str]) -> Seq:
    return Seq(tuple(Str(name) for name in names))


def _source(source: str) -> Node:
    """A server default's source as a node: string literals may be split when too long."""
    return Str(ast.literal_eval(source)) if source[0] in "'\"" else source


def _column(column: ColumnSpec, *, nullable: bool | None = None) -> Call:
    args: list[Node] = [Str(column.name), column.type]
    if column.server_default is not None:
        args.append(Kw("server_default", _source(column.server_default)))
    args.append(Kw("nullable", repr(column.nullable if nullable is None else nullable)))
    return Call("sa.Column", tuple(args))


def _op(method: str, table: str, args: list[Node], *, safe: bool, at: int | None) -> Step:
    """A table operation as ``batch.method(...)`` or ``op.method(...)`` with the table at ``at``."""
    if safe:
        return table, Call(f"batch.{method}", tuple(args))
    if at is None:
        return None, Call(f"op.{method}", (*args, Kw("table_name", Str(table))))
    return None, Call(f"op.{method}", (*args[:at], Str(table), *args[at:]))


def _add(table: str, item: Constraint, safe: bool) -> Step:
    name = _f(item.name)
    if isinstance(item, CheckSpec):
        return _op("create_check_constraint", table, [name, Str(item.sql)], safe=safe, at=1)
    if isinstance(item, IndexSpec):
        args: list[Node] = [name, _names(item.columns), Kw("unique", "False")]
        return _op("create_index", table, args, safe=safe, at=1)
    if isinstance(item, ForeignKeySpec):
        args = [
            name,
            Str(item.target_table),
            _names([item.column]),
            _names(["id"]),
            Kw("ondelete", Str(item.ondelete)),
        ]
        return _op("create_foreign_key", table, args, safe=safe, at=1)
    return _op("create_unique_constraint", table, [name, _names([item.column])], safe=safe, at=1)


def _drop(table: str, item: Constraint, safe: bool) -> Step:
    if isinstance(item, IndexSpec):
        return _op("drop_index", table, [_f(item.name)], safe=safe, at=None)
    kind = {CheckSpec: "check", ForeignKeySpec: "foreignkey"}.get(type(item), "unique")
    return _op("drop_constraint", table, [_f(item.name), Kw("type_", Str(kind))], safe=safe, at=1)


def _create_table(table: TableSpec, safe: bool) -> list[Step]:
    args: list[Node] = [Str(table.name)]
    args += [_column(column) for column in table.columns]
    primary = [column.name for column in table.columns if column.primary_key]
    args.append(
        Call("sa.PrimaryKeyConstraint", (*map(Str, primary), Kw("name", _f(f"pk_{table.name}"))))
    )
    for fk in table.foreign_keys:
        args.append(
            Call(
                "sa.ForeignKeyConstraint",
                (
                    _names([fk.column]),
                    _names([f"{fk.target_table}.id"]),
                    Kw("name", _f(fk.name)),
                    Kw("ondelete", Str(fk.ondelete)),
                ),
            )
        )
    args += [
        Call("sa.UniqueConstraint", (Str(unique.column), Kw("name", _f(unique.name))))
        for unique in table.uniques
    ]
    args += [
        Call("sa.CheckConstraint", (Str(check.sql), Kw("name", _f(check.name))))
        for check in table.checks
    ]
    steps: list[Step] = [(None, Call("op.create_table", tuple(args)))]
    return steps + [_add(table.name, index, safe) for index in table.indexes]


def _alter(table: str, old: ColumnSpec, new: ColumnSpec, safe: bool) -> Step:
    args: list[Node] = [Str(new.name), Kw("existing_type", old.type)]
    if old.type != new.type:
        args.append(Kw("type_", new.type))
    if old.nullable != new.nullable:
        args += [Kw("existing_nullable", repr(old.nullable)), Kw("nullable", repr(new.nullable))]
    else:
        args.append(Kw("existing_nullable", repr(old.nullable)))
    if old.server_default != new.server_default:
        args.append(Kw("server_default", _source(new.server_default or "None")))
    elif old.server_default is not None:
        args.append(Kw("existing_server_default", _source(old.server_default)))
    return _op("alter_column", table, args, safe=safe, at=0)


def _upgrade(operation: Operation, safe: bool) -> list[Step]:  # noqa: PLR0911
    if isinstance(operation, CreateTable):
        return _create_table(operation.table, safe)
    if isinstance(operation, DropTable):
        return [(None, Call("op.drop_table", (Str(operation.table.name),)))]
    if isinstance(operation, AddColumn):
        return [_op("add_column", operation.table, [_column(operation.column)], safe=safe, at=0)]
    if isinstance(operation, DropColumn):
        name = Str(operation.column.name)
        return [_op("drop_column", operation.table, [name], safe=safe, at=0)]
    if isinstance(operation, AlterColumn):
        return [_alter(operation.table, operation.old, operation.new, safe)]
    if isinstance(operation, FillNulls):
        # sa.text() reads ":name" as a parameter; a default like a time of day has colons.
        sql = f"UPDATE {operation.table} SET {operation.column} = {operation.value_sql} "
        sql += f"WHERE {operation.column} IS NULL"
        return [(None, Call("op.execute", (Call("sa.text", (Str(sql.replace(":", "\\:")),)),)))]
    if isinstance(operation, AddConstraint):
        return [_add(operation.table, operation.constraint, safe)]
    if isinstance(operation, DropConstraint):
        return [_drop(operation.table, operation.constraint, safe)]
    return [_drop(operation.table, operation.old, safe), _add(operation.table, operation.new, safe)]


def _downgrade(operation: Operation, safe: bool) -> list[Step]:  # noqa: PLR0911
    if isinstance(operation, CreateTable):
        return [(None, Call("op.drop_table", (Str(operation.table.name),)))]
    if isinstance(operation, DropTable):
        return _create_table(operation.table, safe)
    if isinstance(operation, AddColumn):
        return _upgrade(DropColumn(table=operation.table, column=operation.column), safe)
    if isinstance(operation, DropColumn):
        column = operation.column
        # Its values were dropped: without a server default the column comes back nullable.
        nullable = column.nullable or column.server_default is None
        return [
            _op(
                "add_column", operation.table, [_column(column, nullable=nullable)], safe=safe, at=0
            )
        ]
    if isinstance(operation, AlterColumn):
        return [_alter(operation.table, operation.new, operation.old, safe)]
    if isinstance(operation, FillNulls):
        return []
    if isinstance(operation, AddConstraint):
        return [_drop(operation.table, operation.constraint, safe)]
    if isinstance(operation, DropConstraint):
        return [_add(operation.table, operation.constraint, safe)]
    return [_drop(operation.table, operation.new, safe), _add(operation.table, operation.old, safe)]


def _body(steps: list[Step]) -> Iterator[str]:
    """Statements at function level; consecutive steps on one table share a batch block."""
    index = 0
    while index < len(steps):
        table, node = steps[index]
        if table is None:
            yield from format_node(node, 4)
            index += 1
            continue
        batch = Call("op.batch_alter_table", (Str(table), Kw("recreate", Str("auto"))))
        yield from format_node(batch, 4, prefix="with ", suffix=" as batch:")
        while index < len(steps) and steps[index][0] == table:
            yield from format_node(steps[index][1], 8)
            index += 1


def _docstring(plan: Plan, revision: str, down: tuple[str, ...], message: str) -> list[str]:
    title = " ".join(message.split()) or "Schema change"
    title = title[0].upper() + title[1:]
    if title[-1] not in ".!?":
        title += "."
    lines = textwrap.wrap(title, LINE_LENGTH - 4)
    changes = [
        textwrap.fill(line, LINE_LENGTH - 4, initial_indent="- ", subsequent_indent="  ")
        for line in describe(plan)
    ]
    lines += ["", *changes] if changes else []
    lines += ["", f"Revision ID: {revision}", f"Revises: {', '.join(down)}", ""]
    text = "\n".join(line.rstrip() for line in lines).replace("\\", "\\\\")
    return ['"""' + text.replace('"""', '\\"\\"\\"') + '"""']


def render_revision(
    plan: Plan, *, revision: str, down_revision: str | tuple[str, ...] | None, message: str
) -> str:
    """The source of an Alembic revision file applying ``plan``, ruff-clean at 100 columns.

    ``down_revision`` is the current head, or every head (a tuple) to merge branches.
    """
    safe = plan.sqlite_safe
    down = (down_revision,) if isinstance(down_revision, str) else tuple(down_revision or ())
    up_steps = [step for operation in plan.operations for step in _upgrade(operation, safe)]
    down_steps = [
        step for operation in reversed(plan.operations) for step in _downgrade(operation, safe)
    ]
    upgrade = list(_body(up_steps)) or ["    pass"]
    downgrade = list(_body(down_steps)) or ["    pass"]
    code = "\n".join(upgrade + downgrade)
    imports = ["from collections.abc import Sequence", ""]
    if "sa." in code:
        imports.append("import sqlalchemy as sa")
    if "op." in code:
        imports.append("from alembic import op")
    if imports[-1] == "":
        imports.pop()
    down_source: Node = "None"
    if len(down) == 1:
        down_source = Str(down[0])
    elif down:
        down_source = Seq(tuple(Str(item) for item in down), "()")
    lines = [
        *_docstring(plan, revision, down, message),
        "",
        *imports,
        "",
        "# revision identifiers, used by Alembic.",
        f"revision: str = {quote(revision)}",
        *format_node(down_source, 0, prefix="down_revision: str | Sequence[str] | None = "),
        "branch_labels: str | Sequence[str] | None = None",
        "depends_on: str | Sequence[str] | None = None",
        "",
        "",
        "def upgrade() -> None:",
        *upgrade,
        "",
        "",
        "def downgrade() -> None:",
        *downgrade,
    ]
    return "\n".join(lines) + "\n"
