"""The field syntax of ``msgen.yaml`` and the command line, both ways.

Short form (a YAML string): ``uuid``, ``text?``, ``decimal = 0``, ``ref(Order)``,
``enum(pending, paid) = pending``. Long form (a mapping), for constraints:
``{type: decimal, min: 0, max: 100, unique: true, index: true, default: 0}``.
On the command line: ``name:type[?][=default]`` (``'status:enum(a,b)=a'``).

:func:`parse_field` turns either form into a :class:`~msgen.domain.model.Field` (defaults
converted to the field's Python type) and :func:`field_spec` writes a field back, short when
it fits; ``parse_field(name, field_spec(f)) == f``. :func:`parse_entities` reads a service's
``entities:`` mapping and validates the whole domain (:mod:`msgen.domain.validate`).
Every error is a :class:`~msgen.errors.DomainError` whose ``loc`` is the key path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from msgen.domain.model import KINDS, NO_DEFAULT, Command, Domain, Entity, Field, Kind
from msgen.domain.validate import check_field, validate_domain
from msgen.domain.values import convert_bound, convert_default, default_text
from msgen.errors import DomainError

__all__ = [
    "FIELD_KEYS",
    "SHORT_FORM_PATTERN",
    "field_spec",
    "parse_cli_field",
    "parse_entities",
    "parse_field",
]

FIELD_KEYS = (
    "type",
    "optional",
    "default",
    "min",
    "max",
    "max_length",
    "unique",
    "index",
    "choices",
    "target",
)
"""The keys of a field's long form."""
ENTITY_KEYS = ("fields", "commands")
COMMAND_KEYS = ("from", "to", "field")

_TYPE = re.compile(
    r"""^\s*(?P<kind>[A-Za-z_][A-Za-z0-9_]*)\s*
    (?:\((?P<args>[^()]*)\))?\s*
    (?P<optional>\?)?\s*$""",
    re.VERBOSE,
)
_IDENT = r"[A-Za-z][A-Za-z0-9_]*"
_SIMPLE_KINDS = "|".join(kind for kind in KINDS if kind not in {"enum", "ref"})
SHORT_FORM_PATTERN = (
    rf"^\s*(?:(?:{_SIMPLE_KINDS})"
    rf"|enum\s*\(\s*{_IDENT}(?:\s*,\s*{_IDENT})*\s*,?\s*\)"
    rf"|ref\s*\(\s*[A-Z][A-Za-z0-9]*\s*\))"
    r"\s*\??\s*(?:=.*)?$"
)
"""The short form as a regular expression (ECMAScript-compatible, for the JSON Schema)."""


_TYPE_PREFIX = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:\([^()]*\))?\s*\??\s*")


def _split_default(spec: str) -> tuple[str, str | None]:
    """``'enum(a, b) = a'`` -> (``'enum(a, b)'``, ``'a'``): the type, then what follows ``=``."""
    prefix = _TYPE_PREFIX.match(spec)
    end = prefix.end() if prefix else 0
    if spec[end:].startswith("="):
        return spec[:end], spec[end + 1 :].strip()
    return spec, None


def _unknown_type(kind: str) -> DomainError:
    import difflib

    close = difflib.get_close_matches(kind.lower(), KINDS, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return DomainError(f"unknown type {kind!r} ({guess}types: {', '.join(KINDS)})")


def _parse_type(text: str) -> tuple[Kind, tuple[str, ...], str | None, bool]:
    """``'enum(a, b)?'`` -> (kind, choices, target, optional)."""
    match = _TYPE.match(text)
    if match is None:
        raise DomainError(
            f"cannot read the type {text.strip()!r}",
            hint="write e.g. 'str', 'text?', 'enum(a, b) = a' or 'ref(Order)'",
        )
    name, args = match["kind"], match["args"]
    if name not in KINDS:
        raise _unknown_type(name)
    kind: Kind = name
    choices: tuple[str, ...] = ()
    target = None
    if args is not None:
        parts = [part.strip() for part in args.split(",")]
        if parts and not parts[-1] and len(parts) > 1:
            parts.pop()  # a trailing comma
        if kind == "enum":
            choices = tuple(parts)
        elif kind == "ref":
            if len(parts) != 1 or not parts[0]:
                raise DomainError(f"ref takes one entity: ref(Order), not ref({args.strip()})")
            target = parts[0]
        else:
            raise DomainError(
                f"type {kind!r} takes no arguments",
                hint="constraints such as max_length go in the long form: {type: str, ...}",
            )
    return kind, choices, target, match["optional"] is not None


def _parse_short(name: str, spec: str) -> Field:
    type_text, default_raw = _split_default(spec)
    kind, choices, target, optional = _parse_type(type_text)
    if kind == "enum" and not choices:
        raise DomainError("an enum lists its members: enum(pending, paid)")
    if kind == "ref" and target is None:
        raise DomainError("a ref names its entity: ref(Order)")
    default: Any = NO_DEFAULT
    if default_raw is not None:
        if not default_raw:
            raise DomainError("nothing after '='", hint='write "" for an empty string')
        default = convert_default(kind, default_raw, text=True, choices=choices)
    return Field(
        name=name,
        kind=kind,
        optional=optional,
        default=default,
        choices=choices,
        target=target,
    )


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise DomainError(f"must be true or false (got {value!r})", loc=(key,))
    return value


def _choices(data: Mapping[str, Any], from_type: tuple[str, ...]) -> tuple[str, ...]:
    if "choices" not in data:
        return from_type
    raw = data["choices"]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise DomainError("must be a list of names, e.g. [pending, paid]", loc=("choices",))
    choices = tuple(item.strip() for item in raw)
    if from_type and choices != from_type:
        raise DomainError("differs from the members in 'type'", loc=("choices",))
    return choices


def _target(data: Mapping[str, Any], from_type: str | None) -> str | None:
    if "target" not in data:
        return from_type
    raw = data["target"]
    if not isinstance(raw, str):
        raise DomainError("must be an entity name", loc=("target",))
    if from_type is not None and raw.strip() != from_type:
        raise DomainError("differs from the entity in 'type'", loc=("target",))
    return raw.strip()


def _optional(data: Mapping[str, Any], from_type: bool) -> bool:
    if "optional" not in data:
        return from_type
    explicit = _flag(data, "optional")
    if from_type and not explicit:
        raise DomainError("'?' in the type says optional", loc=("optional",))
    return explicit


def _long_type(data: Mapping[str, Any]) -> tuple[Kind, tuple[str, ...], str | None, bool]:
    if not isinstance(data.get("type"), str):
        raise DomainError("a field's long form needs 'type:' (e.g. type: str)", loc=("type",))
    try:
        kind, choices, target, optional = _parse_type(data["type"])
    except DomainError as exc:
        raise exc.within("type") from None
    optional = _optional(data, optional)
    if kind != "enum" and "choices" in data:
        raise DomainError("only an enum has choices", loc=("choices",))
    if kind != "ref" and "target" in data:
        raise DomainError("only a ref has a target", loc=("target",))
    choices = _choices(data, choices) if kind == "enum" else ()
    target = _target(data, target) if kind == "ref" else None
    if kind == "enum" and not choices:
        raise DomainError("an enum lists its members: enum(a, b) or choices: [a, b]")
    if kind == "ref" and not target:
        raise DomainError("a ref names its entity: ref(Order) or target: Order")
    return kind, choices, target, optional


def _long_value(data: Mapping[str, Any], key: str, convert: Callable[[Any], Any]) -> Any:
    try:
        return convert(data[key])
    except DomainError as exc:
        raise exc.within(key) from None


def _parse_long(name: str, data: Mapping[str, Any]) -> Field:
    unknown = [key for key in data if key not in FIELD_KEYS]
    if unknown:
        raise DomainError(f"unknown key (keys: {', '.join(FIELD_KEYS)})", loc=(unknown[0],))
    kind, choices, target, optional = _long_type(data)
    bounds = {
        key: _long_value(data, key, lambda value: convert_bound(kind, value))
        for key in ("min", "max")
        if data.get(key) is not None
    }
    max_length = data.get("max_length")
    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
    ):
        raise DomainError("must be a whole number of 1 or more", loc=("max_length",))
    default = NO_DEFAULT
    if "default" in data:
        default = _long_value(
            data, "default", lambda value: convert_default(kind, value, text=False, choices=choices)
        )
    return Field(
        name=name,
        kind=kind,
        optional=optional,
        default=default,
        min=bounds.get("min"),
        max=bounds.get("max"),
        max_length=None if max_length is None else int(max_length),
        unique=_flag(data, "unique"),
        index=_flag(data, "index"),
        choices=choices,
        target=target,
    )


def parse_field(name: str, spec: Any) -> Field:
    """One field from its short form (a string) or long form (a mapping); checked alone.

    Whole-domain rules (references, name clashes) are :func:`validate_domain`'s.
    """
    if isinstance(spec, str):
        field = _parse_short(name, spec)
    elif isinstance(spec, Mapping):
        field = _parse_long(name, spec)
    elif spec is None:
        raise DomainError("the field has no type (e.g. 'str', 'decimal', 'ref(Order)')")
    else:
        raise DomainError(
            f"a field is a type such as 'str' or a mapping with 'type:' (got {spec!r})"
        )
    check_field(field)
    return field


def parse_cli_field(text: str) -> Field:
    """A field from the command line: ``name:type[?][=default]`` (``note:text?``)."""
    name, sep, spec = text.partition(":")
    name = name.strip()
    if not sep or not name or not spec.strip():
        raise DomainError(
            f"cannot read the field {text!r}",
            hint="write NAME:TYPE, e.g. total:decimal, note:text? or 'status:enum(a,b)=a'",
        )
    try:
        return parse_field(name, spec)
    except DomainError as exc:
        raise exc.within(name) from None


def field_spec(field: Field) -> str | dict[str, Any]:
    """How ``field`` is written in ``msgen.yaml``: the short form when it fits, else long."""
    if field.kind == "enum":
        type_text = f"enum({', '.join(field.choices)})"
    elif field.kind == "ref":
        type_text = f"ref({field.target})"
    else:
        type_text = field.kind
    constrained = (
        field.min is not None
        or field.max is not None
        or field.max_length is not None
        or field.unique
        or field.index
    )
    short_default = default_text(field.kind, field.default) if field.has_default else None
    if not constrained and (not field.has_default or short_default is not None):
        spec = type_text + ("?" if field.optional else "")
        return spec if short_default is None else f"{spec} = {short_default}"
    data = field.to_data()
    data["type"] = type_text
    data.pop("choices", None)
    data.pop("target", None)
    for key in ("min", "max", "default"):
        if key in data:
            data[key] = _plain_number(getattr(field, key))
    return {key: data[key] for key in FIELD_KEYS if key in data}


def _plain_number(value: Any) -> Any:
    """Decimals as YAML can write them: a whole number as an int, else its exact string."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    return value


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DomainError(f"must be a mapping of {what}")
    return value


def _parse_command(name: Any, data: Any, entity: str, fields: tuple[Field, ...]) -> Command:
    if not isinstance(data, Mapping):
        raise DomainError("a command is a mapping: {from: [pending], to: paid}")
    unknown = [key for key in data if key not in COMMAND_KEYS]
    if unknown:
        raise DomainError(f"unknown key (keys: {', '.join(COMMAND_KEYS)})", loc=(unknown[0],))
    sources = data.get("from", [])  # no from: a creation command
    if isinstance(sources, str):
        sources = [sources]
    if (
        not isinstance(sources, list)
        or ("from" in data and not sources)
        or not all(isinstance(s, str) for s in sources)
    ):
        raise DomainError(
            "must list the states it starts from, e.g. [pending] (leave 'from' out for a "
            "command that creates the entity)",
            loc=("from",),
        )
    to = data.get("to")
    if not isinstance(to, str) or not to:
        raise DomainError("must name the state it ends in", loc=("to",))
    states = {*sources, to}
    field = _command_field(data, states, entity, fields)
    return Command(name=str(name), field=field.name, sources=tuple(sources), to=to)


def _command_field(
    data: Mapping[str, Any], states: set[str], entity: str, fields: tuple[Field, ...]
) -> Field:
    """The enum field a command moves: named by ``field:``, or the one holding its states."""
    enums = [f for f in fields if f.kind == "enum"]
    if "field" in data:
        chosen = next((f for f in enums if f.name == data["field"]), None)
        if chosen is None:
            names = ", ".join(f.name for f in enums) or "none"
            raise DomainError(f"is not an enum field of {entity} (enums: {names})", loc=("field",))
        candidates = [chosen]
    else:
        candidates = [f for f in enums if states <= set(f.choices)]
        if len(candidates) > 1:
            names = ", ".join(f.name for f in candidates)
            raise DomainError(f"several enum fields hold these states ({names}); add field:")
        if not candidates and enums:  # report against the closest enum
            candidates = [max(enums, key=lambda f: len(states & set(f.choices)))]
    if not candidates:
        raise DomainError(f"{entity} has no enum field for the command to move")
    missing = [state for state in sorted(states) if state not in candidates[0].choices]
    if missing:
        raise DomainError(f"{', '.join(missing)}: not members of {candidates[0].name}")
    return candidates[0]


def _parse_entity(name: str, data: Any) -> Entity:
    if not isinstance(data, Mapping):
        raise DomainError("an entity is a mapping with 'fields:' (and 'commands:')")
    unknown = [key for key in data if key not in ENTITY_KEYS]
    if unknown:
        raise DomainError(f"unknown key (keys: {', '.join(ENTITY_KEYS)})", loc=(unknown[0],))
    raw_fields = _mapping(data.get("fields"), "field names to types")
    fields = []
    for field_name, spec in raw_fields.items():
        try:
            fields.append(parse_field(str(field_name), spec))
        except DomainError as exc:
            raise exc.within("fields", field_name) from None
    commands = []
    for command, spec in _mapping(data.get("commands"), "command names").items():
        try:
            commands.append(_parse_command(command, spec, name, tuple(fields)))
        except DomainError as exc:
            raise exc.within("commands", command) from None
    return Entity(name=name, fields=tuple(fields), commands=tuple(commands))


def parse_entities(data: Any) -> Domain:
    """A service's ``entities:`` mapping as a validated :class:`Domain`."""
    entities = []
    for name, spec in _mapping(data, "entity names to their fields").items():
        try:
            entities.append(_parse_entity(str(name), spec))
        except DomainError as exc:
            raise exc.within(name) from None
    domain = Domain(entities=tuple(entities))
    validate_domain(domain)
    return domain
