"""msgen.dlq and msgen.amqp without a broker: where the dead letters are, how they read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from msgen.amqp import DEFAULT_BROKER_URL, broker_url, json_value, publishable, redacted
from msgen.dlq import DeadLetter, dead_letter_queue, dead_lettering_header
from msgen.errors import UnknownServiceError, UsageError
from msgen.workspace import Workspace


def shop() -> Workspace:
    return Workspace.model_validate(
        {
            "name": "shop",
            "services": {
                "orders": {"path": "orders", "port": 8001, "broker": "rabbitmq"},
                "billing": {
                    "path": "billing",
                    "port": 8002,
                    "broker": "rabbitmq",
                    "consumes": ["orders.order_created"],
                },
                "gateway": {"kind": "gateway", "path": "gateway", "port": 8000, "db": "none"},
            },
        }
    )


def test_the_dead_letter_queue_is_named_after_the_system_and_the_service() -> None:
    queue = dead_letter_queue(shop(), "billing")

    assert (queue.service, queue.queue, queue.name) == (
        "billing",
        "shop.billing",
        "shop.billing.dlq",
    )
    assert queue.url == DEFAULT_BROKER_URL


def test_the_broker_url_given_is_used() -> None:
    queue = dead_letter_queue(shop(), "billing", url="amqps://u:p@rabbit.internal:5671/prod")

    assert queue.url == "amqps://u:p@rabbit.internal:5671/prod"


@pytest.mark.parametrize(
    ("service", "error"),
    [("nope", UnknownServiceError), ("orders", UsageError), ("gateway", UsageError)],
)
def test_only_a_consuming_service_has_a_dead_letter_queue(
    service: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        dead_letter_queue(shop(), service)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "amqp://", "amqp://host:port/", "127.0.0.1:5672"]
)
def test_a_broker_url_must_be_amqp_with_a_host(url: str) -> None:
    with pytest.raises(UsageError, match="bad broker URL"):
        broker_url(url)


def test_an_empty_broker_url_means_the_default() -> None:
    assert broker_url("") == broker_url(None) == DEFAULT_BROKER_URL


def test_messages_never_show_the_password() -> None:
    assert redacted("amqp://guest:s3cret@host:5672/vh") == "amqp://guest@host:5672/vh"
    assert redacted("amqp://host/") == "amqp://host/"


def test_dead_lettering_headers_are_the_ones_redrive_leaves_out() -> None:
    added = [
        "x-failure-reason",
        "x-failure-attempts",
        "x-failure-kind",
        "x-failed-at",
        "x-original-exchange",
        "x-original-routing-key",
        "x-death",
        "x-first-death-reason",
        "x-last-death-queue",
    ]
    kept = ["event-type", "occurred-at", "aggregate-id", "schema-version", "traceparent"]
    assert all(dead_lettering_header(name) for name in added)
    assert not any(dead_lettering_header(name) for name in kept)


def test_a_dead_letter_reads_its_failure_and_origin_from_the_consumers_headers() -> None:
    letter = DeadLetter(
        message_id="m1",
        body=b'{"id": 1}',
        headers={
            "event-type": "orders.order_created",
            "x-failure-reason": "ValueError: boom",
            "x-failure-attempts": 3,
            "x-failure-kind": "poison",
            "x-failed-at": "2026-01-02T03:04:05+00:00",
            "x-original-exchange": "shop.events",
            "x-original-routing-key": "orders.order_created",
        },
    )

    assert letter.failure == {"reason": "ValueError: boom", "attempts": 3, "kind": "poison"}
    assert (letter.reason, letter.attempts) == ("ValueError: boom", 3)
    assert letter.failed_at == "2026-01-02T03:04:05+00:00"
    assert letter.origin == ("shop.events", "orders.order_created")
    assert letter.body_json() == {"id": 1}


def test_a_message_rabbitmq_dead_lettered_reads_its_origin_from_x_death() -> None:
    letter = DeadLetter(
        message_id="m1",
        body=b"\xff\xfe",
        headers={
            "x-death": [
                {
                    "reason": "rejected",
                    "exchange": "shop.events",
                    "routing-keys": ["orders.order_created"],
                    "time": "2026-01-02T03:04:05+00:00",
                }
            ],
            "x-first-death-reason": "rejected",
        },
        properties={"type": "orders.order_created"},
    )

    assert letter.origin == ("shop.events", "orders.order_created")
    assert letter.reason == "rejected"
    assert letter.failed_at == "2026-01-02T03:04:05+00:00"
    assert letter.event_type == "orders.order_created"
    assert letter.body_text() == ("//4=", "base64")
    assert letter.body_json() is None


def test_a_dead_letter_without_origin_headers_has_no_origin() -> None:
    assert DeadLetter(message_id=None, body=b"", headers={}).origin is None


def test_header_values_become_json() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert json_value(
        {"t": moment, "d": Decimal("1.5"), "b": b"text", "raw": b"\xff", "l": [1, (2,)]}
    ) == {
        "t": "2026-01-02T03:04:05+00:00",
        "d": "1.5",
        "b": "text",
        "raw": "base64:/w==",
        "l": [1, [2]],
    }


def test_header_values_publish_again_as_they_came() -> None:
    assert publishable({"a": b"\xff", "n": [b"x", 1], "s": "s"}) == {
        "a": bytearray(b"\xff"),
        "n": [bytearray(b"x"), 1],
        "s": "s",
    }
