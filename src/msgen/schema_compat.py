"""Does a consumer's JSON Schema accept everything a publisher's JSON Schema allows?

:func:`compare_schemas` walks the publisher's schema (what is sent) beside the consumer's
(what is accepted) and lists what the consumer may reject: a field it requires that the
publisher does not send or may leave out, a type change, an enum value it does not know, a
stricter format or bound, a field it forbids. It is a practical approximation of schema
inclusion for the schemas pydantic writes: local ``$ref``/``$defs``, ``allOf`` merges,
``anyOf``/``oneOf``/type lists/``nullable`` as alternatives, nested objects, arrays and
``additionalProperties``. Plain data in, plain data out: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Problem", "ProblemKind", "compare_schemas"]

ProblemKind = Literal[
    "missing-field",
    "type",
    "enum",
    "format",
    "constraint",
    "extra-field",
    "removed-event",
    "unpublished",
    "no-model",
]
Schema = Mapping[str, Any]

_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a consumer may reject what a publisher sends."""

    kind: ProblemKind
    path: str
    """Where in the payload: ``status``, ``lines[].sku``; empty for the whole event."""
    message: str
    publisher: str | None = None
    """The publisher it is about, when the report names one."""

    def as_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "path": self.path,
            "message": self.message,
            "publisher": self.publisher,
        }

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def compare_schemas(
    published: Schema,
    consumed: Schema,
    *,
    consumer: str = "consumer",
    publisher: str = "publisher",
    published_root: Schema | None = None,
    consumed_root: Schema | None = None,
) -> list[Problem]:
    """The problems a consumer with schema ``consumed`` has with payloads of ``published``.

    Each schema is a whole document: its ``$ref`` pointers resolve inside itself, or inside
    ``published_root``/``consumed_root`` when the schema is part of a larger document (an
    OpenAPI document's ``#/components/schemas/...``). The messages name the two sides
    ``consumer`` and ``publisher`` (e.g. the services).
    """
    comparer = _Comparer(
        published if published_root is None else published_root,
        consumed if consumed_root is None else consumed_root,
        consumer=consumer,
        publisher=publisher,
    )
    problems: list[Problem] = []
    comparer.compare(published, consumed, "", problems, depth=0)
    return problems


_PY_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
)


def _json_type(value: object) -> str:
    return next((name for cls, name in _PY_TYPES if isinstance(value, cls)), "object")


def _kind(schema: Schema) -> str | None:
    """The JSON type an alternative stands for; None when it does not constrain it."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    values = _values(schema)
    if values is not None:
        types = {_json_type(value) for value in values}
        if types <= {"integer", "number"} and types:
            return "number" if "number" in types else "integer"
        return types.pop() if len(types) == 1 else None
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _accepts(consumer: str | None, publisher: str | None) -> bool:
    if consumer is None:
        return True
    return consumer == publisher or (consumer == "number" and publisher == "integer")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(values: Sequence[Any]) -> str:
    import json

    return ", ".join(json.dumps(value) for value in values)


class _Comparer:
    def __init__(
        self, published: Schema, consumed: Schema, *, consumer: str, publisher: str
    ) -> None:
        self._roots = {"publisher": published, "consumer": consumed}
        self.consumer = consumer
        self.publisher = publisher
        self._active: set[tuple[str, str]] = set()

    def compare(
        self, published: Schema, consumed: Schema, path: str, out: list[Problem], *, depth: int
    ) -> None:
        if depth > _MAX_DEPTH:
            return
        refs = (str(published.get("$ref", "")), str(consumed.get("$ref", "")))
        if all(refs):
            if refs in self._active:  # the same pair of recursive models again
                return
            self._active.add(refs)
        try:
            self._compare(published, consumed, path, out, depth=depth)
        finally:
            self._active.discard(refs)

    def _compare(
        self, published: Schema, consumed: Schema, path: str, out: list[Problem], *, depth: int
    ) -> None:
        accepted = self._alternatives(consumed, "consumer")
        if any(_kind(alt) is None and not _constrains(alt) for alt in accepted):
            return  # the consumer takes anything here
        for alt in self._alternatives(published, "publisher"):
            kind = _kind(alt)
            candidates = [c for c in accepted if _accepts(_kind(c), kind)]
            if kind is None:
                expected = " or ".join(sorted({str(_kind(c)) for c in accepted}))
                message = (
                    f"{self.publisher} does not fix the type; {self.consumer} expects {expected}"
                )
                out.append(Problem("type", path, message))
                continue
            if not candidates:
                expected = " or ".join(sorted({str(_kind(c)) for c in accepted}))
                verb = "may send null" if kind == "null" else f"sends {kind}"
                out.append(
                    Problem(
                        "type", path, f"{self.publisher} {verb}, {self.consumer} expects {expected}"
                    )
                )
                continue
            best: list[Problem] | None = None
            for candidate in candidates:
                found: list[Problem] = []
                self._same_type(alt, candidate, kind, path, found, depth=depth)
                if best is None or len(found) < len(best):
                    best = found
                if not found:
                    break
            out.extend(best or [])

    def _same_type(
        self,
        published: Schema,
        consumed: Schema,
        kind: str,
        path: str,
        out: list[Problem],
        *,
        depth: int,
    ) -> None:
        sent = _values(published)
        allowed = _values(consumed)
        if allowed is not None:
            if sent is None:
                message = (
                    f"{self.publisher} may send any {kind}, "
                    f"{self.consumer} accepts only {_show(allowed)}"
                )
                out.append(Problem("enum", path, message))
            else:
                unknown = [value for value in sent if value not in allowed]
                if unknown:
                    message = (
                        f"{self.publisher} may send {_show(unknown)}, "
                        f"{self.consumer} accepts {_show(allowed)}"
                    )
                    out.append(Problem("enum", path, message))
            return
        if sent is not None:
            return  # fixed values: format and bounds say nothing more about them
        self._format_and_bounds(published, consumed, path, out)
        if kind == "object":
            self._objects(published, consumed, path, out, depth=depth)
        elif kind == "array":
            self.compare(
                self._schema(published.get("items", {})),
                self._schema(consumed.get("items", {})),
                f"{path}[]",
                out,
                depth=depth + 1,
            )

    def _format_and_bounds(
        self, published: Schema, consumed: Schema, path: str, out: list[Problem]
    ) -> None:
        wanted = consumed.get("format")
        if wanted and published.get("format") != wanted:
            got = published.get("format")
            sent = f"format {got}" if got else "no particular format"
            message = f"{self.consumer} expects format {wanted}, {self.publisher} sends {sent}"
            out.append(Problem("format", path, message))
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            if key not in consumed:
                continue
            limit, actual = consumed[key], published.get(key)
            lower = key in _LOWER_BOUNDS
            if actual is None or (actual < limit if lower else actual > limit):
                sent = "none" if actual is None else actual
                message = f"{self.consumer} requires {key} {limit}, {self.publisher}'s is {sent}"
                out.append(Problem("constraint", path, message))
        if "pattern" in consumed and published.get("pattern") != consumed["pattern"]:
            out.append(
                Problem(
                    "constraint", path, f"{self.consumer} requires pattern {consumed['pattern']!r}"
                )
            )

    def _objects(
        self, published: Schema, consumed: Schema, path: str, out: list[Problem], *, depth: int
    ) -> None:
        sent: Mapping[str, Any] = published.get("properties", {})
        always = set(published.get("required", []))
        declared: Mapping[str, Any] = consumed.get("properties", {})
        for name in consumed.get("required", []):
            if name not in sent:
                message = f"{self.consumer} requires it; {self.publisher} does not send it"
                out.append(Problem("missing-field", _join(path, name), message))
            elif name not in always:
                message = f"{self.consumer} requires it; {self.publisher} may leave it out"
                out.append(Problem("missing-field", _join(path, name), message))
        extra = consumed.get("additionalProperties", True)
        for name in sorted(sent):
            if name in declared:
                self.compare(
                    self._schema(sent[name]),
                    self._schema(declared[name]),
                    _join(path, name),
                    out,
                    depth=depth + 1,
                )
            elif extra is False:
                message = f"{self.publisher} sends it; {self.consumer} forbids unknown fields"
                out.append(Problem("extra-field", _join(path, name), message))
            elif isinstance(extra, Mapping):
                self.compare(
                    self._schema(sent[name]), extra, _join(path, name), out, depth=depth + 1
                )
        more = published.get("additionalProperties")
        if more is True or isinstance(more, Mapping):
            if extra is False:
                message = (
                    f"{self.publisher} may send any field; {self.consumer} forbids unknown fields"
                )
                out.append(Problem("extra-field", _join(path, "*"), message))
            elif isinstance(extra, Mapping):
                self.compare(
                    {} if more is True else more, extra, _join(path, "*"), out, depth=depth + 1
                )

    @staticmethod
    def _schema(value: object) -> Schema:
        if value is True:
            return {}
        if value is False:
            return {"not": {}}
        return value if isinstance(value, Mapping) else {}

    def _resolve(self, schema: Schema, side: str) -> dict[str, Any]:
        """``schema`` with its ``$ref`` followed and its ``allOf`` merged in."""
        result = dict(schema)
        for _ in range(_MAX_DEPTH):
            ref = result.pop("$ref", None)
            if not isinstance(ref, str):
                break
            result = {**self._lookup(ref, side), **result}
        parts = result.pop("allOf", None)
        if isinstance(parts, list):
            for part in parts:
                result = _merge(result, self._resolve(self._schema(part), side))
        if result.pop("nullable", False) is True:
            result = {"anyOf": [result, {"type": "null"}]}
        return result

    def _lookup(self, ref: str, side: str) -> Schema:
        if not ref.startswith("#"):
            return {}  # remote references are not followed: treated as "anything"
        node: Any = self._roots[side]
        for raw in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        return self._schema(node)

    def _alternatives(self, schema: Schema, side: str) -> list[dict[str, Any]]:
        resolved = self._resolve(schema, side)
        branches = [*resolved.get("anyOf", []), *resolved.get("oneOf", [])]
        if branches:
            result: list[dict[str, Any]] = []
            for branch in branches:
                result.extend(self._alternatives(self._schema(branch), side))
            return result
        declared = resolved.get("type")
        if isinstance(declared, list):
            return [{**resolved, "type": each} for each in declared]
        return [resolved]


def _constrains(schema: Schema) -> bool:
    """Whether an alternative without a type still restricts values (``not``, bounds)."""
    return "not" in schema


def _merge(left: dict[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**right, **left}
    if "properties" in left or "properties" in right:
        merged["properties"] = {**right.get("properties", {}), **left.get("properties", {})}
    if "required" in left or "required" in right:
        merged["required"] = sorted({*left.get("required", []), *right.get("required", [])})
    return merged
