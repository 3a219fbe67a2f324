"""What the service template needs to know about a domain, computed here, not in Jinja.

``template_entities(domain)`` turns typed entities into plain data (names, column types,
pydantic annotations, SQL constraints, sample values for the generated tests), so the
templates only place ready-made pieces and hold no type logic. The data is recorded in the
service's ``.copier-answers.yml``; ``domain_of_answers`` reads the domain back from it (the
base of the next migration).

This module imports nothing heavy: ``msgen --help`` must stay fast.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from typing import Any

from msgen.domain.model import NO_DEFAULT, Command, Domain, Entity, Field
from msgen.naming import pluralize

__all__ = [
    "DECIMAL_PRECISION",
    "DECIMAL_SCALE",
    "INT_RANGES",
    "entity_names",
    "starter_domain",
    "template_entities",
]

DECIMAL_PRECISION = 18
DECIMAL_SCALE = 4
INT_RANGES = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
API_INT_RANGES = {"int": INT_RANGES["int"], "bigint": (-(2**53 - 1), 2**53 - 1)}
"""The bounds the API accepts and documents: a bigint is a safe integer, exact in every JSON
parser (JavaScript's numbers, the doubles of JSON Schema tools); the column holds more, for
values written by other means."""
_CAMEL_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_SA_TYPES = {
    "text": "Text()",
    "int": "Integer()",
    "bigint": "BigInteger()",
    "float": "Float()",
    "decimal": f"Numeric({DECIMAL_PRECISION}, {DECIMAL_SCALE})",
    "bool": "Boolean()",
    "uuid": "Uuid()",
    "date": "Date()",
    "datetime": "DateTime(timezone=True)",
    "json": "JSON()",
    "ref": "Uuid()",
}
_PY_TYPES = {
    "str": "str",
    "text": "str",
    "int": "int",
    "bigint": "int",
    "float": "float",
    "decimal": "Decimal",
    "bool": "bool",
    "uuid": "uuid.UUID",
    "date": "date",
    "datetime": "datetime",
    "json": "Any",
    "ref": "uuid.UUID",
}


def entity_names(name: str) -> dict[str, str]:
    """``OrderItem`` -> snake ``order_item``, table ``order_items``, path ``order-items``."""
    words = [word.lower() for word in _CAMEL_SPLIT.split(name) if word]
    plural = [*words[:-1], pluralize(words[-1])]
    return {
        "class": name,
        "snake": "_".join(words),
        "plural": "_".join(plural),
        "table": "_".join(plural),
        "path": "-".join(plural),
        "title": " ".join(words),
    }


def starter_domain(resource_class: str) -> Domain:
    """Today's starter entity, for a service created without fields."""
    return Domain(
        entities=(
            Entity(
                name=resource_class,
                fields=(
                    Field(name="name", kind="str", max_length=200),
                    Field(name="description", kind="text", optional=True),
                    Field(
                        name="status",
                        kind="enum",
                        choices=("draft", "active", "archived"),
                        default="active",
                    ),
                ),
            ),
        )
    )


def _literal(value: Any) -> str:
    """A Python literal for ``value`` in generated code."""
    if isinstance(value, Decimal):
        return f'Decimal("{value}")'
    return repr(value)


def _enum_class(entity: Entity, field: Field) -> str:
    return entity.name + "".join(part.capitalize() for part in field.name.split("_"))


def _member(choice: str) -> str:
    """The Python name of an enum member: ``in-progress`` -> ``IN_PROGRESS``."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", choice).strip("_").upper() or "EMPTY"
    return f"V_{name}" if name[0].isdigit() else name


def _server_default(field: Field) -> str | None:
    """The column's server default (so a column added later fills existing rows)."""
    if not field.has_default or field.default is None:
        return None
    value = field.default
    if field.kind == "bool":
        return "true()" if value else "false()"
    if field.kind == "json":
        return json.dumps(json.dumps(value))
    return json.dumps(str(value))


def _bounds(field: Field) -> tuple[Any, Any]:
    low, high = field.min, field.max
    if field.kind in API_INT_RANGES:
        floor, ceiling = API_INT_RANGES[field.kind]
        low = floor if low is None else max(low, floor)
        high = ceiling if high is None else min(high, ceiling)
    return low, high


def _pydantic_args(field: Field) -> list[str]:
    """Constraints of the API models: the database's, checked before it sees the data."""
    args: list[str] = []
    if field.kind in {"str", "text"}:
        if field.kind == "str":
            args.append(f"max_length={field.length}")
        # PostgreSQL cannot store NUL in text; say so in the schema instead of failing later.
        args.append('pattern=r"^[^\\x00]*$"')
    low, high = _bounds(field)
    if low is not None:
        args.append(f"ge={_literal(low)}")
    if high is not None:
        args.append(f"le={_literal(high)}")
    if field.kind == "decimal":
        args += [
            f"max_digits={DECIMAL_PRECISION}",
            f"decimal_places={DECIMAL_SCALE}",
            "allow_inf_nan=False",
        ]
    if field.kind == "float":
        args.append("allow_inf_nan=False")
    return args


DECIMAL_LIMIT = 10 ** (DECIMAL_PRECISION - DECIMAL_SCALE) - 1
"""The largest whole number a decimal column holds, exact as a float too (JSON numbers)."""


def _decimal_schema(field: Field) -> str | None:
    """Arguments of the generated ``_decimal_schema(...)``: the decimal's true JSON Schema.

    A number within the bounds, or (when the only bound is its sign) a string of at most
    14 integer and 4 fraction digits; strings are still accepted beyond the schema.
    """
    if field.kind != "decimal":
        return None
    low = -DECIMAL_LIMIT if field.min is None else max(Decimal(str(field.min)), -DECIMAL_LIMIT)
    high = DECIMAL_LIMIT if field.max is None else min(Decimal(str(field.max)), DECIMAL_LIMIT)
    if field.min is None and field.max is None:
        text = '"signed"'
    elif field.max is None and Decimal(str(field.min)) == 0:
        text = '"unsigned"'
    else:
        text = "None"
    return f"{_number(low)}, {_number(high)}, text={text}"


def _number(value: Decimal | int) -> str:
    """A JSON Schema bound as a Python literal (an int when whole)."""
    number = Decimal(value)
    return str(int(number)) if number == number.to_integral_value() else repr(float(number))


def _sample(entity: Entity, field: Field, variant: int) -> Any:  # noqa: PLR0911 (one per kind)
    """A valid JSON value for ``field`` (``variant`` makes unique fields differ)."""
    low, high = _bounds(field)
    kind = field.kind
    if field.has_default and field.default is not None and not field.unique and variant == 0:
        value = field.default
        return str(value) if isinstance(value, Decimal) else value
    if kind == "enum":
        return field.choices[variant % len(field.choices)]
    if kind in {"int", "bigint"}:
        start = low if low is not None else 1
        return int(min(start + variant, high)) if high is not None else int(start + variant)
    if kind in {"float", "decimal"}:
        start = Decimal(str(low)) if low is not None else Decimal("1.5")
        value = start + variant
        if high is not None:
            value = min(value, Decimal(str(high)))
        return float(value) if kind == "float" else str(value)
    if kind in {"str", "text"}:
        text = f"{field.name} {variant}"
        return text[: field.length] if kind == "str" else text
    if kind == "bool":
        return variant % 2 == 0
    if kind == "uuid":
        return f"00000000-0000-4000-8000-{variant + 1:012d}"
    if kind == "date":
        return f"2024-01-{variant % 28 + 1:02d}"
    if kind == "datetime":
        return f"2024-01-{variant % 28 + 1:02d}T12:00:00+00:00"
    if kind == "json":
        return {"key": variant}
    return None  # ref: filled in by the generated tests from a created parent


def _invalid(field: Field) -> list[tuple[Any, str]]:  # noqa: PLR0912 (one per kind)
    """Values the API must refuse with 422, each with the constraint it breaks."""
    bad: list[tuple[Any, str]] = []
    if not field.optional:
        bad.append((None, "required"))
    kind = field.kind
    if kind == "str":
        bad.append(({"$repeat": "x", "times": (field.length or 0) + 1}, "max_length"))
    if kind in {"str", "text"}:
        bad.append((12, "type"))
    if kind in {"int", "bigint"}:
        low, high = _bounds(field)
        bad.append(("many", "type"))
        bad.append((high + 1, "max"))
        bad.append((low - 1, "min"))
    if kind in {"float", "decimal"}:
        bad.append(("many", "type"))
        if field.min is not None:
            bad.append((float(field.min) - 1, "min"))
        if field.max is not None:
            bad.append((float(field.max) + 1, "max"))
    if kind == "decimal":
        bad.append(("1.00001", "decimal_places"))
    if kind == "bool":
        bad.append(("maybe", "type"))
    if kind in {"uuid", "ref"}:
        bad.append(("not-a-uuid", "type"))
    if kind == "date":
        bad.append(("2024-13-01", "type"))
    if kind == "datetime":
        bad.append(("yesterday", "type"))
    if kind == "enum":
        bad.append(("not-a-member", "enum"))
    return bad


def _field_data(entity: Entity, field: Field, tables: dict[str, dict[str, str]]) -> dict[str, Any]:
    kind = field.kind
    py_type = _enum_class(entity, field) if kind == "enum" else _PY_TYPES[kind]
    sa_type = f"String({field.length})" if kind in {"str", "enum"} else _SA_TYPES[kind]
    checks = kind == "enum" or field.min is not None or field.max is not None
    sa_names = [re.sub(r"\(.*", "", sa_type)] if kind != "ref" else ["ForeignKey"]
    if checks:
        sa_names.append("CheckConstraint")
    if field.unique:
        sa_names.append("UniqueConstraint")
    if kind == "bool" and field.has_default and field.default is not None:
        sa_names.append("true" if field.default else "false")
    target = tables.get(field.target or "")
    default = field.default if field.has_default else NO_DEFAULT
    return {
        "name": field.name,
        "column": field.column,
        "kind": kind,
        "optional": field.optional,
        "py_type": py_type,
        "alias": _enum_class(entity, field),
        "min_sql": None if field.min is None else str(field.min),
        "max_sql": None if field.max is None else str(field.max),
        "sa_names": sa_names,
        "sa_type": sa_type,
        "enum_class": py_type if kind == "enum" else None,
        "choices": list(field.choices),
        "has_default": field.has_default,
        "default": _literal(default) if field.has_default else None,
        "members": [{"name": _member(choice), "value": choice} for choice in field.choices],
        "default_member": (
            f"{py_type}.{_member(str(default))}"
            if kind == "enum" and field.has_default and default is not None
            else None
        ),
        "server_default": _server_default(field),
        "pydantic_args": ", ".join(_pydantic_args(field)),
        "pydantic_arg_list": _pydantic_args(field),
        "decimal_schema": _decimal_schema(field),
        "unique": field.unique,
        "index": field.index and not field.unique,
        "filter": kind in {"enum", "ref", "bool"} or field.index or field.unique,
        "sortable": kind not in {"json", "text"},
        "commanded": field.name in entity.commanded,
        "target": field.target,
        "target_table": target["table"] if target else None,
        "target_snake": target["snake"] if target else None,
        "ondelete": ("SET NULL" if field.optional else "RESTRICT") if kind == "ref" else None,
        "spec": field.to_data(),
        "samples": [_sample(entity, field, variant) for variant in range(3)],
        "invalid": [{"value": value, "breaks": why} for value, why in _invalid(field)],
    }


def _child_path(child: dict[str, str], parent: dict[str, str]) -> str:
    prefix = parent["snake"] + "_"
    if child["snake"].startswith(prefix) and len(child["snake"]) > len(prefix):
        rest = child["snake"][len(prefix) :].split("_")
        return "-".join([*rest[:-1], pluralize(rest[-1])])
    return child["path"]


def _command_data(entity: Entity, names: dict[str, str], command: Command) -> dict[str, Any]:
    field = entity.field(command.field)
    assert field is not None
    enum_class = _enum_class(entity, field)
    state = "".join(part.capitalize() for part in command.event_suffix.split("_"))
    return {
        "name": command.name,
        "field": command.field,
        "from": list(command.sources),
        "to": command.to,
        "creates": command.creates,
        "path": command.name.replace("_", "-"),
        "event": f"{names['snake']}_{command.event_suffix}",
        "event_class": f"{entity.name}{state}",
        "enum_class": enum_class,
        "to_member": f"{enum_class}.{_member(command.to)}",
        "from_members": [f"{enum_class}.{_member(s)}" for s in command.sources],
    }


def template_entities(domain: Domain) -> list[dict[str, Any]]:
    """The ``entities`` copier answer: one mapping per entity, in declaration order."""
    tables = {entity.name: entity_names(entity.name) for entity in domain.entities}
    result: list[dict[str, Any]] = []
    for entity in domain.entities:
        names = tables[entity.name]
        fields = [_field_data(entity, field, tables) for field in entity.fields]
        links = [
            (other, field)
            for other in domain.entities
            for field in other.fields
            if field.kind == "ref" and field.target == entity.name
        ]
        per_child = Counter(other.name for other, _ in links)
        children = [
            {
                "class": other.name,
                "snake": tables[other.name]["snake"],
                "plural": tables[other.name]["plural"],
                "column": field.column,
                # Two refs from one entity (source, target: ref(Account)) need two routes.
                "path": _child_path(tables[other.name], names)
                + (f"-by-{field.name.replace('_', '-')}" if per_child[other.name] > 1 else ""),
            }
            for other, field in links
        ]
        result.append(
            {
                **names,
                "id_param": f"{names['snake']}_id",
                "fields": fields,
                "children": children,
                "refs": [f for f in fields if f["kind"] == "ref"],
                "enums": [f for f in fields if f["kind"] == "enum"],
                "has_unique": any(f["unique"] for f in fields),
                "commands": [_command_data(entity, names, command) for command in entity.commands],
                "commanded": list(entity.commanded),
            }
        )
    # Plain JSON types only (msgen.yaml's values arrive as ruamel's int/str subclasses).
    plain: list[dict[str, Any]] = json.loads(json.dumps(result))
    return plain
