"""Drive RabbitMQ from tests: cut connections, publish raw messages, read and delete queues.

msgen's own environment has no AMQP client; these helpers run small aio-pika programs with
the python of a rendered service (which has FastStream, hence aio-pika), and rabbitmqctl
when it is on the PATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.servicekit import BROKER_URL, run

_PUBLISH = """
import asyncio, json, sys, aio_pika
async def main():
    url, exchange, routing_key, body, message_id, headers = sys.argv[1:7]
    conn = await aio_pika.connect(url)
    async with conn:
        channel = await conn.channel(publisher_confirms=True)
        ex = await channel.get_exchange(exchange)
        await ex.publish(aio_pika.Message(body.encode(), message_id=message_id,
            content_type="application/json", headers=json.loads(headers),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=routing_key)
asyncio.run(main())
"""

_DRAIN = """
import asyncio, json, sys, aio_pika
async def main():
    url, queue_name = sys.argv[1:3]
    conn = await aio_pika.connect(url)
    out = []
    async with conn:
        channel = await conn.channel()
        queue = await channel.get_queue(queue_name)
        while (message := await queue.get(fail=False)) is not None:
            headers = {k: (v.decode() if isinstance(v, bytes) else v)
                       for k, v in message.headers.items()}
            out.append({"message_id": message.message_id,
                        "body": message.body.decode(errors="replace"),
                        "headers": json.loads(json.dumps(headers, default=str))})
            await message.ack()
    print(json.dumps(out))
asyncio.run(main())
"""

_DELETE = """
import asyncio, sys, aio_pika
async def main():
    url, kinds_names = sys.argv[1], sys.argv[2:]
    conn = await aio_pika.connect(url)
    async with conn:
        for item in kinds_names:
            kind, name = item.split(":", 1)
            channel = await conn.channel()
            if kind == "queue":
                await channel.queue_delete(name)
            else:
                await channel.exchange_delete(name)
asyncio.run(main())
"""

_CONSUMERS = """
import asyncio, sys, aio_pika
async def main():
    url, queue_name = sys.argv[1:3]
    conn = await aio_pika.connect(url)
    async with conn:
        channel = await conn.channel()
        try:
            queue = await channel.declare_queue(queue_name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            print(-1, -1)
            return
        print(queue.declaration_result.consumer_count, queue.declaration_result.message_count)
asyncio.run(main())
"""


def publish_raw(
    python: Path,
    *,
    exchange: str,
    routing_key: str,
    body: str,
    message_id: str,
    headers: dict[str, str],
) -> None:
    args = [exchange, routing_key, body, message_id, json.dumps(headers)]
    run([str(python), "-c", _PUBLISH, BROKER_URL, *args], cwd=python.parent)


def drain(python: Path, queue: str) -> list[dict[str, object]]:
    """Take (and ack) every message in ``queue``."""
    proc = run([str(python), "-c", _DRAIN, BROKER_URL, queue], cwd=python.parent)
    return list(json.loads(proc.stdout))


def consumer_count(python: Path, queue: str) -> int:
    """Consumers on ``queue``; -1 when it does not exist."""
    proc = run([str(python), "-c", _CONSUMERS, BROKER_URL, queue], cwd=python.parent)
    return int(proc.stdout.split()[0])


def queue_depth(python: Path, queue: str) -> int:
    """Messages ready in ``queue``; -1 when it does not exist."""
    proc = run([str(python), "-c", _CONSUMERS, BROKER_URL, queue], cwd=python.parent)
    return int(proc.stdout.split()[1])


def delete(python: Path, *, queues: list[str], exchanges: list[str]) -> None:
    items = [f"queue:{q}" for q in queues] + [f"exchange:{e}" for e in exchanges]
    run([str(python), "-c", _DELETE, BROKER_URL, *items], cwd=python.parent)


def rabbitmqctl() -> str | None:
    """rabbitmqctl, when it is installed and may talk to the node."""
    found = shutil.which("rabbitmqctl")
    if found is None:
        return None
    probe = subprocess.run(
        [found, "-q", "status"], capture_output=True, text=True, timeout=60, check=False
    )
    return found if probe.returncode == 0 else None


def close_connections(ctl: str, name_part: str) -> int:
    """Close, from the broker side, every connection whose name contains ``name_part``."""
    listing = subprocess.run(
        [ctl, "-q", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pids = [
        line.split("\t", 1)[0]
        for line in listing.stdout.splitlines()
        if name_part in line and line.startswith("<")
    ]
    for pid in pids:
        subprocess.run(
            [ctl, "-q", "close_connection", pid, "msgen fault test"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    return len(pids)
