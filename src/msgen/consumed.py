"""A consumer's model of an event, derived from its publisher's contract.

``msgen new service payments --consumes orders.order_created`` reads the JSON Schema that
``orders`` publishes for the event (its ``contracts/events.json``) and turns every property
into a typed pydantic field: ``uuid.UUID`` for ``format: uuid``, ``datetime`` for
``date-time``, ``Decimal`` for ``format: decimal``, ``X | None`` where the publisher may send
null, and so on. The result is plain data for the service template (the ``consumed``
answer); the template only places it. An event whose publisher is not in the workspace, or
has no contract file yet, gets the minimal model (``id`` only) and a one-line note.

Every derived field is required: it is one the publisher always sends, so ``msgen check
contracts`` names the consumer and the field when the publisher stops sending it or changes
its type. The models keep unknown fields (``extra="allow"``), so publishers can grow.

This module imports nothing heavy: ``msgen --help`` must stay fast.
"""

from __future__ import annotations

import json
import keyword
import textwrap
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from msgen.contracts import CONTRACT_FILE, load_contract
from msgen.domain.reserved import MODEL_ATTRIBUTES
from msgen.errors import ContractError

if TYPE_CHECKING:
    from msgen.workspace import WorkspaceFile

__all__ = [
    "consumed_models",
    "derive_model",
    "minimal_model",
    "model_class_name",
    "sample_lines",
]

Schema = Mapping[str, Any]
_MAX_DEPTH = 16
_WIDTH = 88

# JSON Schema string formats with a Python type; "decimal" is what generated publishers write.
_FORMATS = {
    "uuid": ("uuid.UUID", "uuid", "00000000-0000-4000-8000-000000000001"),
    "date-time": ("datetime", "datetime", "2024-01-01T12:00:00+00:00"),
    "date": ("date", "date", "2024-01-01"),
    "decimal": ("DecimalText", "Decimal", "1.5"),
}
_SIMPLE: dict[str, tuple[str, Any]] = {
    "integer": ("int", 1),
    "number": ("float", 1.5),
    "boolean": ("bool", True),
    "string": ("str", "text"),
}


def _lines(text: str) -> list[str]:
    """``text`` wrapped to fit the generated module's line length (at four spaces' indent)."""
    return textwrap.wrap(text, width=_WIDTH, break_long_words=False, break_on_hyphens=False)


def _python_literal(value: Any) -> str:
    """``value`` (JSON data) as Python source, in the quotes ``ruff format`` keeps."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_python_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}: {_python_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return repr(value)


def sample_lines(sample: Mapping[str, Any]) -> list[str]:
    """The entries of a sample payload, one ``"key": value,`` line each (for the tests)."""
    return [f"{json.dumps(str(k))}: {_python_literal(v)}," for k, v in sample.items()]


def model_class_name(event: str) -> str:
    """``orders.order_created`` -> ``OrdersOrderCreated``."""
    words = event.replace("-", "_").replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words)


def minimal_model(event: str, note: str) -> dict[str, Any]:
    """The model of an event msgen knows nothing about: its aggregate ``id``, as text."""
    return {
        "event": event,
        "class": model_class_name(event),
        "source": None,
        "note": _lines(note),
        "fields": [{"name": "id", "annotation": "str", "comment": []}],
        "skipped": [],
        "types": [],
        "sample_lines": sample_lines({"id": "00000000-0000-4000-8000-000000000001"}),
    }


class _Types:
    """What one property's schema becomes: annotation, names to import, a sample value."""

    def __init__(self, root: Schema) -> None:
        self._root = root
        self.imports: set[str] = set()

    def resolve(self, schema: Any) -> Schema:
        """``schema`` with its local ``$ref`` chain followed (the referring keys win)."""
        node: dict[str, Any] = dict(schema) if isinstance(schema, Mapping) else {}
        for _ in range(_MAX_DEPTH):
            ref = node.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/"):
                break
            target: Any = self._root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            own = {key: value for key, value in node.items() if key != "$ref"}
            node = {**(target if isinstance(target, Mapping) else {}), **own}
        return node

    def field(self, schema: Any, depth: int = 0) -> tuple[str, Any, str | None]:
        """(annotation, sample, comment) of a property's schema."""
        node = self.resolve(schema)
        branches = node.get("anyOf") or node.get("oneOf")
        declared = node.get("type")
        if isinstance(declared, list):
            branches = [{**node, "type": each} for each in declared]
        if isinstance(branches, list) and depth < _MAX_DEPTH:
            nulls = [b for b in branches if self.resolve(b).get("type") == "null"]
            rest = [b for b in branches if self.resolve(b).get("type") != "null"]
            if len(rest) == 1:
                annotation, sample, comment = self.field(rest[0], depth + 1)
                if nulls and annotation != "Any":
                    annotation = f"{annotation} | None"
                return annotation, sample, comment
            self.imports.add("Any")
            return "Any", None, "the publisher sends one of several types"
        values = node.get("enum")
        if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            shown = ", ".join(values)
            return "str", values[0], f"one of: {shown} (when this model was generated)"
        if isinstance(declared, str):
            return self._typed(node, declared, depth)
        self.imports.add("Any")
        return "Any", {"key": 1}, None

    def _typed(self, node: Schema, declared: str, depth: int) -> tuple[str, Any, str | None]:
        if declared == "string" and node.get("format") in _FORMATS:
            annotation, name, sample = _FORMATS[str(node["format"])]
            self.imports.add(name)
            return annotation, sample, None
        if declared in _SIMPLE:
            annotation, sample = _SIMPLE[declared]
            return annotation, sample, None
        if declared == "array" and depth < _MAX_DEPTH:
            item, _, _ = self.field(node.get("items", {}), depth + 1)
            return f"list[{item}]", [], None
        if declared == "object":
            self.imports.add("Any")
            return "dict[str, Any]", {}, None
        self.imports.add("Any")
        return "Any", None, None


def _python_name(name: str) -> str | None:
    """Why ``name`` cannot be a field of the model, or None when it can."""
    if not name.isidentifier() or keyword.iskeyword(name):
        return "is not a Python name"
    if name.startswith(("_", "model_")) or name in MODEL_ATTRIBUTES:
        return "clashes with pydantic's own attributes"
    return None


def derive_model(event: str, schema: Schema, *, publisher: str) -> dict[str, Any]:
    """The typed model of ``event`` from the JSON Schema ``publisher`` sends it with."""
    types = _Types(schema)
    properties = schema.get("properties")
    required = set(schema.get("required", []))
    fields: list[dict[str, Any]] = []
    skipped: list[str] = []
    sample: dict[str, Any] = {}
    order = {name: index for index, name in enumerate(schema.get("required", []))}
    found = properties if isinstance(properties, Mapping) else {}
    # The publisher's declaration order (its "required" list), then the rest by name.
    for name in sorted(found, key=lambda n: (order.get(n, len(order)), n)):
        spec = found[name]
        annotation, value, comment = types.field(spec)
        reason = _python_name(str(name))
        if reason is not None:
            skipped += _lines(f"{json.dumps(name)} {reason}: it stays in the extra fields.")
            continue
        if name not in required:
            # The publisher may leave it out: a default keeps such events valid.
            annotation = annotation if annotation.endswith("| None") else f"{annotation} | None"
            annotation = "Any" if annotation == "Any | None" else annotation
            annotation += " = None"
        fields.append(
            {"name": str(name), "annotation": annotation, "comment": _lines(comment or "")}
        )
        sample[str(name)] = value
    if not any(f["name"] == "id" for f in fields):
        fields.insert(0, {"name": "id", "annotation": "str", "comment": []})
        sample["id"] = "00000000-0000-4000-8000-000000000001"
    return {
        "event": event,
        "class": model_class_name(event),
        "source": publisher,
        "note": _lines(
            f"Derived from the contract of {publisher} ({CONTRACT_FILE.as_posix()}) when this"
            " service was generated: drop what this service does not read; msgen check"
            " contracts checks the rest against the publisher."
        ),
        "fields": fields,
        "skipped": skipped,
        "types": sorted(types.imports),
        "sample_lines": sample_lines(sample),
    }


def _publishers(workspace: WorkspaceFile, event: str) -> list[str]:
    """Services that may publish ``event``: its owner by name first, then by the workspace."""
    services = workspace.model.services
    owner = event.split(".", 1)[0]
    named = [owner] if owner in services else []
    declared = sorted(n for n, e in services.items() if event in e.publishes and n != owner)
    return [name for name in [*named, *declared] if services[name].kind == "service"]


def consumed_models(
    workspace: WorkspaceFile | None, events: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """The ``consumed`` answer: event name -> the data of its model in events.py."""
    result: dict[str, dict[str, Any]] = {}
    for event in events:
        found: dict[str, Any] | None = None
        for publisher in _publishers(workspace, event) if workspace is not None else []:
            path = workspace.service_dir(publisher) / CONTRACT_FILE  # type: ignore[union-attr]
            try:
                contract = load_contract(publisher, path)
            except ContractError:
                continue
            schema = contract.publishes.get(event)
            if schema is not None:
                found = derive_model(event, schema, publisher=publisher)
                break
        result[event] = found or minimal_model(
            event,
            f"No contract of {event} was found in the workspace: declare what you read.",
        )
    return result
