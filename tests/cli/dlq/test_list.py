"""``msgen dlq list``: what is in the dead-letter queue, leaving every message in its place."""

from __future__ import annotations

import json

import pytest

from tests.cli.dlq.conftest import EVENT, System
from tests.clikit import msgen
from tests.servicekit import BROKER_URL

pytestmark = pytest.mark.services


def test_list_shows_every_dead_letter_and_leaves_them_all_in_order(system: System) -> None:
    letters = system.dead_letter(5, failure={"x-failure-kind": "poison"})
    before = system.count(system.dlq)

    code, out, err = msgen("dlq", "list", "billing", "--broker", BROKER_URL)

    assert code == 0, err
    for letter in letters:
        assert letter.message_id in out
    assert EVENT in out
    assert "PoisonMessageError" in out
    assert "poison" in out  # an x-failure-* header the table did not know of: its own column
    assert f"5 dead-lettered messages in {system.dlq}" in out
    assert before == system.count(system.dlq) == 5
    left = system.drain(system.dlq)
    assert [message.message_id for message in left] == [letter.message_id for letter in letters]
    assert [message.body for message in left] == [letter.body for letter in letters]


def test_list_twice_shows_the_same_messages_in_the_same_order(system: System) -> None:
    letters = system.dead_letter(3)
    ids = [letter.message_id for letter in letters]

    runs = [json.loads(msgen("dlq", "list", "billing", "--json")[1]) for _ in range(2)]

    assert [[m["message_id"] for m in run["messages"]] for run in runs] == [ids, ids]
    assert system.count(system.dlq) == 3


def test_list_json_is_valid_and_carries_the_failure_headers(system: System) -> None:
    letters = system.dead_letter(2, failure={"x-failure-kind": "transient"})

    code, out, err = msgen("dlq", "list", "billing", "--json", "--broker", BROKER_URL)

    assert code == 0, err
    data = json.loads(out)
    assert data["service"] == "billing"
    assert data["queue"] == system.dlq
    assert data["count"] == 2
    first = data["messages"][0]
    assert first["message_id"] == letters[0].message_id
    assert first["event_type"] == EVENT
    assert first["attempts"] == 3
    assert first["failure"]["kind"] == "transient"
    assert first["reason"].startswith("PoisonMessageError")
    assert first["original_exchange"] == system.exchange
    assert first["original_routing_key"] == EVENT
    assert first["failed_at"]


def test_list_keeps_the_message_id_whole_in_a_narrow_terminal(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    (letter,) = system.dead_letter(1)

    code, out, err = msgen("dlq", "list", "billing")

    assert code == 0, err
    assert letter.message_id in out
    assert "…" in out  # the reason is shortened instead


def test_list_of_an_empty_dead_letter_queue_says_so(system: System) -> None:
    code, out, err = msgen("dlq", "list", "billing")

    assert code == 0, err
    assert f"{system.dlq} is empty" in out
    code, out, _ = msgen("dlq", "list", "billing", "--json")
    assert json.loads(out) == {
        "service": "billing",
        "queue": system.dlq,
        "count": 0,
        "messages": [],
    }


def test_list_shows_a_message_rabbitmq_dead_lettered_itself(system: System) -> None:
    letter = system.reject_into_dlq()

    code, out, err = msgen("dlq", "list", "billing", "--json")

    assert code == 0, err
    (message,) = json.loads(out)["messages"]
    assert message["message_id"] == letter.message_id
    assert message["reason"] == "rejected"
    assert message["original_exchange"] == system.exchange
    assert message["original_routing_key"] == EVENT
