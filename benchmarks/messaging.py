"""Messaging figures of generated services on the local RabbitMQ and PostgreSQL.

1. Outbox relay throughput: 1,000 events committed to the outbox of ``orders`` while it has
   no broker, then drained by the relay (publisher confirms, persistent delivery) into a
   bound queue: events/s from commit to broker confirm.
2. End-to-end latency: 1,000 orders POSTed one after another to ``orders`` (relay running)
   and consumed by ``billing --consumes orders.order_created``: time from the POST to the
   committed effect in billing, p50/p99/max.
3. What per-entity order costs the consumer: 1,000 events waiting in billing's queue when
   it starts, about 1,000 different orders (handled concurrently, up to BROKER_PREFETCH at
   a time) and then about 10 orders (each order's events take turns): events/s from start
   to the last effect committed, and the ratio of the two.

    python benchmarks/messaging.py [--events N]

Needs PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672 (guest/guest).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import brokerkit  # noqa: E402
from tests.servicekit import (  # noqa: E402
    BROKER_URL,
    Server,
    install,
    render,
    run,
    throwaway_database,
)

DRAIN = """
import asyncio, json, sys, time
from faststream.rabbit import RabbitQueue
from orders.messaging import create_broker, topology
from orders.models import OutboxMessage
from orders.outbox import OutboxRelay
from orders.db import create_engine, create_sessionmaker
from orders.settings import Settings
from sqlalchemy import func, select

async def main():
    settings = Settings(_env_file=None, database_url=sys.argv[1], broker_url=sys.argv[2],
                        broker_exchange=sys.argv[3], db_migrate_on_start=False)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    shape = topology(settings)
    broker = create_broker(settings, sessions)
    await broker.connect()
    exchange = await broker.declare_exchange(shape.exchange)
    queue = await broker.declare_queue(RabbitQueue(sys.argv[4], durable=True))
    await queue.bind(exchange, routing_key="#")
    relay = OutboxRelay(sessions, shape.exchange, batch_size=settings.outbox_batch_size)
    started = time.perf_counter()
    sent = 0
    while (batch := await relay.publish_pending(broker)):
        sent += batch
    took = time.perf_counter() - started
    async with sessions() as session:
        pending = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    print(json.dumps({"sent": sent, "seconds": took, "pending": pending,
                      "in_queue": (await queue.declare()).message_count}))
    await broker.stop()
    await engine.dispose()

asyncio.run(main())
"""

PUBLISH = """
import asyncio, json, sys, uuid
from datetime import UTC, datetime
import aio_pika

async def main():
    url, exchange_name, queue_name, events, entities = sys.argv[1:6]
    events, entities = int(events), int(entities)
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(exchange_name, "topic", durable=True)
        # As billing declares it (messaging.Topology.queue).
        queue = await channel.declare_queue(queue_name, durable=True, arguments={
            "x-dead-letter-exchange": f"{queue_name}.dlx", "x-single-active-consumer": True})
        await queue.bind(exchange, "orders.order_created")
        ids = [str(uuid.uuid4()) for _ in range(entities)]
        now = datetime.now(UTC).isoformat()
        for number in range(events):
            order, version = ids[number % entities], number // entities + 1
            body = {"id": order, "name": f"order {number}", "description": None,
                    "status": "draft", "created_at": now, "updated_at": now,
                    "version": version}
            await exchange.publish(aio_pika.Message(
                json.dumps(body).encode(), message_id=str(uuid.uuid4()),
                content_type="application/json", delivery_mode=2,
                headers={"event-type": "orders.order_created", "occurred-at": now,
                         "schema-version": "1"}), routing_key="orders.order_created")

asyncio.run(main())
"""

APPLIED = """
import asyncio, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    count, span = await conn.fetchrow(
        "SELECT count(*), extract(epoch from max(received_at) - min(received_at)) "
        "FROM received_events")
    print(count, span or 0)
    await conn.close()
asyncio.run(main())
"""

EFFECTS = """
import asyncio, json, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    rows = await conn.fetch(
        "SELECT aggregate_id, extract(epoch from received_at) AS t FROM received_events")
    await conn.close()
    print(json.dumps({r["aggregate_id"]: float(r["t"]) for r in rows}))
asyncio.run(main())
"""


def post_orders(base: str, count: int) -> dict[str, float]:
    """POST ``count`` orders one after another; their ids and wall-clock start times."""
    started: dict[str, float] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for number in range(count):
            at = time.time()
            response = client.post("/orders", json={"name": f"order {number}"})
            response.raise_for_status()
            started[response.json()["id"]] = at
    return started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1000)
    events = parser.parse_args().events
    name = f"msgen-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="msgen-bench-") as scratch:
        root = Path(scratch)
        print("rendering and installing orders and billing ...", flush=True)
        orders_dir = render(root, "orders", db="postgres")
        billing_dir = render(root, "billing", db="postgres", consumes=("orders.order_created",))
        orders_py, billing_py = install(orders_dir), install(billing_dir)
        queues = [f"{name}.sink", f"{name}.billing", f"{name}.billing.dlq"]
        queues += [f"{name}.drain{n}" for n in (1, 2)] + [f"{name}.drain{n}.dlq" for n in (1, 2)]
        exchanges = [f"{name}.events", f"{name}.billing.dlx"]
        exchanges += [f"{name}.drain{n}.dlx" for n in (1, 2)]
        try:
            relay_figures(orders_dir, orders_py, name, events)
            latency_figures(orders_dir, orders_py, billing_dir, billing_py, name, events)
            distinct = drain_figures(
                billing_dir, billing_py, f"{name}.drain1", name, events, events
            )
            few = drain_figures(billing_dir, billing_py, f"{name}.drain2", name, events, 10)
            print(
                f"per-entity order: {events} events about 10 orders drain at "
                f"{few / distinct:.2f}x the rate of {events} events about {events} orders"
            )
        finally:
            brokerkit.delete(billing_py, queues=queues, exchanges=exchanges)


def relay_figures(orders_dir: Path, python: Path, name: str, events: int) -> None:
    with throwaway_database(python) as db:
        server = Server(orders_dir, python, "orders", {"DATABASE_URL": db, "BROKER_URL": ""})
        server.start()
        try:
            post_orders(server.base, events)
        finally:
            server.stop()
        proc = run(
            [str(python), "-c", DRAIN, db, BROKER_URL, f"{name}.events", f"{name}.sink"],
            cwd=orders_dir,
        )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rate = result["sent"] / result["seconds"]
    print(
        f"outbox relay: {result['sent']} events committed -> confirmed in "
        f"{result['seconds']:.2f} s = {rate:,.0f} events/s "
        f"(pending after: {result['pending']}, in the queue: {result['in_queue']})"
    )


def latency_figures(
    orders_dir: Path, orders_py: Path, billing_dir: Path, billing_py: Path, name: str, events: int
) -> None:
    with throwaway_database(orders_py) as orders_db, throwaway_database(orders_py) as billing_db:
        common = {"BROKER_URL": BROKER_URL, "BROKER_EXCHANGE": f"{name}.events"}
        billing = Server(
            billing_dir,
            billing_py,
            "billing",
            {**common, "DATABASE_URL": billing_db, "BROKER_QUEUE": f"{name}.billing"},
        )
        orders = Server(orders_dir, orders_py, "orders", {**common, "DATABASE_URL": orders_db})
        billing.start()
        try:
            deadline = time.monotonic() + 60
            while brokerkit.consumer_count(billing_py, f"{name}.billing") < 1:
                assert time.monotonic() < deadline, "billing did not subscribe"
                time.sleep(0.2)
            orders.start()
            try:
                started = post_orders(orders.base, events)
                url = billing_db.replace("postgresql+asyncpg://", "postgresql://")
                deadline = time.monotonic() + 300
                while True:
                    out = run([str(billing_py), "-c", EFFECTS, url], cwd=billing_dir).stdout
                    applied = json.loads(out)
                    if len(applied) >= events or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
            finally:
                orders.stop()
        finally:
            billing.stop()
    latencies = [(applied[key] - at) * 1000 for key, at in started.items() if key in applied]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"end to end (POST /orders -> billing effect committed), {len(latencies)}/{events} "
        f"events: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms, "
        f"mean {statistics.fmean(latencies):.1f} ms"
    )


def drain_figures(
    billing_dir: Path, python: Path, queue: str, name: str, events: int, entities: int
) -> float:
    """Events/s at which billing applies ``events`` already queued about ``entities``."""
    exchange = f"{name}.events"
    run(
        [str(python), "-c", PUBLISH, BROKER_URL, exchange, queue, str(events), str(entities)],
        cwd=billing_dir,
    )
    with throwaway_database(python) as db:
        url = db.replace("postgresql+asyncpg://", "postgresql://")
        billing = Server(
            billing_dir,
            python,
            "billing",
            {
                "DATABASE_URL": db,
                "BROKER_URL": BROKER_URL,
                "BROKER_EXCHANGE": exchange,
                "BROKER_QUEUE": queue,
            },
        )
        billing.start()
        try:
            deadline = time.monotonic() + 300
            while True:  # from the first effect committed to the last
                count, span = run([str(python), "-c", APPLIED, url], cwd=billing_dir).stdout.split()
                if int(count) >= events:
                    took = float(span)
                    break
                assert time.monotonic() < deadline, "billing did not apply every event"
                time.sleep(0.2)
        finally:
            billing.stop()
    rate = events / took
    print(
        f"consumer drain: {events} queued events about {entities} orders applied in "
        f"{took:.2f} s = {rate:,.0f} events/s"
    )
    return rate


if __name__ == "__main__":
    main()
