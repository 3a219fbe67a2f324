"""Do callers still agree with their upstreams' HTTP APIs? ``msgen check contracts``.

Every generated service describes its HTTP API in ``contracts/openapi.json`` (written by
``python -m <package>.openapi`` from the running code's OpenAPI document, kept current by
its own tests). A service that calls upstreams keeps, for each, the document its client was
built from: ``contracts/upstreams/<upstream>.json``, which msgen copies from the upstream
when it renders or updates the caller (:func:`snapshot_upstreams`). :func:`check_http`
compares each such snapshot with the upstream's current document, without running
anything, and lists per caller and operation what would break the caller
(:func:`compare_openapi`):

- ``removed-operation``: a path or a method the client calls is gone;
- ``new-parameter``: a required query, header or cookie parameter the client does not send;
- ``removed-parameter``: a parameter the client sends is no longer taken (it would be
  ignored: a filter silently stops filtering);
- ``request-body``: a body is now required, or is no longer taken, or its media type changed;
- ``status-code``: a success status the client does not expect (``201`` became ``200``);
- the schema kinds of :mod:`msgen.schema_compat` for request bodies and parameters (the
  upstream must accept everything the client sends: a new required field, a narrowed enum,
  a stricter bound) and for success responses (the client must accept everything the
  upstream sends: a removed or retyped field, a new enum value).

Compatible changes pass: a new operation, a new optional field or parameter, a wider enum
in a request. Plain data in, plain data out, except the two loaders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from msgen.contracts import read_contract_json
from msgen.errors import ContractFileInvalidError
from msgen.schema_compat import compare_schemas

if TYPE_CHECKING:
    from msgen.workspace import WorkspaceFile

__all__ = [
    "OPENAPI_FILE",
    "UPSTREAMS_DIR",
    "HttpCheck",
    "HttpProblem",
    "HttpReport",
    "check_http",
    "compare_openapi",
    "load_openapi",
    "snapshot_path",
    "snapshot_upstreams",
    "upstream_dirs",
]

OPENAPI_FILE = Path("contracts") / "openapi.json"
UPSTREAMS_DIR = Path("contracts") / "upstreams"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
HttpVerdict = Literal["compatible", "incompatible", "unexported", "unbuilt"]
Document = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class HttpProblem:
    """One reason a caller's client would fail against its upstream's current API."""

    kind: str
    operation: str
    """``GET /orders/{order_id}``, as the client knows it."""
    where: str
    """``request body: lines[].sku``, ``response 200: status``, ``query parameter limit``."""
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "operation": self.operation,
            "where": self.where,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f" {self.where}:" if self.where else ":"
        return f"{self.operation}{where} {self.message}"


@dataclass(frozen=True, slots=True)
class HttpCheck:
    """The verdict on one caller and one upstream."""

    caller: str
    upstream: str
    verdict: HttpVerdict
    problems: tuple[HttpProblem, ...] = ()
    operations: int = 0
    """How many operations the client was built with."""
    note: str = ""

    @property
    def ok(self) -> bool:
        """Only ``incompatible`` fails: a client not built yet has nothing to break."""
        return self.verdict != "incompatible"

    def reasons(self) -> list[str]:
        return [str(problem) for problem in self.problems] or ([self.note] if self.note else [])

    def as_dict(self) -> dict[str, Any]:
        return {
            "caller": self.caller,
            "upstream": self.upstream,
            "verdict": self.verdict,
            "operations": self.operations,
            "note": self.note,
            "problems": [problem.as_dict() for problem in self.problems],
        }


@dataclass(frozen=True, slots=True)
class HttpReport:
    checks: tuple[HttpCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [check.as_dict() for check in self.checks]}


def _template(path: str) -> str:
    """The path with its parameters' names left out: ``/orders/{}`` for ``/orders/{id}``."""
    return re.sub(r"\{[^/{}]*\}", "{}", path)


def _operations(document: Document) -> dict[tuple[str, str], tuple[str, Mapping[str, Any]]]:
    """(path template, method) -> (path as written, operation with its path's parameters)."""
    result: dict[tuple[str, str], tuple[str, Mapping[str, Any]]] = {}
    paths = document.get("paths")
    for path, item in (paths if isinstance(paths, Mapping) else {}).items():
        if not isinstance(item, Mapping):
            continue
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, Mapping):
                own = operation.get("parameters", [])
                merged = {**operation, "parameters": [*_list(shared), *_list(own)]}
                result[(_template(str(path)), method)] = (str(path), merged)
    return result


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _resolve(document: Document, value: object) -> Mapping[str, Any]:
    """A parameter, request body or response with its ``$ref`` followed (inside the document)."""
    for _ in range(16):
        if not isinstance(value, Mapping):
            return {}
        ref = value.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return value
        node: Any = document
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        value = node
    return {}


def _parameters(document: Document, operation: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """(location, name) -> parameter; path parameters by position (their names may change)."""
    result: dict[tuple[str, str], Any] = {}
    position = 0
    for raw in operation.get("parameters", []):
        parameter = _resolve(document, raw)
        location, name = str(parameter.get("in", "")), str(parameter.get("name", ""))
        if location == "path":
            name, position = f"#{position}", position + 1
        elif location == "header":
            name = name.lower()
        result[(location, name)] = parameter
    return result


def _json_media(content: object) -> tuple[str | None, Mapping[str, Any]]:
    """The media type a client uses (JSON first) and its schema."""
    if not isinstance(content, Mapping) or not content:
        return None, {}
    for media, body in content.items():
        if media == "application/json" or str(media).endswith("+json"):
            return str(media), _schema(body)
    media = next(iter(content))
    return str(media), _schema(content[media])


def _schema(body: object) -> Mapping[str, Any]:
    schema = body.get("schema") if isinstance(body, Mapping) else None
    return schema if isinstance(schema, Mapping) else {}


def _success(responses: object) -> dict[str, Any]:
    if not isinstance(responses, Mapping):
        return {}
    return {str(code): value for code, value in responses.items() if str(code).startswith("2")}


def compare_openapi(
    built_from: Document, current: Document, *, caller: str = "caller", upstream: str = "upstream"
) -> tuple[list[HttpProblem], int]:
    """What breaks a client built from ``built_from`` when it calls an API as ``current``.

    Returns the problems, in the client's order of operations, and how many operations the
    client has.
    """
    now = _operations(current)
    problems: list[HttpProblem] = []
    before = _operations(built_from)
    for key, (path, operation) in sorted(before.items(), key=lambda item: item[1][0]):
        name = f"{key[1].upper()} {path}"
        found = now.get(key)
        if found is None:
            same_path = any(template == key[0] for template, _ in now)
            message = (
                f"{upstream} no longer answers {key[1].upper()} on this path"
                if same_path
                else f"{upstream} no longer has this path"
            )
            problems.append(HttpProblem("removed-operation", name, "", message))
            continue
        sides = _Sides(built_from, current, caller=caller, upstream=upstream, operation=name)
        problems += sides.parameters(operation, found[1])
        problems += sides.request_body(operation, found[1])
        problems += sides.responses(operation, found[1])
    return problems, len(before)


@dataclass(frozen=True, slots=True)
class _Sides:
    old: Document
    new: Document
    caller: str
    upstream: str
    operation: str

    def _problem(self, kind: str, where: str, message: str) -> HttpProblem:
        return HttpProblem(kind, self.operation, where, message)

    def _schemas(
        self, sent: Mapping[str, Any], taken: Mapping[str, Any], where: str, *, by_caller: bool
    ) -> list[HttpProblem]:
        """What one side may send (``sent``) against what the other accepts (``taken``).

        ``by_caller``: the client sends (old document) and the upstream takes (new one);
        otherwise the upstream answers (new) and the client reads (old).
        """
        sender, receiver = (
            (self.caller, self.upstream) if by_caller else (self.upstream, self.caller)
        )
        roots = (self.old, self.new) if by_caller else (self.new, self.old)
        found = compare_schemas(
            sent,
            taken,
            consumer=receiver,
            publisher=sender,
            published_root=roots[0],
            consumed_root=roots[1],
        )
        return [self._problem(p.kind, _at(where, p.path), p.message) for p in found]

    def parameters(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[HttpProblem]:
        problems: list[HttpProblem] = []
        before, after = _parameters(self.old, old), _parameters(self.new, new)
        for (location, name), parameter in after.items():
            if (location, name) not in before and parameter.get("required") is True:
                problems.append(
                    self._problem(
                        "new-parameter",
                        f"{location} parameter {name}",
                        f"{self.upstream} requires it; {self.caller} does not send it",
                    )
                )
        for (location, name), parameter in before.items():
            label = f"{location} parameter {parameter.get('name', name)}"
            taken = after.get((location, name))
            if taken is None:
                message = f"{self.caller} sends it; {self.upstream} no longer takes it"
                problems.append(self._problem("removed-parameter", label, message))
                continue
            problems += self._schemas(_schema(parameter), _schema(taken), label, by_caller=True)
        return problems

    def request_body(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[HttpProblem]:
        before = _resolve(self.old, old.get("requestBody"))
        after = _resolve(self.new, new.get("requestBody"))
        if not before and not after:
            return []
        if not after:
            message = f"{self.upstream} no longer takes a request body"
            return [self._problem("request-body", "request body", message)]
        if not before:
            if after.get("required") is not True:
                return []
            message = f"{self.upstream} requires a request body; {self.caller} sends none"
            return [self._problem("request-body", "request body", message)]
        sent_media, sent = _json_media(before.get("content"))
        taken_media, taken = _json_media(after.get("content"))
        content = after.get("content")
        if sent_media is not None and isinstance(content, Mapping) and sent_media not in content:
            message = f"{self.caller} sends {sent_media}; {self.upstream} takes {taken_media}"
            return [self._problem("request-body", "request body", message)]
        return self._schemas(sent, taken, "request body", by_caller=True)

    def responses(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[HttpProblem]:
        before, after = _success(old.get("responses")), _success(new.get("responses"))
        problems: list[HttpProblem] = []
        for code in sorted(set(after) - set(before)):
            expected = ", ".join(sorted(before)) or "no success status"
            message = f"{self.upstream} may answer {code}; {self.caller} expects {expected}"
            problems.append(self._problem("status-code", f"response {code}", message))
        for code in sorted(set(after) & set(before)):
            _, read = _json_media(_resolve(self.old, before[code]).get("content"))
            _, sent = _json_media(_resolve(self.new, after[code]).get("content"))
            if not read:
                continue  # the client reads no body here
            problems += self._schemas(sent, read, f"response {code}", by_caller=False)
        return problems


def _at(where: str, path: str) -> str:
    return f"{where}: {path}" if path else where


def load_openapi(path: Path, *, service: str, regenerate: str) -> dict[str, Any] | None:
    """An OpenAPI document from disk; None when the file does not exist."""
    data = read_contract_json(path, hint=regenerate)
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("paths"), dict):
        raise ContractFileInvalidError(
            f"{path} is not an OpenAPI document of {service} (it has no paths)", hint=regenerate
        )
    return data


def snapshot_path(caller_dir: Path, upstream: str) -> Path:
    return caller_dir / UPSTREAMS_DIR / f"{upstream}.json"


def snapshot_upstreams(
    caller_dir: Path, upstreams: Mapping[str, Path], *, write: bool = True
) -> list[tuple[Path, bool]]:
    """Copy each upstream's ``contracts/openapi.json`` into the caller's ``contracts/upstreams``.

    ``upstreams`` maps each upstream to its service directory. A snapshot whose upstream has
    no document yet is left as it is. Each copy replaces its file atomically. Returns the
    snapshots that differed (written unless not ``write``), each with whether it is new.
    """
    changed: list[tuple[Path, bool]] = []
    for name, directory in sorted(upstreams.items()):
        try:
            text = (directory / OPENAPI_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        difference = replace_if_changed(snapshot_path(caller_dir, name), text, write=write)
        if difference is not None:
            changed.append(difference)
    return changed


def replace_if_changed(target: Path, text: str, *, write: bool) -> tuple[Path, bool] | None:
    """``(target, is new)`` when ``target`` does not hold ``text``; None when it does.

    Unless not ``write``, ``text`` is then written to it atomically (staged, then renamed;
    the staging file named with the pid, so two msgen runs never share one).
    """
    new = not target.is_file()
    if not new and target.read_text(encoding="utf-8") == text:
        return None
    if write:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        staging.write_text(text, encoding="utf-8")
        staging.replace(target)
    return target, new


def upstream_dirs(workspace: WorkspaceFile, upstreams: Collection[str]) -> dict[str, Path]:
    """The directory of each upstream that is a service of the workspace (gateways have none)."""
    services = workspace.model.services
    return {
        name: workspace.service_dir(name)
        for name in upstreams
        if name in services and services[name].kind == "service"
    }


def check_http(workspace: WorkspaceFile, *, services: Collection[str] = ()) -> HttpReport:
    """Compare every caller's snapshot of each upstream with that upstream's document.

    ``services`` limits the report to checks where they are the caller or the upstream.
    """
    checks: list[HttpCheck] = []
    model = workspace.model
    for caller, entry in sorted(model.services.items()):
        if entry.kind != "service":
            continue
        for upstream in sorted(entry.upstreams):
            target = model.services.get(upstream)
            if target is None or target.kind != "service":
                continue
            if services and caller not in services and upstream not in services:
                continue
            checks.append(_check_pair(workspace, caller, upstream))
    return HttpReport(tuple(checks))


def _check_pair(workspace: WorkspaceFile, caller: str, upstream: str) -> HttpCheck:
    upstream_dir = workspace.service_dir(upstream)
    package = upstream.replace("-", "_")
    current = load_openapi(
        upstream_dir / OPENAPI_FILE,
        service=upstream,
        regenerate=f"run `python -m {package}.openapi` in {upstream_dir}",
    )
    snapshot = snapshot_path(workspace.service_dir(caller), upstream)
    built_from = load_openapi(snapshot, service=upstream, regenerate=f"run `msgen update {caller}`")
    if current is None:
        note = (
            f"{upstream} has no {OPENAPI_FILE.as_posix()} yet: run its tests or "
            f"`python -m {package}.openapi` in {upstream_dir}"
        )
        return HttpCheck(caller, upstream, "unexported", note=note)
    if built_from is None:
        note = f"no client of {upstream} built yet: run `msgen update {caller}`"
        return HttpCheck(caller, upstream, "unbuilt", note=note)
    problems, operations = compare_openapi(built_from, current, caller=caller, upstream=upstream)
    verdict: HttpVerdict = "incompatible" if problems else "compatible"
    return HttpCheck(caller, upstream, verdict, tuple(problems), operations)
