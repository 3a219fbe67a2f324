"""The system's RabbitMQ topology as msgen.yaml implies it, declared ahead of the services.

Each generated service declares its own part when it connects (its ``messaging.py``): the
system's topic exchange and, for a consumer, its durable queue bound to each event it
consumes, with its dead-letter exchange and queue. Until a consumer has run once, its
queue does not exist, and a publisher's events find no queue (they wait in its outbox:
the relay publishes ``mandatory``). This module declares every consumer's part at once,
from the workspace, with the same names and arguments the services use:

- :func:`declare` on a broker (``msgen broker declare``; ``msgen dev up`` runs it before
  it starts any service), idempotently: what exists is left as it is;
- :func:`definitions` as RabbitMQ definitions (``msgen broker definitions``), the JSON that
  ``rabbitmqctl import_definitions`` and the management API import; Compose's broker
  imports them before it reports healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from msgen.errors import BrokerError

if TYPE_CHECKING:
    from aio_pika.abc import AbstractConnection

    from msgen.workspace import Workspace

__all__ = [
    "UNCONSUMED_SETTING",
    "ConsumerQueue",
    "Declared",
    "Topology",
    "declare",
    "definitions",
    "system_topology",
    "unconsumed_env",
    "unconsumed_events",
]

UNCONSUMED_SETTING = "OUTBOX_UNCONSUMED_EVENTS"
"""The generated services' setting: their events no service consumes (a JSON list)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerQueue:
    """A consuming service's queue, bindings and dead-letter pair (as its messaging.py)."""

    service: str
    name: str
    events: tuple[str, ...]

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.name}.dlx"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"

    @property
    def arguments(self) -> dict[str, Any]:
        """Exactly the generated service's (RabbitMQ refuses a redeclare that differs)."""
        return {
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-single-active-consumer": True,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Topology:
    exchange: str
    queues: tuple[ConsumerQueue, ...]

    def to_data(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "queues": [
                {
                    "service": queue.service,
                    "queue": queue.name,
                    "events": list(queue.events),
                    "dead_letter_exchange": queue.dead_letter_exchange,
                    "dead_letter_queue": queue.dead_letter_queue,
                    "arguments": queue.arguments,
                }
                for queue in self.queues
            ],
        }


def system_topology(workspace: Workspace) -> Topology:
    """The exchange and every consumer's queue, by the names the services default to.

    A service started with another ``BROKER_EXCHANGE`` or ``BROKER_QUEUE`` declares its own
    names; these are the defaults its ``settings.py`` was rendered with.
    """
    queues = tuple(
        ConsumerQueue(
            service=name,
            name=f"{workspace.name}.{name}",
            events=tuple(sorted(entry.consumes)),
        )
        for name, entry in sorted(workspace.services.items())
        if entry.kind == "service" and entry.broker == "rabbitmq" and entry.consumes
    )
    return Topology(exchange=f"{workspace.name}.events", queues=queues)


def unconsumed_events(workspace: Workspace, name: str) -> list[str]:
    """The events ``name`` publishes that no service of the workspace consumes.

    The services publish every other event ``mandatory``, and keep one that no queue takes
    in their outbox until its consumer's queue exists; these ones nobody will ever wait
    for, so they are published without (and never pile up in the outbox).
    """
    consumed = {event for entry in workspace.services.values() for event in (entry.consumes or ())}
    entry = workspace.services[name]
    return sorted(event for event in entry.publishes if event not in consumed)


def unconsumed_env(workspace: Workspace, name: str) -> dict[str, str]:
    """``OUTBOX_UNCONSUMED_EVENTS`` of a service with a broker; nothing for one without.

    dev up, Compose and Kubernetes set it from the workspace.
    """
    import json

    entry = workspace.services[name]
    if entry.kind != "service" or entry.broker != "rabbitmq":
        return {}
    return {UNCONSUMED_SETTING: json.dumps(unconsumed_events(workspace, name))}


def definitions(topology: Topology, *, vhost: str = "/") -> dict[str, Any]:
    """RabbitMQ definitions (exchanges, queues, bindings; no users, no vhosts) of it."""
    exchange = {"vhost": vhost, "durable": True, "auto_delete": False, "internal": False}
    exchanges = [{"name": topology.exchange, "type": "topic", **exchange, "arguments": {}}]
    queues = []
    bindings = []
    for queue in topology.queues:
        exchanges.append(
            {"name": queue.dead_letter_exchange, "type": "fanout", **exchange, "arguments": {}}
        )
        common = {"vhost": vhost, "durable": True, "auto_delete": False}
        queues.append({"name": queue.name, **common, "arguments": queue.arguments})
        queues.append({"name": queue.dead_letter_queue, **common, "arguments": {}})
        bindings += [
            _binding(topology.exchange, queue.name, event, vhost) for event in queue.events
        ]
        bindings.append(_binding(queue.dead_letter_exchange, queue.dead_letter_queue, "", vhost))
    return {"exchanges": exchanges, "queues": queues, "bindings": bindings}


def _binding(source: str, queue: str, key: str, vhost: str) -> dict[str, Any]:
    return {
        "source": source,
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": key,
        "arguments": {},
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Declared:
    """One consumer queue after :func:`declare`: whether it was new, what waits in it."""

    queue: ConsumerQueue
    created: bool
    messages: int


def declare(topology: Topology, *, url: str) -> list[Declared]:
    """Declare ``topology`` on the broker at ``url`` (idempotent); one line on any failure."""
    from msgen import amqp

    async def work() -> list[Declared]:
        async with amqp.connection(url) as conn:
            return await _declare(conn, topology)

    return amqp.run(work(), url=url)


async def _declare(conn: AbstractConnection, topology: Topology) -> list[Declared]:
    import aio_pika
    from aiormq.exceptions import ChannelPreconditionFailed

    from msgen import amqp

    declared = []
    for queue in topology.queues:
        existing = await amqp.message_count(conn, queue.name)
        channel = await conn.channel()
        try:
            events = await channel.declare_exchange(
                topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            dead = await channel.declare_exchange(
                queue.dead_letter_exchange, aio_pika.ExchangeType.FANOUT, durable=True
            )
            main = await channel.declare_queue(queue.name, durable=True, arguments=queue.arguments)
            for event in queue.events:
                await main.bind(events, routing_key=event)
            dead_letters = await channel.declare_queue(queue.dead_letter_queue, durable=True)
            await dead_letters.bind(dead)
        except ChannelPreconditionFailed as exc:
            raise BrokerError(
                f"RabbitMQ refused queue {queue.name} of {queue.service}: it exists with "
                "other arguments (declared by an older version of the service?)",
                hint=f"let it drain, delete it (rabbitmqctl delete_queue {queue.name}), "
                "then declare again",
            ) from exc
        finally:
            await amqp.close_quietly(channel)
        declared.append(Declared(queue=queue, created=existing is None, messages=existing or 0))
    return declared
