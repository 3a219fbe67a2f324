"""``msgen add FEATURE SERVICE``: turn a feature on by changing answers, then updating.

A feature is a set of template answers. Adding one writes those answers through
:func:`msgen.update.update_service` (copier's three-way merge, so the user's edits stay) and
records the result in the workspace entry. A feature whose answers the service's template
does not ask is refused, so a new one is a line in :data:`FEATURES` once the template
has its question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from msgen.errors import UsageError
from msgen.locking import changes_workspace
from msgen.messaging import LIFECYCLE
from msgen.template_versions import template_source
from msgen.update import Conflict, Reporter, ServiceUpdate, read_answers, template_of
from msgen.workspace import ServiceEntry, WorkspaceFile

__all__ = ["FEATURES", "AddResult", "Feature", "add_feature", "entry_from_answers"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Feature:
    """The template answers that turn a feature on."""

    answers: Mapping[str, Any]
    summary: str
    needs_db: bool = False
    listed: bool = False
    """Recorded in the workspace entry's ``features`` (db, broker, discovery have fields)."""


FEATURES: dict[str, Feature] = {
    "broker": Feature(
        answers={"broker": "rabbitmq"},
        summary="RabbitMQ domain events: transactional outbox, relay, consumers",
        needs_db=True,
    ),
    "consul": Feature(
        answers={"discovery": "consul"},
        summary="register with Consul on start; resolve upstreams through it",
    ),
    "event-sourcing": Feature(
        answers={"event_sourcing": True},
        summary="event store with snapshots; the resource table becomes its projection",
        needs_db=True,
        listed=True,
    ),
    "postgres": Feature(
        answers={"db": "postgres"},
        summary="PostgreSQL (asyncpg) as the service's database",
    ),
    "tracing": Feature(
        answers={"tracing": True},
        summary="OpenTelemetry traces across HTTP, SQL and RabbitMQ, exported with OTLP",
        listed=True,
    ),
    "metrics": Feature(
        answers={"metrics": True},
        summary="Prometheus /metrics: RED metrics by route template, pool, outbox, consumer",
        listed=True,
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AddResult:
    """What ``add_feature`` did: the update, or None when the feature was already on."""

    feature: str
    service: str
    update: ServiceUpdate | None
    entry: ServiceEntry
    changed_answers: dict[str, Any] = field(default_factory=dict)


def _questions(template: str) -> set[str]:
    import yaml

    data = yaml.safe_load((template_source(template) / "copier.yml").read_text(encoding="utf-8"))
    return {key for key in data if not key.startswith("_")}


def entry_from_answers(entry: ServiceEntry, answers: Mapping[str, Any]) -> ServiceEntry:
    """The workspace entry brought in line with a service's answers after an update."""
    update: dict[str, Any] = {"template_version": answers.get("msgen_version")}
    if "discovery" in answers:
        update["discovery"] = answers["discovery"]
    if entry.kind == "service":
        broker = answers.get("broker", entry.broker)
        update["db"] = answers.get("db", entry.db)
        update["broker"] = broker
        if broker == "none":
            update["publishes"] = []
        elif not entry.publishes:
            resource = answers["resource_snake"]
            update["publishes"] = [f"{answers['service_name']}.{resource}_{v}" for v in LIFECYCLE]
        listed = {name for name, feature in FEATURES.items() if feature.listed}
        on = [
            name
            for name, feature in FEATURES.items()
            if feature.listed and all(answers.get(k) == v for k, v in feature.answers.items())
        ]
        update["features"] = [f for f in entry.features if f not in listed] + on
    return entry.model_copy(update=update)


@changes_workspace
def add_feature(
    workspace: WorkspaceFile,
    feature: str,
    service: str,
    *,
    conflict: Conflict = "inline",
    dry_run: bool = False,
    force: bool = False,
    report: Reporter | None = None,
) -> AddResult:
    """Turn ``feature`` on for ``service``: change its answers, update, record the entry."""
    from msgen.update import update_service

    if feature not in FEATURES:
        raise UsageError(
            f"unknown feature {feature!r}",
            hint=f"choose one of: {', '.join(FEATURES)}",
        )
    workspace.model.require([service])
    wanted = FEATURES[feature]
    template = template_of(workspace, service)
    missing = sorted(set(wanted.answers) - _questions(template))
    if missing:
        raise UsageError(
            f"the {template} template has no {', '.join(missing)} setting, so {service} "
            f"cannot get {feature}",
            hint="update msgen, or choose another feature",
        )
    recorded = read_answers(workspace.service_dir(service))
    changed = {k: v for k, v in wanted.answers.items() if recorded.get(k) != v}
    entry = workspace.model.services[service]
    if not changed:
        return AddResult(feature=feature, service=service, update=None, entry=entry)
    if wanted.needs_db and recorded.get("db", "none") == "none":
        raise UsageError(
            f"{feature} needs a database and {service} has none",
            hint=f"add one first: msgen add postgres {service}",
        )
    result = update_service(
        workspace,
        service,
        answers=changed,
        conflict=conflict,
        dry_run=dry_run,
        force=force,
        report=report,
        record=entry_from_answers,
    )
    if not dry_run:
        entry = workspace.model.services[service]
    return AddResult(
        feature=feature, service=service, update=result, entry=entry, changed_answers=changed
    )
