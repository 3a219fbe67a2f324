"""Event names and what a service publishes and consumes.

An event name is ``<service>.<snake_case_event>`` (``orders.order_created``): the routing
key on the system's topic exchange. A service with a broker publishes the created, updated
and deleted events of its resource; it consumes the events given with ``--consumes``.

This module imports nothing heavy: ``msgen --help`` must stay fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from msgen.errors import InvalidNameError, UnknownServiceError, UsageError
from msgen.naming import ServiceNames, validate_service_name

if TYPE_CHECKING:
    from msgen.domain.model import Domain

__all__ = [
    "LIFECYCLE",
    "check_broker",
    "check_producers",
    "domain_events",
    "entities_data",
    "published_events",
    "validate_event_names",
]

LIFECYCLE = ("created", "updated", "deleted")
_EVENT = re.compile(r"^(?P<service>[a-z][-a-z0-9]*)\.(?P<event>[a-z][a-z0-9]*(_[a-z0-9]+)*)$")


def published_events(names: ServiceNames) -> list[str]:
    """The domain events of the service's resource, in lifecycle order."""
    return [f"{names.service}.{names.resource_snake}_{verb}" for verb in LIFECYCLE]


def domain_events(service: str, domain: Domain) -> list[str]:
    """The events of every entity of the domain, entity by entity: CRUD, then its commands'."""
    from msgen.domain.view import entity_names

    events: list[str] = []
    for entity in domain.entities:
        snake = entity_names(entity.name)["snake"]
        verbs = [*LIFECYCLE, *(command.event_suffix for command in entity.commands)]
        events += [f"{service}.{snake}_{verb}" for verb in dict.fromkeys(verbs)]
    return events


def entities_data(domain: Domain) -> dict[str, Any]:
    """The ``entities:`` mapping of ``msgen.yaml`` for ``domain``, in the short forms."""
    from msgen.domain.syntax import field_spec

    data: dict[str, Any] = {}
    for entity in domain.entities:
        entry: dict[str, Any] = {"fields": {f.name: field_spec(f) for f in entity.fields}}
        if entity.commands:
            entry["commands"] = {
                c.name: {"from": list(c.sources), "to": c.to} for c in entity.commands
            }
        data[entity.name] = entry
    return data


def validate_event_names(events: Iterable[str], *, consumer: str) -> list[str]:
    """Check ``--consumes`` values; returns them deduplicated, in the order given."""
    result: list[str] = []
    for event in events:
        match = _EVENT.match(event)
        if match is None:
            raise InvalidNameError(
                f"invalid event name {event!r}: expected <service>.<snake_case_event>",
                hint="for example --consumes orders.order_created",
            )
        try:
            validate_service_name(match["service"])
        except InvalidNameError as exc:
            raise InvalidNameError(f"invalid event name {event!r}: {exc.message}") from None
        if match["service"] == consumer:
            raise UsageError(
                f"{consumer} cannot consume its own event {event!r}",
                hint="react to your own changes in the service itself",
            )
        if event not in result:
            result.append(event)
    return result


def check_producers(events: Iterable[str], services: Iterable[str]) -> None:
    """Refuse a consumed event whose publisher (``<service>.``) is not in the workspace.

    ``msgen.yaml`` refuses such an event on load too: the contracts, the graph and the
    compose wiring all follow events from their publisher.
    """
    known = sorted(services)
    for event in events:
        producer = event.split(".", 1)[0]
        if producer not in known:
            raise UnknownServiceError(
                f"--consumes {event!r}: {producer!r} is not a service of this workspace "
                f"(it has: {', '.join(known) or 'none yet'})",
                hint=f"create the publisher first (msgen new service {producer}), then the "
                "consumer",
            )


def check_broker(
    *,
    broker: Literal["rabbitmq", "none"] | None,
    db: str,
    consumes: list[str],
    event_sourcing: bool = False,
) -> Literal["rabbitmq", "none"]:
    """The broker to use: ``rabbitmq`` unless asked otherwise or there is no database.

    The outbox and the processed-message ledger live in the service's database, so a
    service without one has no broker unless it is explicitly requested (a usage error).
    """
    if broker is None:
        broker = "none" if db == "none" else "rabbitmq"
    if broker != "none" and db == "none":
        raise UsageError(
            "--broker rabbitmq needs a database: the outbox lives in it",
            hint="drop --db none, or pass --broker none",
        )
    if broker == "none" and consumes:
        raise UsageError(
            "--consumes needs a broker", hint="drop --broker none (rabbitmq is the default)"
        )
    if event_sourcing and db == "none":
        raise UsageError(
            "--event-sourcing needs a database: the event store lives in it",
            hint="drop --db none",
        )
    return broker
