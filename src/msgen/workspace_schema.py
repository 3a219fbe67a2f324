"""The JSON Schema of ``msgen.yaml``, generated from the workspace model (never by hand).

The pydantic model of the workspace gives every key; the ``entities:`` of a service, kept
raw by the model, are described here by small schema-only models plus the short form's
pattern, so editors complete keys and flag an unknown type as the user types.

``python -m msgen.workspace_schema`` rewrites the shipped file
(``src/msgen/schemas/msgen.schema.json``); ``--check`` exits 1 when it is stale, as the tests
do. Every save of a workspace copies it to ``.msgen/msgen.schema.json`` beside
``msgen.yaml``, which the file's first line names for the YAML language server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from msgen.domain.model import KINDS
from msgen.domain.syntax import SHORT_FORM_PATTERN

__all__ = ["REGENERATE", "SHIPPED_SCHEMA", "build_schema", "main", "render_schema"]

SHIPPED_SCHEMA = Path(__file__).parent / "schemas" / "msgen.schema.json"
REGENERATE = "python -m msgen.workspace_schema"

_LONG_TYPE = (
    r"^\s*(?:" + "|".join(k for k in KINDS if k not in {"enum", "ref"}) + r"|enum|ref"
    r"|enum\s*\(.*\)|ref\s*\(\s*[A-Z][A-Za-z0-9]*\s*\))\s*\??\s*$"
)
_NUMBER = int | float | str


class _FieldLong(BaseModel):
    """A field with constraints."""

    model_config = ConfigDict(extra="forbid", title="FieldLongForm")

    type: str = Field(
        pattern=_LONG_TYPE,
        description=f"One of {', '.join(KINDS)}; enum(a, b) and ref(Entity) as in the short form.",
    )
    optional: bool = Field(False, description="Nullable; the column allows NULL.")
    default: Any = Field(None, description="A value of the field's type (null if optional).")
    min: _NUMBER | None = Field(None, description="Lowest value (numbers only): a CHECK.")
    max: _NUMBER | None = Field(None, description="Highest value (numbers only): a CHECK.")
    max_length: int | None = Field(None, ge=1, description="Longest str/text (str: VARCHAR(n)).")
    unique: bool = Field(False, description="A unique constraint on the column.")
    index: bool = Field(False, description="An index on the column (and a list filter).")
    choices: list[str] | None = Field(None, description="The members of an enum.")
    target: str | None = Field(None, description="The entity a ref points at.")


_SHORT = {
    "type": "string",
    "pattern": SHORT_FORM_PATTERN,
    "description": (
        "TYPE[?][ = DEFAULT]: one of " + ", ".join(KINDS) + ", e.g. 'text?', "
        "'decimal = 0', 'enum(pending, paid) = pending', 'ref(Order)'; '?' makes it optional."
    ),
}


_STATE = r"^[A-Za-z][A-Za-z0-9_]*$"
_SNAKE = "^[a-z][a-z0-9_]*$"
_State = Annotated[str, Field(pattern=_STATE)]
_EVENT = r"^[a-z]([-a-z0-9]*[a-z0-9])?\..+$"
"""``SERVICE.EVENT``: the part before the first dot names a service of the workspace."""


class _Command(BaseModel):
    """A lifecycle command: moves an enum field from some states to another.

    Without ``from:`` it creates the entity in state ``to`` (run from a consumed event).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, title="Command")

    sources: _State | Annotated[list[_State], Field(min_length=1)] = Field(
        alias="from",
        description="The states it starts from; leave it out for a command that creates "
        "the entity.",
    )
    to: _State = Field(description="The state it ends in.")
    field: Annotated[str, Field(pattern=_SNAKE)] = Field(
        description="The enum field it moves (when several hold the states)."
    )


class _Entity(BaseModel):
    """An entity: a table, a resource and its events."""

    model_config = ConfigDict(extra="forbid", title="Entity")

    fields: dict[str, Any] = Field(description="Field names (snake_case) to their types.")
    commands: dict[str, _Command] = Field(
        default_factory=dict, description="Lifecycle commands (POST /<entities>/{id}/<name>)."
    )


def _command_schema() -> dict[str, Any]:
    """A command: only ``to`` is required (``from`` and ``field`` are not null when given)."""
    command = TypeAdapter(_Command).json_schema(by_alias=True)
    command["required"] = ["to"]
    return command


_CONSUME_ACTION = {
    "command": "Entity.command: a command of one of this service's entities.",
    "id": "The payload field holding the id of the entity a transition command runs on "
    "(a creation command takes none).",
    "fields": "Creation commands only: entity field -> the payload field it is taken from "
    "(default: the payload field of the same name).",
}


def _describe_consumes(defs: dict[str, Any]) -> None:
    """``consumes:``: a list of event names, or a mapping of each to what it runs."""
    consumes = defs["ServiceEntry"]["properties"]["consumes"]
    names, actions = consumes["anyOf"]
    names["items"]["pattern"] = _EVENT
    actions["propertyNames"] = {"pattern": _EVENT}
    consumes["description"] = (
        "The events the service consumes (SERVICE.EVENT): a list, or a mapping of each to "
        "the command it runs ({command: Order.pay, id: order_id}) or to null (handled by "
        "your own code)."
    )
    for key, description in _CONSUME_ACTION.items():
        defs["ConsumeAction"]["properties"][key]["description"] = description


def build_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``msgen.yaml``."""
    from msgen.workspace import Workspace

    schema = Workspace.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs = schema.setdefault("$defs", {})
    entity = TypeAdapter(_Entity).json_schema(by_alias=True, ref_template="#/$defs/{model}")
    entity.pop("$defs", None)  # the command's, added below under its own name
    entity["properties"]["fields"] = {
        "type": "object",
        "description": entity["properties"]["fields"]["description"],
        "minProperties": 1,
        "propertyNames": {"pattern": _SNAKE},
        "additionalProperties": {"anyOf": [_SHORT, {"$ref": "#/$defs/FieldLongForm"}]},
    }
    entity["properties"]["commands"] = {
        "type": "object",
        "description": entity["properties"]["commands"]["description"],
        "propertyNames": {"pattern": _SNAKE},
        "additionalProperties": {"$ref": "#/$defs/Command"},
    }
    defs["Entity"] = entity
    defs["Command"] = _command_schema()
    defs["FieldLongForm"] = TypeAdapter(_FieldLong).json_schema()
    _describe_consumes(defs)
    defs["ServiceEntry"]["properties"]["entities"] = {
        "type": "object",
        "title": "Entities",
        "description": "The service's domain: CamelCase entity names to their fields.",
        "propertyNames": {"pattern": "^[A-Z][A-Za-z0-9]*$"},
        "additionalProperties": {"$ref": "#/$defs/Entity"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "msgen.yaml",
        "description": "The msgen workspace file: the services of a system and their domains.",
    }


def render_schema() -> str:
    """The schema as the shipped file holds it."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the shipped schema, or with ``--check`` exit 1 if it is stale."""
    args = sys.argv[1:] if argv is None else argv
    text = render_schema()
    if args == ["--check"]:
        current = SHIPPED_SCHEMA.read_text(encoding="utf-8") if SHIPPED_SCHEMA.exists() else ""
        return 0 if current == text else 1
    SHIPPED_SCHEMA.parent.mkdir(parents=True, exist_ok=True)
    SHIPPED_SCHEMA.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
