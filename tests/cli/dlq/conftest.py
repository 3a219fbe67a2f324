"""A consuming service's topology on the real RabbitMQ, and dead letters in it.

Each test gets a workspace whose system name is unique (``dlq-<hex>``), so its exchange
and queues (``<system>.events``, ``<system>.billing``, ``.dlx``, ``.dlq``) are its own;
they are deleted afterwards. The topology is declared as the generated ``messaging.py``
declares it, and dead letters are published as the generated ``consumer.py`` publishes
them: to the dead-letter exchange, with the original headers and the ``x-failure-*``,
``x-failed-at`` and ``x-original-*`` ones.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from tests.conftest import require_service
from tests.servicekit import BROKER_URL

EVENT = "orders.order_created"


def workspace_yaml(name: str) -> str:
    return f"""\
schema: 1
name: {name}
services:
  orders:
    path: orders
    port: 8001
    broker: rabbitmq
    publishes: [{EVENT}]
  billing:
    path: billing
    port: 8002
    broker: rabbitmq
    consumes: [{EVENT}]
  gateway:
    kind: gateway
    path: gateway
    port: 8000
    db: none
"""


@dataclass
class Letter:
    """A dead letter as the test published it: what redrive must restore."""

    message_id: str
    body: bytes
    headers: dict[str, Any]
    """The original headers, before dead-lettering added its own."""


@dataclass
class System:
    """One test's system on the broker."""

    name: str
    root: Path
    letters: list[Letter] = field(default_factory=list)

    @property
    def exchange(self) -> str:
        return f"{self.name}.events"

    @property
    def queue(self) -> str:
        return f"{self.name}.billing"

    @property
    def dlx(self) -> str:
        return f"{self.queue}.dlx"

    @property
    def dlq(self) -> str:
        return f"{self.queue}.dlq"

    def declare(self) -> None:
        """The topology the generated billing declares: exchange, queue, DLX and DLQ."""

        async def work(channel: aio_pika.abc.AbstractChannel) -> None:
            events = await channel.declare_exchange(
                self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(
                self.queue,
                durable=True,
                arguments={"x-dead-letter-exchange": self.dlx, "x-single-active-consumer": True},
            )
            await queue.bind(events, routing_key=EVENT)
            dlx = await channel.declare_exchange(
                self.dlx, aio_pika.ExchangeType.FANOUT, durable=True
            )
            dlq = await channel.declare_queue(self.dlq, durable=True)
            await dlq.bind(dlx)

        _on_channel(work)

    def dead_letter(
        self,
        count: int,
        *,
        routing_key: str = EVENT,
        exchange: str | None = None,
        failure: dict[str, Any] | None = None,
    ) -> list[Letter]:
        """Publish ``count`` dead letters to the DLX, as the consumer does after its attempts."""
        made = []
        for _ in range(count):
            message_id = str(uuid.uuid4())
            order = str(uuid.uuid4())
            body = json.dumps({"id": order, "customer": "Ada", "total": "12.50"}).encode()
            headers: dict[str, Any] = {
                "event-type": EVENT,
                "occurred-at": datetime.now(UTC).isoformat(),
                "aggregate-id": order,
                "schema-version": "1",
                "traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
            }
            made.append(Letter(message_id, body, headers))
        failure = failure or {}

        async def work(channel: aio_pika.abc.AbstractChannel) -> None:
            dlx = await channel.get_exchange(self.dlx)
            for letter in made:
                dead = {
                    **letter.headers,
                    "x-failure-reason": "PoisonMessageError: the body is not a valid "
                    f"{EVENT}: total must be positive " + "x" * 150,
                    "x-failure-attempts": 3,
                    "x-original-exchange": self.exchange if exchange is None else exchange,
                    "x-original-routing-key": routing_key,
                    "x-failed-at": datetime.now(UTC).isoformat(),
                    **failure,
                }
                await dlx.publish(
                    aio_pika.Message(
                        letter.body,
                        message_id=letter.message_id,
                        content_type="application/json",
                        type=EVENT,
                        headers=dead,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=routing_key,
                )

        _on_channel(work, confirms=True)
        self.letters.extend(made)
        return made

    def reject_into_dlq(self) -> Letter:
        """A message the consumer queue rejects: RabbitMQ dead-letters it (with x-death)."""
        message_id = str(uuid.uuid4())
        body = json.dumps({"id": str(uuid.uuid4())}).encode()
        letter = Letter(message_id, body, {"event-type": EVENT})

        async def work(channel: aio_pika.abc.AbstractChannel) -> None:
            events = await channel.get_exchange(self.exchange)
            await events.publish(
                aio_pika.Message(
                    body,
                    message_id=message_id,
                    content_type="application/json",
                    headers=letter.headers,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=EVENT,
            )
            queue = await channel.get_queue(self.queue)
            message = await _get(queue)
            await message.reject(requeue=False)
            dlq = await channel.get_queue(self.dlq)
            for _ in range(100):  # dead-lettering is asynchronous
                declared = await channel.declare_queue(dlq.name, passive=True)
                if declared.declaration_result.message_count:
                    return
                await asyncio.sleep(0.05)

        _on_channel(work, confirms=True)
        return letter

    def count(self, queue: str) -> int:
        """Ready messages in ``queue``."""
        counted: list[int] = []

        async def work(channel: aio_pika.abc.AbstractChannel) -> None:
            declared = await channel.declare_queue(queue, passive=True)
            counted.append(int(declared.declaration_result.message_count or 0))

        _on_channel(work)
        return counted[0]

    def drain(self, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """Take (and acknowledge) every message in ``queue``, in order."""
        taken: list[aio_pika.abc.AbstractIncomingMessage] = []

        async def work(channel: aio_pika.abc.AbstractChannel) -> None:
            source = await channel.get_queue(queue)
            while (message := await source.get(fail=False)) is not None:
                await message.ack()
                taken.append(message)

        _on_channel(work)
        return taken

    def delete(self) -> None:
        async def work(channel: aio_pika.abc.AbstractChannel) -> None:
            for queue in (self.queue, self.dlq):
                await channel.queue_delete(queue)
            for exchange in (self.exchange, self.dlx):
                await channel.exchange_delete(exchange)

        _on_channel(work)


async def _get(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    for _ in range(100):
        message = await queue.get(fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message in {queue.name}")


def _on_channel(work: Any, *, confirms: bool = False) -> None:
    async def main() -> None:
        connection = await aio_pika.connect(BROKER_URL)
        async with connection:
            channel = await connection.channel(publisher_confirms=confirms)
            await work(channel)

    asyncio.run(main())


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    """A workspace (cwd) whose billing consumes orders.order_created, its topology declared."""
    require_service("RabbitMQ", "127.0.0.1", 5672)
    monkeypatch.delenv("BROKER_URL", raising=False)
    name = f"dlq-{uuid.uuid4().hex[:12]}"
    (tmp_path / "msgen.yaml").write_text(workspace_yaml(name))
    monkeypatch.chdir(tmp_path)
    made = System(name, tmp_path)
    made.declare()
    try:
        yield made
    finally:
        made.delete()


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same workspace (cwd) without touching the broker."""
    monkeypatch.delenv("BROKER_URL", raising=False)
    (tmp_path / "msgen.yaml").write_text(workspace_yaml(f"dlq-{uuid.uuid4().hex[:12]}"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def without_dead_lettering(headers: dict[str, Any]) -> dict[str, Any]:
    """``headers`` less what dead-lettering added (the comparison the redrive must pass)."""
    return {
        name: value
        for name, value in headers.items()
        if not name.startswith(("x-failure-", "x-original-", "x-failed-at", "x-death"))
        and not name.startswith(("x-first-death-", "x-last-death-"))
    }
