"""The typed domain of a service: entities, their fields, and (later) their commands.

Pure data, no parsing and no I/O: :mod:`msgen.domain.syntax` turns the ``msgen.yaml`` forms
into these objects, :mod:`msgen.domain.validate` checks a whole domain, and
:mod:`msgen.migrations` plans an Alembic revision from two of them.

This module imports nothing heavy: ``msgen --help`` must stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, get_args

__all__ = [
    "DEFAULT_STR_LENGTH",
    "GENERATED_COLUMNS",
    "KINDS",
    "NO_DEFAULT",
    "Command",
    "Domain",
    "Entity",
    "Field",
    "Kind",
    "NoDefault",
]

Kind = Literal[
    "str",
    "text",
    "int",
    "bigint",
    "float",
    "decimal",
    "bool",
    "uuid",
    "date",
    "datetime",
    "json",
    "enum",
    "ref",
]
KINDS: tuple[Kind, ...] = get_args(Kind)
DEFAULT_STR_LENGTH = 200
"""``str`` is bounded: VARCHAR(200) unless ``max_length`` says otherwise."""
GENERATED_COLUMNS = ("id", "created_at", "updated_at", "version")
"""Columns every entity table has (``version`` with event sourcing); no field may take them."""


class NoDefault:
    """The marker for a field without a default (``None`` is a real default: null)."""

    _instance: NoDefault | None = None

    def __new__(cls) -> NoDefault:  # a singleton, so ``is NO_DEFAULT`` works after copies
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEFAULT"

    def __reduce__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT = NoDefault()


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """One field of an entity.

    ``default`` is :data:`NO_DEFAULT` when none is given; otherwise a value of the field's
    Python type (``Decimal`` for decimal, ``str`` for enum members, ISO strings for
    date/datetime, ``None`` for an explicit null default of an optional field).
    For ``ref`` fields, ``target`` names the referenced entity and the column is
    ``<name>_id`` (see :attr:`column`).
    """

    name: str
    kind: Kind
    optional: bool = False
    default: Any = NO_DEFAULT
    min: int | float | Decimal | None = None
    max: int | float | Decimal | None = None
    max_length: int | None = None
    unique: bool = False
    index: bool = False
    choices: tuple[str, ...] = ()
    """The members of an ``enum`` field, in declaration order."""
    target: str | None = None
    """The entity a ``ref`` field points at."""

    @property
    def has_default(self) -> bool:
        """True when a default was given (``= value``, or ``default:`` in the long form)."""
        return self.default is not NO_DEFAULT

    @property
    def column(self) -> str:
        """The database column and API field: ``<name>_id`` for a ref, else the name."""
        return f"{self.name}_id" if self.kind == "ref" else self.name

    @property
    def length(self) -> int | None:
        """VARCHAR length for ``str`` (bounded by default) and ``enum`` (longest member)."""
        if self.kind == "str":
            return self.max_length or DEFAULT_STR_LENGTH
        if self.kind == "enum":
            return max((len(choice) for choice in self.choices), default=1)
        return self.max_length

    def to_data(self) -> dict[str, Any]:
        """The long form, with only what differs from the defaults (for answers and JSON)."""
        data: dict[str, Any] = {"type": self.kind}
        if self.kind == "enum":
            data["choices"] = list(self.choices)
        if self.kind == "ref":
            data["target"] = self.target
        if self.optional:
            data["optional"] = True
        if self.has_default:
            default = self.default
            data["default"] = str(default) if isinstance(default, Decimal) else default
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is not None:
                data[key] = str(value) if isinstance(value, Decimal) else value
        if self.max_length is not None:
            data["max_length"] = self.max_length
        if self.unique:
            data["unique"] = True
        if self.index:
            data["index"] = True
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """A lifecycle command: moves ``field`` (an enum) from one of ``sources`` to ``to``.

    A command without ``sources`` (no ``from:``) creates the entity in state ``to``; it runs
    from a consumed event (``consumes: {event: {command: Entity.name}}``).
    """

    name: str
    field: str
    sources: tuple[str, ...]
    to: str

    @property
    def creates(self) -> bool:
        """True for a creation command (no ``from:``)."""
        return not self.sources

    @property
    def event_suffix(self) -> str:
        """What the command's event is named after: the state it ends in (``paid``).

        The event is ``<service>.<entity>_<state>`` (``orders.order_paid``); commands that
        end in the same state publish the same event. A creation command publishes the
        entity's ``created`` event, as ``POST`` does.
        """
        return "created" if self.creates else self.to.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Entity:
    """An entity (a table, a resource, an aggregate): a CamelCase name and its fields."""

    name: str
    fields: tuple[Field, ...]
    commands: tuple[Command, ...] = ()

    def field(self, name: str) -> Field | None:
        """The field called ``name``, if any."""
        return next((f for f in self.fields if f.name == name), None)

    def command(self, name: str) -> Command | None:
        """The command called ``name``, if any."""
        return next((c for c in self.commands if c.name == name), None)

    @property
    def commanded(self) -> tuple[str, ...]:
        """The fields only commands change (POST and PATCH cannot set them)."""
        return tuple(dict.fromkeys(command.field for command in self.commands))


@dataclass(frozen=True, slots=True, kw_only=True)
class Domain:
    """A service's entities, in declaration order (the first is the service's main one)."""

    entities: tuple[Entity, ...] = field(default_factory=tuple)

    def entity(self, name: str) -> Entity | None:
        """The entity called ``name``, if any."""
        return next((e for e in self.entities if e.name == name), None)
