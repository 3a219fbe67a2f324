"""Whole-domain validation, run before anything is written.

:func:`check_field` checks one field on its own (a default of its type and inside its bounds,
constraints that apply to its kind); :func:`validate_domain` checks a service's entities
together: names (Python and SQL reserved words, generated columns, model attributes, the
service's own infrastructure classes and tables), references, clashes between fields,
tables and classes. The first problem raises a :class:`~msgen.errors.DomainError` whose
``loc`` is the key path inside the service's ``entities`` mapping.
"""

from __future__ import annotations

import re
from decimal import Decimal

from msgen.domain.model import GENERATED_COLUMNS, KINDS, Domain, Entity, Field
from msgen.domain.names import entity_snake, snake_case, table_name
from msgen.domain.reserved import (
    INFRASTRUCTURE_CLASSES,
    INFRASTRUCTURE_TABLES,
    LIST_QUERY_PARAMETERS,
    MODEL_ATTRIBUTES,
    PYTHON_KEYWORDS,
    RESERVED_CLASS_NAMES,
    RESERVED_COMMANDS,
    SQL_RESERVED,
)
from msgen.errors import DomainError
from msgen.naming import MAX_NAME_LENGTH

__all__ = ["check_field", "validate_domain"]

_ENTITY = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")
_MEMBER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_NUMERIC = ("int", "bigint", "float", "decimal")
_SCHEMA_SUFFIXES = ("Create", "Update", "Read")
# Resource names the generated routes and modules already use (see msgen.naming).
_RESERVED_SNAKE = frozenset(
    {"base", "health", "info", "metadata", "model", "page", "session", "settings", "status"}
)


def _check_members(field: Field) -> None:
    if not field.choices:
        raise DomainError("an enum needs at least one member")
    seen: set[str] = set()
    for member in field.choices:
        if not _MEMBER.match(member):
            raise DomainError(
                f"enum member {member!r} must be letters, digits and '_', starting with a letter"
            )
        if member in PYTHON_KEYWORDS - {"match", "case", "type"}:
            raise DomainError(f"enum member {member!r} is a Python keyword")
        if member in seen:
            raise DomainError(f"enum member {member!r} is listed twice")
        seen.add(member)


def _check_constraints(field: Field) -> None:
    if (field.min is not None or field.max is not None) and field.kind not in _NUMERIC:
        raise DomainError(f"min and max apply to int, bigint, float and decimal, not {field.kind}")
    if field.min is not None and field.max is not None and field.min > field.max:
        raise DomainError(f"min ({field.min}) is greater than max ({field.max})")
    if field.max_length is not None and field.kind not in ("str", "text"):
        raise DomainError(f"max_length applies to str and text, not {field.kind}")
    if field.max_length is not None and field.max_length < 1:
        raise DomainError("max_length must be 1 or more")
    if (field.unique or field.index) and field.kind == "json":
        raise DomainError("a json field cannot be unique or indexed")


def _check_default(field: Field) -> None:
    default = field.default
    if default is None:
        if not field.optional:
            raise DomainError(
                "a required field cannot default to null", hint="make it optional: add '?'"
            )
        return
    if field.kind == "ref":
        raise DomainError("a ref has no default (only null, when it is optional)")
    if field.kind == "enum" and default not in field.choices:
        raise DomainError(f"default {default!r} is not one of {', '.join(field.choices)}")
    if field.kind in _NUMERIC:
        value = Decimal(str(default)) if isinstance(default, float) else default
        if field.min is not None and value < field.min:
            raise DomainError(f"default {default} is below min {field.min}")
        if field.max is not None and value > field.max:
            raise DomainError(f"default {default} is above max {field.max}")
    if field.kind in ("str", "text") and isinstance(default, str):
        limit = field.length if field.kind == "str" else field.max_length
        if limit is not None and len(default) > limit:
            raise DomainError(f"default is {len(default)} characters long (max_length {limit})")


def check_field(field: Field) -> None:
    """Check one field on its own: its kind, members, constraints and default."""
    if field.kind not in KINDS:
        raise DomainError(f"unknown type {field.kind!r} (types: {', '.join(KINDS)})")
    if field.kind == "enum":
        _check_members(field)
    elif field.choices:
        raise DomainError("only an enum has members")
    if field.kind == "ref" and not field.target:
        raise DomainError("a ref names its entity: ref(Order)")
    if field.kind != "ref" and field.target is not None:
        raise DomainError("only a ref has a target")
    _check_constraints(field)
    if field.has_default:
        _check_default(field)


def _check_entity_name(entity: Entity, others: dict[str, str]) -> None:
    name = entity.name
    if not name.isascii() or not _ENTITY.match(name):
        hint = "".join(word.capitalize() for word in snake_case(name).split("_"))
        raise DomainError(
            f"entity name {name!r} must be CamelCase ASCII letters and digits",
            hint=f"try {hint!r}" if hint else None,
        )
    if len(name) > MAX_NAME_LENGTH:
        raise DomainError(f"entity name is longer than {MAX_NAME_LENGTH} characters")
    if name in INFRASTRUCTURE_CLASSES or name in RESERVED_CLASS_NAMES:
        raise DomainError(f"entity name {name!r} is a class the generated service already has")
    snake, table = entity_snake(name), table_name(name)
    if snake in PYTHON_KEYWORDS or snake in _RESERVED_SNAKE:
        raise DomainError(f"entity name {name!r} ({snake!r}) clashes with the generated code")
    if table in INFRASTRUCTURE_TABLES:
        raise DomainError(f"table {table!r} is one the generated service already has")
    if table in SQL_RESERVED:
        raise DomainError(f"table {table!r} is an SQL reserved word")
    if table in others:
        raise DomainError(f"table {table!r} is also the table of {others[table]}")
    others[table] = name


def _check_field_name(entity: Entity, field: Field) -> None:
    name, column = field.name, field.column
    hint = f"rename it, e.g. {entity_snake(entity.name)}_{snake_case(name)!s}"
    if name.startswith("_"):
        raise DomainError("a field name must not start with '_'")
    if not name.isascii() or not _FIELD.match(name):
        better = snake_case(name)
        raise DomainError(
            "a field name is snake_case: lowercase letters, digits and '_'",
            hint=f"try {better!r}" if better else None,
        )
    if len(name) > MAX_NAME_LENGTH:
        raise DomainError(f"a field name is at most {MAX_NAME_LENGTH} characters")
    for candidate in {name, column}:
        if candidate in GENERATED_COLUMNS:
            raise DomainError(
                f"{candidate!r} is a column every entity has ({', '.join(GENERATED_COLUMNS)})",
                hint=hint,
            )
        if candidate in PYTHON_KEYWORDS:
            raise DomainError(f"{candidate!r} is a Python keyword", hint=hint)
        if candidate in MODEL_ATTRIBUTES or candidate.startswith("model_"):
            raise DomainError(
                f"{candidate!r} is an attribute of pydantic or SQLAlchemy models", hint=hint
            )
    if column in SQL_RESERVED:
        raise DomainError(f"{column!r} is an SQL reserved word", hint=hint)
    if column in LIST_QUERY_PARAMETERS:
        raise DomainError(f"{column!r} is a query parameter of the list route", hint=hint)


def _check_fields(entity: Entity, domain: Domain) -> None:
    if not entity.fields:
        raise DomainError("an entity needs at least one field", loc=("fields",))
    taken: dict[str, str] = {}
    for field in entity.fields:
        loc = ("fields", field.name)
        try:
            _check_field_name(entity, field)
            check_field(field)
            for key in dict.fromkeys((field.name, field.column)):
                if key in taken:
                    what = "field" if taken[key] == key else f"column of {taken[key]}"
                    raise DomainError(f"{key!r} is also the {what}")
                taken[key] = field.name
            if field.kind == "ref" and domain.entity(field.target or "") is None:
                known = ", ".join(e.name for e in domain.entities)
                raise DomainError(
                    f"ref to unknown entity {field.target!r} (entities: {known})",
                    hint="a ref is a foreign key to an entity of the same service; "
                    "an id from another service is a plain uuid",
                )
        except DomainError as exc:
            raise exc.within(*loc) from None


LIFECYCLE_EVENTS = ("created", "updated", "deleted")


def _check_commands(entity: Entity) -> None:
    seen: set[str] = set()
    for command in entity.commands:
        loc = ("commands", command.name)
        if not _FIELD.match(command.name) or command.name in PYTHON_KEYWORDS:
            raise DomainError("a command name is a snake_case Python name", loc=loc)
        if command.name in RESERVED_COMMANDS:
            raise DomainError(f"{command.name!r} is one of the CRUD operations", loc=loc)
        if command.name in seen:
            raise DomainError("the command is defined twice", loc=loc)
        seen.add(command.name)
        field = entity.field(command.field)
        if field is None or field.kind != "enum":
            raise DomainError(f"{command.field!r} is not an enum field", loc=(*loc, "field"))
        missing = [s for s in (*command.sources, command.to) if s not in field.choices]
        if missing:
            raise DomainError(f"{', '.join(missing)} not members of {field.name}", loc=loc)
        if not command.creates and command.event_suffix in LIFECYCLE_EVENTS:
            raise DomainError(
                f"its event would be {command.event_suffix!r}, the name of the CRUD event",
                loc=(*loc, "to"),
                hint="a command's event is named after the state it ends in: name the state "
                "differently (e.g. removed)",
            )
    for name in entity.commanded:
        field = entity.field(name)
        if field is not None and not field.has_default and not field.optional:
            raise DomainError(
                "commands move this field, so POST cannot set it: give it its first state "
                f"as a default (= {field.choices[0] if field.choices else 'state'})",
                loc=("fields", name),
            )


def _required_cycle(domain: Domain) -> tuple[Entity, Field] | None:
    """A required ref that closes a cycle of required refs: no first row could be inserted."""
    edges = {
        e.name: [(f, f.target) for f in e.fields if f.kind == "ref" and not f.optional]
        for e in domain.entities
    }
    state: dict[str, int] = {}

    def visit(name: str) -> tuple[Entity, Field] | None:
        state[name] = 1
        for field, target in edges.get(name, []):
            if target is None or target not in edges:
                continue
            if state.get(target) == 1:
                entity = domain.entity(name)
                assert entity is not None
                return entity, field
            if target not in state and (found := visit(target)):
                return found
        state[name] = 2
        return None

    for entity in domain.entities:
        if entity.name not in state and (found := visit(entity.name)):
            return found
    return None


def validate_domain(domain: Domain) -> None:
    """Check a whole domain; raise :class:`DomainError` at the first problem."""
    tables: dict[str, str] = {}
    names: set[str] = set()
    for entity in domain.entities:
        try:
            if entity.name in names:
                raise DomainError("the entity is defined twice")
            names.add(entity.name)
            _check_entity_name(entity, tables)
            for suffix in _SCHEMA_SUFFIXES:
                base = entity.name.removesuffix(suffix)
                if base != entity.name and base in {e.name for e in domain.entities}:
                    raise DomainError(f"{entity.name!r} is the name of {base}'s {suffix} schema")
            _check_fields(entity, domain)
            _check_commands(entity)
        except DomainError as exc:
            raise exc.within(entity.name) from None
    cycle = _required_cycle(domain)
    if cycle is not None:
        entity, field = cycle
        raise DomainError(
            "required refs form a cycle (no first row could be inserted)",
            loc=(entity.name, "fields", field.name),
            hint="make one of them optional: ref(...)?",
        )
