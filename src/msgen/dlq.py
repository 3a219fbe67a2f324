"""A consuming service's dead-lettered messages: where they are, and reading them.

A consumer's queue is ``<system>.<service>``; a message it gave up on is published to
``<queue>.dlx`` (fanout) and lands in ``<queue>.dlq`` with ``x-failure-*`` headers (the
reason, the attempts...), ``x-failed-at`` and the ``x-original-exchange`` and
``x-original-routing-key`` it came from (see the generated ``consumer.py``).

Reading never loses or reorders a message: messages are taken with ``basic.get``
without acknowledging them, on a channel that is then closed, and RabbitMQ puts every
unacknowledged message back where it was (a classic queue keeps publication order
through requeues). :mod:`msgen.redrive` moves them back to where they came from.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from msgen.amqp import (
    OPERATION_TIMEOUT,
    broker_url,
    close_quietly,
    connection,
    json_value,
    message_count,
    redacted,
    run,
)
from msgen.errors import BrokerError, DeadLetterNotFoundError, UsageError

if TYPE_CHECKING:
    from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

    from msgen.workspace import Workspace

__all__ = [
    "FAILURE_PREFIX",
    "DeadLetter",
    "DeadLetterQueue",
    "DeadLetters",
    "dead_letter_queue",
    "dead_lettering_header",
    "find_dead_letter",
    "list_dead_letters",
    "read_dead_letter",
    "ready_count",
    "take",
]

FAILURE_PREFIX = "x-failure-"
_DEAD_LETTERING = frozenset({"x-failed-at", "x-original-exchange", "x-original-routing-key"})
_BROKER_DEAD_LETTERING = ("x-death", "x-first-death-", "x-last-death-")


def dead_lettering_header(name: str) -> bool:
    """Whether ``name`` was added by dead-lettering (the consumer's, or RabbitMQ's own)."""
    return (
        name.startswith(FAILURE_PREFIX)
        or name in _DEAD_LETTERING
        or name.startswith(_BROKER_DEAD_LETTERING)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetterQueue:
    """Where a service's dead letters are: its queue, the dead-letter queue, the broker."""

    service: str
    queue: str
    name: str
    url: str


def dead_letter_queue(
    workspace: Workspace, service: str, *, url: str | None = None
) -> DeadLetterQueue:
    """The dead-letter queue of ``service``, which must be a service that consumes events.

    ``url`` is ``--broker`` (or BROKER_URL); the local default broker otherwise.
    """
    workspace.require([service])
    entry = workspace.services[service]
    if entry.kind != "service":
        raise UsageError(
            f"{service} is a {entry.kind}: it consumes no events and has no dead-letter queue"
        )
    if entry.broker == "none" or not entry.consumes:
        raise UsageError(
            f"{service} consumes no events, so it has no dead-letter queue",
            hint="dead letters belong to services made with --consumes EVENT (see msgen list)",
        )
    queue = f"{workspace.name}.{service}"
    return DeadLetterQueue(service=service, queue=queue, name=f"{queue}.dlq", url=broker_url(url))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """One dead-lettered message, as read (headers as JSON values)."""

    message_id: str | None
    headers: dict[str, Any]
    body: bytes
    content_type: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    """The other AMQP properties that were set (``type``, ``correlation_id``...)."""

    @property
    def failure(self) -> dict[str, Any]:
        """Every ``x-failure-*`` header, without the prefix (``reason``, ``attempts``...)."""
        return {
            name.removeprefix(FAILURE_PREFIX): value
            for name, value in self.headers.items()
            if name.startswith(FAILURE_PREFIX)
        }

    @property
    def event_type(self) -> str | None:
        value = self.headers.get("event-type") or self.properties.get("type")
        return str(value) if value else None

    @property
    def reason(self) -> str | None:
        value = self.failure.get("reason") or self.headers.get("x-first-death-reason")
        return str(value) if value is not None else None

    @property
    def attempts(self) -> Any:
        return self.failure.get("attempts")

    @property
    def failed_at(self) -> str | None:
        value = self.headers.get("x-failed-at") or _first_death(self.headers).get("time")
        return str(value) if value else None

    @property
    def origin(self) -> tuple[str, str] | None:
        """Where it was published first: ``(exchange, routing key)``, or None if unknown.

        From the consumer's ``x-original-*`` headers, else from RabbitMQ's own ``x-death``
        (a message the queue rejected).
        """
        headers = self.headers
        if "x-original-exchange" in headers and "x-original-routing-key" in headers:
            return str(headers["x-original-exchange"]), str(headers["x-original-routing-key"])
        death = _first_death(headers)
        keys = death.get("routing-keys")
        if "exchange" in death and isinstance(keys, list) and keys:
            return str(death["exchange"]), str(keys[0])
        return None

    def body_text(self) -> tuple[str, Literal["utf-8", "base64"]]:
        """The body as text, with its encoding (base64 when it is not UTF-8)."""
        try:
            return self.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            import base64

            return base64.b64encode(self.body).decode("ascii"), "base64"

    def body_json(self) -> Any:
        """The body as parsed JSON; None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def summary(self) -> dict[str, Any]:
        """The ``msgen dlq list --json`` entry."""
        exchange, routing_key = self.origin or (None, None)
        return {
            "message_id": self.message_id,
            "event_type": self.event_type,
            "attempts": self.attempts,
            "failed_at": self.failed_at,
            "reason": self.reason,
            "failure": self.failure,
            "original_exchange": exchange,
            "original_routing_key": routing_key,
        }

    def to_data(self) -> dict[str, Any]:
        """The ``msgen dlq show --json`` document: every header and the body."""
        text, encoding = self.body_text()
        return {
            **self.summary(),
            "content_type": self.content_type,
            "properties": self.properties,
            "headers": self.headers,
            "body": text,
            "body_encoding": encoding,
            "body_json": self.body_json(),
        }


def _first_death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


_PROPERTIES = ("type", "correlation_id", "content_encoding", "app_id", "reply_to", "priority")


def read_dead_letter(message: AbstractIncomingMessage) -> DeadLetter:
    """A received message as a DeadLetter (headers and properties as JSON values)."""
    properties = {
        name: json_value(value)
        for name in _PROPERTIES
        if (value := getattr(message, name, None)) is not None
    }
    if message.timestamp is not None:
        properties["timestamp"] = json_value(message.timestamp)
    return DeadLetter(
        message_id=message.message_id,
        headers={name: json_value(value) for name, value in (message.headers or {}).items()},
        body=message.body,
        content_type=message.content_type,
        properties=properties,
    )


@dataclass(frozen=True, slots=True)
class DeadLetters:
    """What a dead-letter queue held, in queue order."""

    queue: DeadLetterQueue
    messages: list[DeadLetter]


def list_dead_letters(queue: DeadLetterQueue) -> DeadLetters:
    """Every message in the dead-letter queue, in order; the queue keeps them all."""
    return DeadLetters(queue, run(_browse(queue), url=queue.url))


def find_dead_letter(queue: DeadLetterQueue, message_id: str) -> DeadLetter:
    """The first message of ``message_id`` in the dead-letter queue (which keeps it)."""
    for message in list_dead_letters(queue).messages:
        if message.message_id == message_id:
            return message
    raise DeadLetterNotFoundError(
        f"no message {message_id!r} in {queue.name}",
        hint=f"msgen dlq list {queue.service} shows the ids it holds",
    )


async def ready_count(conn: AbstractConnection, queue: DeadLetterQueue) -> int:
    """How many messages the dead-letter queue holds; a BrokerError when it does not exist."""
    count = await message_count(conn, queue.name)
    if count is None:
        raise BrokerError(
            f"{queue.service} has no dead-letter queue {queue.name!r} on RabbitMQ at "
            f"{redacted(queue.url)}",
            hint=f"{queue.service} declares it when it first connects to the broker: start it "
            "once (msgen dev up), or check --broker (or BROKER_URL)",
        )
    return count


async def _browse(queue: DeadLetterQueue) -> list[DeadLetter]:
    async with connection(queue.url) as conn:
        count = await ready_count(conn, queue)
        channel = await conn.channel()
        try:
            return [read_dead_letter(message) async for message in take(channel, queue, count)]
        finally:
            await close_quietly(channel)  # every message taken goes back, in its place


async def take(
    channel: AbstractChannel, queue: DeadLetterQueue, count: int
) -> AsyncIterator[AbstractIncomingMessage]:
    """Up to ``count`` messages (those there at the start), without acknowledging them."""
    dlq = await channel.get_queue(queue.name, ensure=False)
    for _ in range(count):
        message = await dlq.get(fail=False, timeout=OPERATION_TIMEOUT)
        if message is None:
            return
        yield message
