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
    from msgen.workspace import WorkspaceFile

__all__ = [
    "CONTRACT_FILE",
    "ContractReport",
    "EventCheck",
    "ServiceContract",
    "Unconsumed",
    "check_contracts",
    "load_contract",
    "load_contracts",
    "write_contract_file",
]

CONTRACT_FILE = Path("contracts") / "events.json"
FORMAT = 1
Verdict = Literal["compatible", "incompatible", "removed", "unpublished"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceContract:
    """One service's event schemas, and what the workspace says it publishes and consumes."""

    service: str
    publishes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    consumes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    declared_publishes: tuple[str, ...] = ()
    declared_consumes: tuple[str, ...] = ()


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
    if schema is None:
        message = f"{consumer} has no model of it in {CONTRACT_FILE.as_posix()}"
        problem = Problem("no-model", "", message)
        return EventCheck(consumer, event, tuple(publishers), "incompatible", (problem,))
    problems = [
        replace(problem, publisher=publisher)
        for publisher in publishers
        for problem in compare_schemas(
            contracts[publisher].publishes[event], schema, consumer=consumer, publisher=publisher
        )
    ]
    verdict: Verdict = "incompatible" if problems else "compatible"
    return EventCheck(consumer, event, tuple(publishers), verdict, tuple(problems))


def load_contract(service: str, path: Path, *, package: str | None = None) -> ServiceContract:
    """Read one service's ``contracts/events.json``; one-line errors when it is unusable."""
    module = f"{package or service.replace('-', '_')}.contracts"
    regenerate = f"run `python -m {module}` in {path.parent.parent}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractFileMissingError(
            f"{service} has no {CONTRACT_FILE.as_posix()} ({path})", hint=regenerate
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ContractFileInvalidError(f"cannot read {path}: {reason}", hint=regenerate) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractFileInvalidError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint=regenerate,
        ) from None
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
        result.append(
            replace(
                contract,
                declared_publishes=tuple(entry.publishes),
                declared_consumes=tuple(entry.consumes),
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
