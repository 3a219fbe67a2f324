"""``msgen broker declare|definitions`` against the real RabbitMQ (and ``rabbitmqctl``).

Each test's workspace has a unique system name, so the exchange and queues are its own
(deleted afterwards). The workspace is the dlq tests' one: orders publishes
``orders.order_created``, billing consumes it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from msgen.topology import definitions, system_topology, unconsumed_env, unconsumed_events
from msgen.workspace import Workspace
from tests.cli.dlq.conftest import EVENT, System, _on_channel, workspace_yaml
from tests.clikit import msgen
from tests.conftest import require_service
from tests.servicekit import BROKER_URL


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    """A workspace (cwd) with nothing declared on the broker yet."""
    require_service("RabbitMQ", "127.0.0.1", 5672)
    monkeypatch.delenv("BROKER_URL", raising=False)
    name = f"broker-{uuid.uuid4().hex[:12]}"
    (tmp_path / "msgen.yaml").write_text(workspace_yaml(name))
    monkeypatch.chdir(tmp_path)
    made = System(name, tmp_path)
    try:
        yield made
    finally:
        made.delete()


def queue_state(name: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of ``name``; None when it does not exist."""
    found: list[tuple[int, int] | None] = []

    async def work(channel: aio_pika.abc.AbstractChannel) -> None:
        try:
            declared = await channel.declare_queue(name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            found.append(None)
            return
        result = declared.declaration_result
        found.append((int(result.message_count or 0), int(result.consumer_count or 0)))

    _on_channel(work)
    return found[0]


def publish(exchange: str, routing_key: str, count: int) -> None:
    async def work(channel: aio_pika.abc.AbstractChannel) -> None:
        target = await channel.get_exchange(exchange)
        for _ in range(count):
            message = aio_pika.Message(b"{}", message_id=str(uuid.uuid4()))
            await target.publish(message, routing_key=routing_key, mandatory=True)

    _on_channel(work, confirms=True)


def test_declare_makes_the_consumer_queue_that_events_then_wait_in(fresh: System) -> None:
    code, out, err = msgen("broker", "declare")

    assert code == 0, err
    assert fresh.queue in out and "created" in out
    # Events published now, before billing ever ran, wait in its queue.
    publish(fresh.exchange, EVENT, 3)
    assert queue_state(fresh.queue) == (3, 0)
    assert queue_state(fresh.dlq) == (0, 0)
    publish(fresh.dlx, "anything", 1)  # the dead-letter pair is bound
    assert queue_state(fresh.dlq) == (1, 0)

    code, out, err = msgen("broker", "declare", "--json")

    assert code == 0, err
    data = json.loads(out)
    assert data["exchange"] == fresh.exchange
    [queue] = data["queues"]
    assert queue["queue"] == fresh.queue
    assert queue["events"] == [EVENT]
    assert (queue["created"], queue["messages"]) == (False, 3)  # left as it was
    assert queue["arguments"] == {
        "x-dead-letter-exchange": fresh.dlx,
        "x-single-active-consumer": True,
    }


def test_a_queue_with_other_arguments_is_one_line_and_exit_1(fresh: System) -> None:
    async def older(channel: aio_pika.abc.AbstractChannel) -> None:
        await channel.queue_delete(fresh.queue)
        await channel.declare_queue(fresh.queue, durable=True)  # no arguments at all

    _on_channel(older)
    code, out, err = msgen("broker", "declare")

    assert code == 1
    assert out == ""
    assert f"error: RabbitMQ refused queue {fresh.queue} of billing" in err
    assert f"rabbitmqctl delete_queue {fresh.queue}" in err
    assert "Traceback" not in err


def test_an_unreachable_broker_is_one_line(fresh: System) -> None:
    code, _, err = msgen("broker", "declare", "--broker", "amqp://guest:guest@127.0.0.1:1/")

    assert code == 1
    assert err.startswith("error: cannot reach RabbitMQ at amqp://guest@127.0.0.1:1/")
    assert len(err.strip().splitlines()) == 2  # the error and its hint


def test_definitions_import_into_rabbitmq_as_declare_makes_them(fresh: System) -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.skip("rabbitmqctl is not installed")
    code, out, err = msgen("broker", "definitions")
    assert code == 0, err
    # The node reads the file itself (as its own user): not in pytest's private directory.
    handle, name = tempfile.mkstemp(suffix=".json")
    try:
        os.write(handle, out.encode())
        os.close(handle)
        os.chmod(name, 0o644)
        subprocess.run([ctl, "import_definitions", name], check=True, capture_output=True)
    finally:
        os.unlink(name)

    # The import is asynchronous.
    for _ in range(100):
        if queue_state(fresh.queue) is not None and queue_state(fresh.dlq) is not None:
            break
        time.sleep(0.1)
    publish(fresh.exchange, EVENT, 2)
    assert queue_state(fresh.queue) == (2, 0)
    # Declared again with the services' arguments: the same queue, accepted.
    code, out, err = msgen("broker", "declare", "--json")
    assert code == 0, err
    assert json.loads(out)["queues"][0]["created"] is False


def test_definitions_hold_every_consumer_and_nothing_else() -> None:
    workspace = Workspace.model_validate(
        {
            "name": "shop",
            "services": {
                "orders": {"path": "orders", "port": 8001, "broker": "rabbitmq"},
                "billing": {
                    "path": "billing",
                    "port": 8002,
                    "broker": "rabbitmq",
                    "consumes": ["orders.order_updated", "orders.order_created"],
                },
                "mail": {"path": "mail", "port": 8003, "broker": "none"},
                "gateway": {"kind": "gateway", "path": "gateway", "port": 8000, "db": "none"},
            },
        }
    )
    data: dict[str, Any] = definitions(system_topology(workspace))

    assert [(e["name"], e["type"]) for e in data["exchanges"]] == [
        ("shop.events", "topic"),
        ("shop.billing.dlx", "fanout"),
    ]
    assert [(q["name"], q["arguments"]) for q in data["queues"]] == [
        (
            "shop.billing",
            {"x-dead-letter-exchange": "shop.billing.dlx", "x-single-active-consumer": True},
        ),
        ("shop.billing.dlq", {}),
    ]
    assert [(b["source"], b["destination"], b["routing_key"]) for b in data["bindings"]] == [
        ("shop.events", "shop.billing", "orders.order_created"),
        ("shop.events", "shop.billing", "orders.order_updated"),
        ("shop.billing.dlx", "shop.billing.dlq", ""),
    ]
    assert all(item["vhost"] == "/" for kind in data.values() for item in kind)


def test_a_system_without_consumers_declares_only_its_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    name = f"broker-{uuid.uuid4().hex[:12]}"
    (tmp_path / "msgen.yaml").write_text(
        f"schema: 1\nname: {name}\nservices:\n"
        "  orders: {path: orders, port: 8001, broker: rabbitmq}\n"
    )
    monkeypatch.chdir(tmp_path)
    try:
        code, out, err = msgen("broker", "declare", "--broker", BROKER_URL)
        assert code == 0, err
        assert "no service consumes events" in out
    finally:

        async def delete(channel: aio_pika.abc.AbstractChannel) -> None:
            await channel.exchange_delete(f"{name}.events")

        _on_channel(delete)


def test_the_events_nobody_consumes_are_published_without_waiting() -> None:
    workspace = Workspace.model_validate(
        {
            "name": "shop",
            "services": {
                "orders": {
                    "path": "orders",
                    "port": 8001,
                    "broker": "rabbitmq",
                    "publishes": ["orders.order_created", "orders.order_deleted"],
                },
                "billing": {
                    "path": "billing",
                    "port": 8002,
                    "broker": "rabbitmq",
                    "consumes": ["orders.order_created"],
                },
                "mail": {"path": "mail", "port": 8003, "broker": "none"},
            },
        }
    )
    assert unconsumed_events(workspace, "orders") == ["orders.order_deleted"]
    assert unconsumed_env(workspace, "orders") == {
        "OUTBOX_UNCONSUMED_EVENTS": '["orders.order_deleted"]'
    }
    assert unconsumed_env(workspace, "mail") == {}
