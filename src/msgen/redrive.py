"""Redrive dead letters: publish each again where it came from, then take it off the DLQ.

A copy goes to the original exchange and routing key (the ``x-original-*`` headers, or
RabbitMQ's ``x-death`` for a message the queue rejected) with the same message id, body,
content type and headers less those dead-lettering added; persistent, mandatory, with a
publisher confirm. The dead letter is acknowledged (removed) only after the broker
confirmed the copy: an unroutable copy is returned by RabbitMQ and its dead letter stays.
A crash between the confirm and the acknowledgement leaves both: the consumer absorbs the
duplicate by its message id (``processed_messages``), so nothing is lost or applied twice.
Every message not acknowledged returns to the dead-letter queue, in its place, when the
reading channel closes. Copies go out in queue order, up to WINDOW of them waiting for
their confirms at once.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from msgen.amqp import (
    OPERATION_TIMEOUT,
    close_quietly,
    connection,
    exchange_exists,
    publishable,
    run,
)
from msgen.dlq import (
    DeadLetterQueue,
    dead_lettering_header,
    read_dead_letter,
    ready_count,
    take,
)
from msgen.errors import UsageError

if TYPE_CHECKING:
    from aio_pika import Message
    from aio_pika.abc import (
        AbstractChannel,
        AbstractConnection,
        AbstractIncomingMessage,
    )

__all__ = [
    "RedriveOutcome",
    "RedriveReporter",
    "RedriveRequest",
    "RedriveResult",
    "redrive",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RedriveRequest:
    """Which dead letters ``msgen dlq redrive`` moves: ``message_ids``, or ``every`` one."""

    message_ids: tuple[str, ...] = ()
    every: bool = False
    dry_run: bool = False


Status = Literal[
    "redriven", "would-redrive", "unroutable", "no-origin", "no-exchange", "refused", "not-found"
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RedriveOutcome:
    """What happened to one dead letter (or to a requested id that was not there)."""

    message_id: str | None
    status: Status
    event_type: str | None = None
    exchange: str | None = None
    routing_key: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in {"redriven", "would-redrive"}

    def to_data(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "status": self.status,
            "ok": self.ok,
            "event_type": self.event_type,
            "exchange": self.exchange,
            "routing_key": self.routing_key,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class RedriveResult:
    """Every outcome, in queue order (then the ids that were not found)."""

    queue: DeadLetterQueue
    dry_run: bool
    outcomes: list[RedriveOutcome]

    @property
    def failed(self) -> list[RedriveOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]


class RedriveReporter(Protocol):
    """Where redrive progress goes (the CLI shows a rich progress bar)."""

    def start(self, total: int) -> None:
        """About ``total`` messages will be looked at."""

    def advance(self, outcome: RedriveOutcome) -> None:
        """One more message is done."""


class _Silent:
    def start(self, total: int) -> None:
        del total

    def advance(self, outcome: RedriveOutcome) -> None:
        del outcome


def redrive(
    queue: DeadLetterQueue, request: RedriveRequest, *, reporter: RedriveReporter | None = None
) -> RedriveResult:
    """Publish the chosen dead letters again where they came from, then take them off.

    ``every``: the messages in the queue when it starts (a message that fails again and
    comes back meanwhile waits for the next run). Named ids: every copy of each id.
    """
    if request.every == bool(request.message_ids):
        raise UsageError(
            "name the message ids to redrive, or pass --all (not both)",
            hint=f"msgen dlq list {queue.service} shows the ids",
        )
    work = _redrive(queue, request, reporter or _Silent())
    return RedriveResult(queue, request.dry_run, run(work, url=queue.url))


async def _redrive(
    queue: DeadLetterQueue, request: RedriveRequest, reporter: RedriveReporter
) -> list[RedriveOutcome]:
    wanted = dict.fromkeys(request.message_ids)
    outcomes: list[RedriveOutcome] = []

    def record(outcome: RedriveOutcome) -> None:
        outcomes.append(outcome)
        reporter.advance(outcome)

    async with connection(queue.url) as conn:
        count = await ready_count(conn, queue)
        reporter.start(count if request.every else len(wanted))
        publisher = _Publisher(conn)
        window = _Window(record)
        channel = await conn.channel()
        try:
            async for message in take(channel, queue, count):
                if request.every or message.message_id in wanted:
                    planned = await publisher.plan(message)
                    if planned.ok and not request.dry_run:
                        deliver = functools.partial(publisher.deliver, message, planned)
                        await window.add(message.message_id, deliver)
                    else:
                        await window.add(None, functools.partial(_done, planned))
            await window.drain()
        finally:
            await window.cancel()
            await close_quietly(channel)  # what was not acknowledged goes back, in its place
            await publisher.close()
    found = {outcome.message_id for outcome in outcomes}
    for message_id in wanted:
        if message_id not in found:
            record(
                RedriveOutcome(
                    message_id=message_id, status="not-found", detail=f"not in {queue.name}"
                )
            )
    return outcomes


WINDOW = 32
"""Copies waiting for their confirms at once (a persistent message's confirm waits for the
broker's disk; one at a time, a redrive would wait for each in turn)."""


class _Window:
    """Redrives run concurrently, up to WINDOW; their outcomes are recorded in queue order."""

    def __init__(self, record: Callable[[RedriveOutcome], None]) -> None:
        self._record = record
        self._running: deque[tuple[str | None, asyncio.Task[RedriveOutcome]]] = deque()

    async def add(
        self, message_id: str | None, work: Callable[[], Coroutine[Any, Any, RedriveOutcome]]
    ) -> None:
        """Start ``work()``; tasks start (so publish) in the order they are added.

        aiormq matches a returned (unroutable) message to its publish by message id, so
        two copies of one ``message_id`` are never in flight together (None: no matter).
        """
        while self._running and (
            len(self._running) >= WINDOW
            or (message_id is not None and any(message_id == id_ for id_, _ in self._running))
        ):
            await self._finish_oldest()
        self._running.append((message_id, asyncio.ensure_future(work())))

    async def drain(self) -> None:
        while self._running:
            await self._finish_oldest()

    async def cancel(self) -> None:
        """Stop what is still running (after a failure): those dead letters stay."""
        tasks = [task for _, task in self._running]
        self._running.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _finish_oldest(self) -> None:
        _, task = self._running.popleft()
        self._record(await task)


class _Publisher:
    """Plans each copy in queue order, then publishes it with a confirm (many at once).

    The copies go out on one channel with publisher confirms, opened for the first and
    again after RabbitMQ closed it.
    """

    def __init__(self, conn: AbstractConnection) -> None:
        self._conn = conn
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, bool] = {}

    async def plan(self, message: AbstractIncomingMessage) -> RedriveOutcome:
        """Where the copy would go ("would-redrive"), or why it cannot."""
        letter = read_dead_letter(message)
        planned = RedriveOutcome(
            message_id=letter.message_id, status="would-redrive", event_type=letter.event_type
        )
        origin = letter.origin
        if origin is None:
            detail = "no x-original-exchange/x-original-routing-key (or x-death) headers"
            return replace(planned, status="no-origin", detail=detail)
        exchange, routing_key = origin
        planned = replace(planned, exchange=exchange, routing_key=routing_key)
        if exchange not in self._exchanges:
            self._exchanges[exchange] = await exchange_exists(self._conn, exchange)
        if not self._exchanges[exchange]:
            return replace(planned, status="no-exchange", detail=f"no exchange {exchange!r}")
        if self._channel is None or self._channel.is_closed:
            self._channel = await self._conn.channel(publisher_confirms=True, on_return_raises=True)
        return planned

    async def deliver(
        self, message: AbstractIncomingMessage, planned: RedriveOutcome
    ) -> RedriveOutcome:
        """Publish the copy and, once RabbitMQ confirmed it, acknowledge the dead letter.

        Nothing waits before the publish itself, so copies go out in the order their
        deliveries start.
        """
        from aiormq.exceptions import AMQPChannelError, DeliveryError, PublishError

        channel = self._channel
        assert channel is not None  # opened by plan()
        exchange = planned.exchange or ""
        target = (
            channel.default_exchange
            if exchange == ""
            else await channel.get_exchange(exchange, ensure=False)
        )
        try:
            await target.publish(
                _copy(message),
                routing_key=planned.routing_key or "",
                mandatory=True,
                timeout=OPERATION_TIMEOUT,
            )
        except PublishError:
            detail = "no queue is bound for its routing key (RabbitMQ returned it)"
            return replace(planned, status="unroutable", detail=detail)
        except DeliveryError as exc:
            return replace(planned, status="refused", detail=f"RabbitMQ refused it: {exc}")
        except AMQPChannelError as exc:
            detail = f"RabbitMQ closed the channel: {exc}"
            return replace(planned, status="refused", detail=detail)
        await message.ack()
        return replace(planned, status="redriven")

    async def close(self) -> None:
        if self._channel is not None:
            await close_quietly(self._channel)


async def _done(outcome: RedriveOutcome) -> RedriveOutcome:
    return outcome


def _copy(message: AbstractIncomingMessage) -> Message:
    """The message to publish again: as it was first published, persistent."""
    import aio_pika

    return aio_pika.Message(
        message.body,
        headers={
            name: publishable(value)
            for name, value in (message.headers or {}).items()
            if not dead_lettering_header(name)
        },
        message_id=message.message_id,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        type=message.type,
        correlation_id=message.correlation_id,
        app_id=message.app_id,
        reply_to=message.reply_to,
        priority=message.priority,
        timestamp=message.timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
