"""Do the services still agree on their events? ``msgen check contracts``.

Every generated service with a broker describes the events it publishes and consumes as
JSON Schema in ``contracts/events.json`` (written, with an AsyncAPI 3.0 ``asyncapi.json``
beside it, by ``python -m <package>.contracts`` from its pydantic models in ``events.py``,
and kept current by its own tests). :func:`load_contracts` reads those
files through the workspace, without running anything; :func:`check_contracts` pairs each
consumed event with its publishers and compares the schemas (:mod:`msgen.schema_compat`).

Verdicts per consumer and event: ``compatible``; ``incompatible`` (the consumer may reject
what is sent, or it has no model of the event); ``removed`` (a service that published the
event, by the workspace or by its name, no longer does); ``unpublished`` (no service
publishes it). Only ``compatible`` passes. Events published that nobody consumes are
warnings.

A consumed event that runs a command (``consumes: {event: {command: Entity.cmd, ...}}``) is
also checked against each publisher's schema of it, from the consumer's domain
(:func:`action_needs`): a transition command needs the payload field ``id:`` names, always
sent, a UUID string (``format: uuid``: a plain string may hold anything else); a creation
command needs the payload field of every entity field it sets that has no default (its
``fields:`` mapping, or the field's own name), always sent, with values the field accepts.
Their problems join the event's, with the same kinds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from msgen.errors import ContractError, ContractFileInvalidError, ContractFileMissingError
from msgen.schema_compat import Problem, compare_schemas

if TYPE_CHECKING:
    from msgen.domain.model import Domain
    from msgen.domain.model import Field as DomainField
    from msgen.workspace import ConsumeAction, WorkspaceFile

__all__ = [
    "CONTRACT_FILE",
    "ActionField",
    "ActionNeeds",
    "ContractReport",
    "EventCheck",
    "ServiceContract",
    "Unconsumed",
    "action_needs",
    "check_contracts",
    "load_contract",
    "load_contracts",
    "write_contract_file",
]

CONTRACT_FILE = Path("contracts") / "events.json"
FORMAT = 1
Verdict = Literal["compatible", "incompatible", "removed", "unpublished"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionField:
    """A payload field a consumed event's command reads."""

    payload: str
    """The field of the event's payload."""
    target: str
    """What it becomes: ``the Order id``, ``Payment.amount``."""
    schema: Mapping[str, Any]
    """The JSON Schema of the values the command accepts there."""
    required: bool
    """The command cannot run without it (publishers must always send it)."""
    named: bool = False
    """``msgen.yaml`` names it (``id:``, ``fields:``): publishers must have it at all."""


@dataclass(frozen=True, slots=True)
class ActionNeeds:
    """What a consumed event's command (``Order.pay``) needs from the event's payload."""

    command: str
    fields: tuple[ActionField, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceContract:
    """One service's event schemas, and what the workspace says it publishes and consumes."""

    service: str
    publishes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    consumes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    declared_publishes: tuple[str, ...] = ()
    declared_consumes: tuple[str, ...] = ()
    actions: Mapping[str, ActionNeeds] = field(default_factory=dict)
    """Consumed event -> what the command it runs needs (events that run one)."""


@dataclass(frozen=True, slots=True)
class EventCheck:
    """The verdict for one consumer of one event."""

    consumer: str
    event: str
    publishers: tuple[str, ...]
    verdict: Verdict
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.verdict == "compatible"

    def reasons(self) -> list[str]:
        """One line per problem, naming the publisher when there are several."""
        named = len(self.publishers) > 1
        return [
            f"{problem.publisher}: {problem}" if named and problem.publisher else str(problem)
            for problem in self.problems
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "event": self.event,
            "publishers": list(self.publishers),
            "verdict": self.verdict,
            "problems": [problem.as_dict() for problem in self.problems],
        }


@dataclass(frozen=True, slots=True)
class Unconsumed:
    """A warning: ``publisher`` publishes ``event`` and no service consumes it."""

    publisher: str
    event: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": "unconsumed",
            "publisher": self.publisher,
            "event": self.event,
            "message": "no service consumes it",
        }


@dataclass(frozen=True, slots=True)
class ContractReport:
    checks: tuple[EventCheck, ...]
    warnings: tuple[Unconsumed, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [check.as_dict() for check in self.checks],
            "warnings": [warning.as_dict() for warning in self.warnings],
        }


def check_contracts(
    contracts: Iterable[ServiceContract], *, services: Collection[str] = ()
) -> ContractReport:
    """Compare every consumed event with each service that publishes it.

    ``services`` limits the report to their checks as consumers and warnings as publishers;
    the comparison always sees every contract.
    """
    by_name = {contract.service: contract for contract in contracts}
    publishers: dict[str, list[str]] = {}
    for name, contract in sorted(by_name.items()):
        for event in contract.publishes:
            publishers.setdefault(event, []).append(name)
    consumed: set[str] = set()
    checks: list[EventCheck] = []
    for name, contract in sorted(by_name.items()):
        for event in sorted({*contract.consumes, *contract.declared_consumes}):
            consumed.add(event)
            checks.append(_check_event(name, event, contract, publishers.get(event, []), by_name))
    warnings = [
        Unconsumed(publisher, event)
        for event, names in sorted(publishers.items())
        if event not in consumed
        for publisher in names
    ]
    if services:
        checks = [check for check in checks if check.consumer in services]
        warnings = [warning for warning in warnings if warning.publisher in services]
    return ContractReport(tuple(checks), tuple(warnings))


def _check_event(
    consumer: str,
    event: str,
    contract: ServiceContract,
    publishers: list[str],
    contracts: Mapping[str, ServiceContract],
) -> EventCheck:
    if not publishers:
        owner = event.split(".", 1)[0]
        former = sorted(n for n, c in contracts.items() if event in c.declared_publishes)
        if not former and owner in contracts:
            former = [owner]
        if former:
            message = f"{', '.join(former)} no longer publishes it"
            problem = Problem("removed-event", "", message)
            return EventCheck(consumer, event, (), "removed", (problem,))
        problem = Problem("unpublished", "", "no service publishes it")
        return EventCheck(consumer, event, (), "unpublished", (problem,))
    schema = contract.consumes.get(event)
    problems: list[Problem] = []
    if schema is None:
        message = f"{consumer} has no model of it in {CONTRACT_FILE.as_posix()}"
        problems.append(Problem("no-model", "", message))
    else:
        problems += [
            replace(problem, publisher=publisher)
            for publisher in publishers
            for problem in compare_schemas(
                contracts[publisher].publishes[event],
                schema,
                consumer=consumer,
                publisher=publisher,
            )
        ]
    needs = contract.actions.get(event)
    if needs is not None:
        problems += [
            replace(problem, publisher=publisher)
            for publisher in publishers
            for problem in _action_problems(
                needs, contracts[publisher].publishes[event], consumer, publisher
            )
        ]
    verdict: Verdict = "incompatible" if problems else "compatible"
    return EventCheck(consumer, event, tuple(publishers), verdict, tuple(problems))


def _action_problems(
    needs: ActionNeeds, published: Mapping[str, Any], consumer: str, publisher: str
) -> list[Problem]:
    """What stops ``needs.command`` running on the payloads ``publisher`` sends."""
    who = f"{needs.command} in {consumer}"
    properties = published.get("properties")
    sent: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
    always = set(published.get("required", []))
    problems: list[Problem] = []
    for need in needs.fields:
        if need.payload not in sent:
            if need.required or need.named:
                message = f"{who} reads it as {need.target}; {publisher} does not send it"
                problems.append(Problem("missing-field", need.payload, message))
            continue
        if need.required and need.payload not in always:
            message = f"{who} reads it as {need.target}; {publisher} may leave it out"
            problems.append(Problem("missing-field", need.payload, message))
        accepted = {"type": "object", "properties": {need.payload: need.schema}}
        problems += [
            replace(problem, message=f"{problem.message} (it is {need.target})")
            for problem in compare_schemas(published, accepted, consumer=who, publisher=publisher)
        ]
    return problems


_UUID: Mapping[str, Any] = {"type": "string", "format": "uuid"}
_NUMBER: Mapping[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string", "format": "decimal"}]
}
_ACCEPTED: Mapping[str, Mapping[str, Any]] = {
    "str": {"type": "string"},
    "text": {"type": "string"},
    "int": {"type": "integer"},
    "bigint": {"type": "integer"},
    # A number, or a decimal as generated publishers send it (a string of format decimal).
    "float": _NUMBER,
    "decimal": _NUMBER,
    "bool": {"type": "boolean"},
    "uuid": _UUID,
    "ref": _UUID,
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "json": {},
}


def _accepted(field: DomainField) -> Mapping[str, Any]:
    """The JSON Schema of the payload values an entity field can be set from."""
    if field.kind == "enum":
        schema: Mapping[str, Any] = {"type": "string", "enum": list(field.choices)}
    else:
        schema = _ACCEPTED[field.kind]
    if field.optional and schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def action_needs(action: ConsumeAction, domain: Domain, *, consumer: str) -> ActionNeeds:
    """The payload fields the command ``action`` runs reads, from the consumer's domain.

    A transition command reads the entity id from the field ``id:`` names. A creation
    command sets each field no command moves: from the payload field ``fields:`` maps it to,
    else the one of its own name (a ref field's ``<name>_id``); the field needs one unless it
    is optional or has a default.
    """
    entity = domain.entity(action.entity)
    command = entity.command(action.command_name) if entity is not None else None
    if entity is None or command is None:
        raise ContractError(f"{consumer}: {action.command} is not a command of its entities")
    if not command.creates:
        entity_id = ActionField(
            payload=action.id or "id",
            target=f"the {entity.name} id",
            schema=_UUID,
            required=True,
            named=True,
        )
        return ActionNeeds(action.command, (entity_id,))
    fields = tuple(
        ActionField(
            payload=action.fields.get(f.name, f.column),
            target=f"{entity.name}.{f.name}",
            schema=_accepted(f),
            required=not f.optional and not f.has_default,
            named=f.name in action.fields,
        )
        for f in entity.fields
        if f.name not in entity.commanded
    )
    return ActionNeeds(action.command, fields)


def read_contract_json(path: Path, *, hint: str) -> Any:
    """A contract file's JSON; None when it does not exist; one-line errors otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ContractFileInvalidError(f"cannot read {path}: {reason}", hint=hint) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractFileInvalidError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint=hint,
        ) from None


def load_contract(service: str, path: Path, *, package: str | None = None) -> ServiceContract:
    """Read one service's ``contracts/events.json``; one-line errors when it is unusable."""
    module = f"{package or service.replace('-', '_')}.contracts"
    regenerate = f"run `python -m {module}` in {path.parent.parent}"
    data = read_contract_json(path, hint=regenerate)
    if data is None:
        raise ContractFileMissingError(
            f"{service} has no {CONTRACT_FILE.as_posix()} ({path})", hint=regenerate
        )
    if not isinstance(data, dict):
        raise ContractFileInvalidError(f"{path} must hold a JSON object", hint=regenerate)
    if data.get("format") != FORMAT:
        raise ContractFileInvalidError(
            f"{path} has format {data.get('format')!r}; this msgen reads format {FORMAT}",
            hint=regenerate,
        )
    sections: dict[str, dict[str, Mapping[str, Any]]] = {}
    for key in ("publishes", "consumes"):
        section = data.get(key, {})
        if not isinstance(section, dict) or not all(
            isinstance(schema, dict) for schema in section.values()
        ):
            raise ContractFileInvalidError(
                f"{path}: {key!r} must map event names to JSON Schema objects", hint=regenerate
            )
        sections[key] = section
    return ServiceContract(
        service=service, publishes=sections["publishes"], consumes=sections["consumes"]
    )


def load_contracts(workspace: WorkspaceFile) -> list[ServiceContract]:
    """The contracts of every service with events, sorted by name."""
    result: list[ServiceContract] = []
    for name, entry in sorted(workspace.model.services.items()):
        has_events = entry.broker != "none" or entry.publishes or entry.consumes
        if entry.kind != "service" or not has_events:
            continue
        contract = load_contract(name, workspace.service_dir(name) / CONTRACT_FILE)
        actions = entry.consume_actions()
        domain = entry.domain() if actions else None
        result.append(
            replace(
                contract,
                declared_publishes=tuple(entry.publishes),
                declared_consumes=tuple(entry.consumes),
                actions={
                    event: action_needs(action, domain, consumer=name)
                    for event, action in actions.items()
                    if domain is not None
                },
            )
        )
    return result


def write_contract_file(service_dir: Path, *, package: str) -> Path:
    """Run the service's own export (``python -m <package>.contracts``) with msgen's Python.

    The export imports only pydantic and the service's ``events`` module, so msgen's own
    interpreter runs it from the source tree; nothing is installed.
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(service_dir / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", f"{package}.contracts"],
        cwd=service_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise ContractError(
            f"could not write {CONTRACT_FILE.as_posix()}: {lines[-1] if lines else proc.returncode}"
        )
    return service_dir / CONTRACT_FILE
