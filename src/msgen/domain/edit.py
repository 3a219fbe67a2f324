"""Edits of a service's raw ``entities:`` mapping, as ``msgen add|remove KIND`` make them.

Each function returns a new mapping (the input is left alone) in which only the edited
entry changed, written in the short form when it fits, so the user's own text and order
stay as they were; the result is validated as a whole before it is returned, so a caller
that records it has checked the new domain before writing anything.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from msgen.domain.model import Domain, Entity, Field
from msgen.domain.syntax import field_spec, parse_entities
from msgen.errors import DomainError

__all__ = [
    "add_command",
    "add_entity",
    "remove_command",
    "remove_entity",
    "remove_field",
    "set_field",
]


def _entity(entities: dict[str, Any], name: str) -> dict[str, Any]:
    entity = entities.get(name)
    if not isinstance(entity, dict):
        known = ", ".join(entities) or "none yet"
        raise DomainError(f"no entity {name!r} (entities: {known})")
    return entity


def _checked(entities: dict[str, Any]) -> tuple[dict[str, Any], Domain]:
    return entities, parse_entities(entities)


def set_field(
    entities: Mapping[str, Any], entity: str, field: Field, *, replace: bool = False
) -> tuple[dict[str, Any], Domain]:
    """Add ``field`` to ``entity`` (or, with ``replace``, change the field of that name)."""
    result = copy.deepcopy(dict(entities))
    target = _entity(result, entity)
    fields = target["fields"] = target.get("fields") or {}
    if field.name in fields and not replace:
        raise DomainError(f"{entity} already has a field {field.name!r}", loc=(entity, "fields"))
    fields[field.name] = field_spec(field)
    return _checked(result)


def remove_field(
    entities: Mapping[str, Any], entity: str, name: str
) -> tuple[dict[str, Any], Domain]:
    """Drop the field ``name`` of ``entity``."""
    result = copy.deepcopy(dict(entities))
    fields = _entity(result, entity).get("fields") or {}
    if name not in fields:
        raise DomainError(
            f"{entity} has no field {name!r} (fields: {', '.join(fields) or 'none'})",
            loc=(entity, "fields"),
        )
    del fields[name]
    for command, spec in (_entity(result, entity).get("commands") or {}).items():
        if isinstance(spec, dict) and spec.get("field") == name:
            raise DomainError(
                f"command {command!r} moves {name!r}; remove it first", loc=(entity, "commands")
            )
    return _checked(result)


def add_entity(
    entities: Mapping[str, Any], name: str, fields: Iterable[Field]
) -> tuple[dict[str, Any], Domain]:
    """Add the entity ``name`` with ``fields`` (in order)."""
    result = copy.deepcopy(dict(entities))
    if name in result:
        raise DomainError(f"the service already has an entity {name!r}", loc=(name,))
    specs: dict[str, Any] = {}
    for field in fields:
        if field.name in specs:
            raise DomainError("the field is given twice", loc=(name, "fields", field.name))
        specs[field.name] = field_spec(field)
    result[name] = {"fields": specs}
    return _checked(result)


def remove_entity(entities: Mapping[str, Any], name: str) -> tuple[dict[str, Any], Domain]:
    """Drop the entity ``name``; refused while another entity refers to it."""
    domain = parse_entities(entities)
    result = copy.deepcopy(dict(entities))
    _entity(result, name)
    for other in domain.entities:
        for field in other.fields:
            if other.name != name and field.kind == "ref" and field.target == name:
                raise DomainError(
                    f"{other.name}.{field.name} refers to {name}; remove that field first",
                    loc=(other.name, "fields", field.name),
                )
    del result[name]
    return _checked(result)


def _check_states(
    entity: Entity, command: str, sources: Sequence[str], to: str, field: str | None
) -> None:
    """Each state is a member of the enum the command moves (or of some enum of ``entity``).

    The errors name the option of ``msgen add command`` that gave the value.
    """
    enums = [f for f in entity.fields if f.kind == "enum"]
    if field is not None:
        chosen = [f for f in enums if f.name == field]
        if not chosen:
            names = ", ".join(f.name for f in enums) or "none"
            raise DomainError(f"--field {field!r} is not an enum field of {entity.name} ({names})")
        enums = chosen
    if not enums:
        raise DomainError(
            f"{entity.name} has no enum field for the command to move",
            loc=(entity.name, "commands", command),
            hint="add one first, e.g. 'status:enum(pending, paid) = pending'",
        )
    states = "; ".join(f"{f.name}: {', '.join(f.choices)}" for f in enums)
    for key, state in [*(("from", s) for s in sources), ("to", to)]:
        if not any(state in f.choices for f in enums):
            raise DomainError(f"--{key} {state!r} is not a state of {entity.name} ({states})")


def add_command(
    entities: Mapping[str, Any],
    entity: str,
    name: str,
    *,
    sources: Sequence[str],
    to: str,
    field: str | None = None,
) -> tuple[dict[str, Any], Domain]:
    """Add the command ``name`` to ``entity``: from one of ``sources`` to ``to``.

    Without ``sources`` it is a creation command. It is written in the short form,
    ``{from: [pending], to: paid}``, with ``field:`` only when given.
    """
    result = copy.deepcopy(dict(entities))
    target = _entity(result, entity)
    commands = target.get("commands") or {}
    if name in commands:
        raise DomainError(f"{entity} already has a command {name!r}", loc=(entity, "commands"))
    model = parse_entities(entities).entity(entity)
    assert model is not None  # _entity found it
    sources = list(dict.fromkeys(sources))
    _check_states(model, name, sources, to, field)
    from ruamel.yaml.comments import CommentedMap

    spec = CommentedMap({"from": sources} if sources else {})
    spec["to"] = to
    if field is not None:
        spec["field"] = field
    spec.fa.set_flow_style()  # written as {from: [pending], to: paid}
    commands[name] = spec
    target["commands"] = commands
    return _checked(result)


def remove_command(
    entities: Mapping[str, Any], entity: str, name: str
) -> tuple[dict[str, Any], Domain]:
    """Drop the command ``name`` of ``entity`` (and ``commands:`` with its last command)."""
    result = copy.deepcopy(dict(entities))
    target = _entity(result, entity)
    commands = target.get("commands") or {}
    if name not in commands:
        raise DomainError(
            f"{entity} has no command {name!r} (commands: {', '.join(commands) or 'none'})",
            loc=(entity, "commands"),
        )
    del commands[name]
    if not commands:
        del target["commands"]
    return _checked(result)
