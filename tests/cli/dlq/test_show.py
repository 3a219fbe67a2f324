"""``msgen dlq show``: one dead letter, every header and the body; it stays in the queue."""

from __future__ import annotations

import json

import pytest

from tests.cli.dlq.conftest import EVENT, System
from tests.clikit import msgen

pytestmark = pytest.mark.services


def test_show_prints_every_header_and_the_body_and_leaves_the_message(system: System) -> None:
    letters = system.dead_letter(3, failure={"x-failure-kind": "poison"})
    chosen = letters[1]

    code, out, err = msgen("dlq", "show", "billing", chosen.message_id)

    assert code == 0, err
    assert chosen.message_id in out
    assert "application/json" in out
    for name in (
        *chosen.headers,
        "x-failure-reason",
        "x-failure-attempts",
        "x-failure-kind",
        "x-original-exchange",
        "x-original-routing-key",
        "x-failed-at",
    ):
        assert name in out
    assert chosen.headers["aggregate-id"] in out
    assert '"customer": "Ada"' in out
    left = system.drain(system.dlq)
    assert [m.message_id for m in left] == [letter.message_id for letter in letters]


def test_show_json_is_valid_with_headers_and_body(system: System) -> None:
    (letter,) = system.dead_letter(1)

    code, out, err = msgen("dlq", "show", "billing", letter.message_id, "--json")

    assert code == 0, err
    data = json.loads(out)
    assert data["message_id"] == letter.message_id
    assert data["queue"] == system.dlq
    assert data["content_type"] == "application/json"
    assert data["properties"]["type"] == EVENT
    for name, value in letter.headers.items():
        assert data["headers"][name] == value
    assert data["headers"]["x-failure-attempts"] == 3
    assert data["failure"]["attempts"] == 3
    assert data["body"] == letter.body.decode()
    assert data["body_encoding"] == "utf-8"
    assert data["body_json"] == json.loads(letter.body)
    assert system.count(system.dlq) == 1


def test_show_of_an_id_that_is_not_there_is_one_line_and_exit_1(system: System) -> None:
    system.dead_letter(1)

    code, out, err = msgen("dlq", "show", "billing", "no-such-id")

    assert code == 1
    assert out == ""
    assert err.startswith("error: no message 'no-such-id' in ")
    assert "Traceback" not in err
    assert "msgen dlq list billing" in err
    assert system.count(system.dlq) == 1


def test_an_id_with_rich_markup_is_shown_as_typed(system: System) -> None:
    code, _, err = msgen("dlq", "show", "billing", "[red]x[/red]")

    assert code == 1
    assert "'[red]x[/red]'" in err
