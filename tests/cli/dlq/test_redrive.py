"""``msgen dlq redrive``: copies go back where they came from; a dead letter leaves only after.

The copies are consumed from billing's own queue and compared with what was first
published: same message id, body, content type and headers (without what dead-lettering
added), persistent.
"""

from __future__ import annotations

import json

import aio_pika
import pytest

from msgen.dlq import DeadLetterQueue, dead_letter_queue
from msgen.errors import BrokerError
from msgen.redrive import RedriveOutcome, RedriveRequest, redrive
from msgen.workspace import load_workspace
from tests.cli.dlq.conftest import EVENT, Letter, System, without_dead_lettering
from tests.clikit import msgen
from tests.servicekit import BROKER_URL

pytestmark = pytest.mark.services


def assert_restored(message: aio_pika.abc.AbstractIncomingMessage, letter: Letter) -> None:
    assert message.message_id == letter.message_id
    assert message.body == letter.body
    assert message.content_type == "application/json"
    assert message.type == EVENT
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.routing_key == EVENT
    assert dict(message.headers) == letter.headers
    assert without_dead_lettering(dict(message.headers)) == letter.headers


def test_redrive_one_id_then_all_moves_them_to_the_original_queue(system: System) -> None:
    letters = system.dead_letter(4)
    chosen = letters[2]

    code, out, err = msgen("dlq", "redrive", "billing", chosen.message_id, "--broker", BROKER_URL)

    assert code == 0, err
    assert "redriven" in out
    assert f"Redrove 1 of 1 from {system.dlq}" in out
    (moved,) = system.drain(system.queue)
    assert_restored(moved, chosen)
    assert system.count(system.dlq) == 3

    code, out, err = msgen("dlq", "redrive", "billing", "--all")

    assert code == 0, err
    assert f"Redrove 3 of 3 from {system.dlq}" in out
    assert system.count(system.dlq) == 0
    rest = [letter for letter in letters if letter is not chosen]
    moved_rest = system.drain(system.queue)
    assert [m.message_id for m in moved_rest] == [letter.message_id for letter in rest]
    for message, letter in zip(moved_rest, rest, strict=True):
        assert_restored(message, letter)


def test_redrive_of_many_reports_the_count_and_moves_every_one(system: System) -> None:
    letters = system.dead_letter(60)

    code, out, err = msgen("dlq", "redrive", "billing", "--all")

    assert code == 0, err
    assert f"Redrove 60 of 60 from {system.dlq}" in out
    assert "redriven" not in out  # beyond 20 messages, a line for the failures only
    assert system.count(system.dlq) == 0
    moved = system.drain(system.queue)
    assert [m.message_id for m in moved] == [letter.message_id for letter in letters]


def test_redrive_dry_run_publishes_and_removes_nothing(system: System) -> None:
    letters = system.dead_letter(2)

    code, out, err = msgen("dlq", "redrive", "billing", "--all", "--dry-run")

    assert code == 0, err
    assert out.count("would-redrive") == 2
    assert f"{system.exchange} {EVENT}" in out
    assert "nothing published or removed" in out
    assert system.count(system.queue) == 0
    left = system.drain(system.dlq)
    assert [m.message_id for m in left] == [letter.message_id for letter in letters]


def test_an_unroutable_message_stays_in_the_dlq_and_the_exit_code_is_1(system: System) -> None:
    (good,) = system.dead_letter(1)
    (lost,) = system.dead_letter(1, routing_key="orders.order_nobody_consumes")
    (gone,) = system.dead_letter(1, exchange=f"{system.name}.no-such-exchange")

    code, out, err = msgen("dlq", "redrive", "billing", "--all", "--json")

    assert code == 1
    assert err == ""
    data = json.loads(out)
    assert (data["redriven"], data["failed"]) == (1, 2)
    status = {m["message_id"]: m["status"] for m in data["messages"]}
    assert status == {
        good.message_id: "redriven",
        lost.message_id: "unroutable",
        gone.message_id: "no-exchange",
    }
    assert [m.message_id for m in system.drain(system.queue)] == [good.message_id]
    left = system.drain(system.dlq)
    assert [m.message_id for m in left] == [lost.message_id, gone.message_id]
    # The dead letters that stay are untouched: their failure headers are still there.
    assert all("x-failure-reason" in m.headers for m in left)


def test_unroutable_in_text_output_names_the_message_and_exits_1(system: System) -> None:
    (lost,) = system.dead_letter(1, routing_key="orders.order_nobody_consumes")

    code, out, err = msgen("dlq", "redrive", "billing", lost.message_id)

    assert code == 1
    assert "unroutable" in out
    assert lost.message_id in out
    assert err.startswith("error: 1 could not be redriven")
    assert system.count(system.dlq) == 1


def test_redrive_of_an_id_that_is_not_there_exits_1_and_moves_the_others(
    system: System,
) -> None:
    (letter,) = system.dead_letter(1)

    code, out, err = msgen("dlq", "redrive", "billing", letter.message_id, "missing-id", "--json")

    assert code == 1
    assert err == ""
    data = json.loads(out)
    assert [(m["message_id"], m["status"]) for m in data["messages"]] == [
        (letter.message_id, "redriven"),
        ("missing-id", "not-found"),
    ]
    assert system.count(system.dlq) == 0
    assert system.count(system.queue) == 1


def test_redrive_json_is_valid(system: System) -> None:
    letters = system.dead_letter(2)

    code, out, err = msgen("dlq", "redrive", "billing", "--all", "--json")

    assert code == 0, err
    data = json.loads(out)
    assert data["service"] == "billing"
    assert data["queue"] == system.dlq
    assert data["dry_run"] is False
    assert (data["redriven"], data["failed"]) == (2, 0)
    assert [m["message_id"] for m in data["messages"]] == [lt.message_id for lt in letters]
    assert all(m["exchange"] == system.exchange for m in data["messages"])
    assert all(m["routing_key"] == EVENT for m in data["messages"])


def test_redrive_of_a_message_rabbitmq_dead_lettered_uses_its_x_death(system: System) -> None:
    letter = system.reject_into_dlq()

    code, _, err = msgen("dlq", "redrive", "billing", "--all")

    assert code == 0, err
    (moved,) = system.drain(system.queue)
    assert moved.message_id == letter.message_id
    assert moved.body == letter.body
    assert dict(moved.headers) == letter.headers


@pytest.mark.parametrize(
    "args",
    [["billing"], ["billing", "some-id", "--all"]],
    ids=["neither ids nor --all", "both"],
)
def test_redrive_needs_ids_or_all_but_not_both(system: System, args: list[str]) -> None:
    system.dead_letter(1)

    code, _, err = msgen("dlq", "redrive", *args)

    assert code == 2
    assert err.startswith("error: name the message ids to redrive, or pass --all")
    assert system.count(system.dlq) == 1


class Recorder:
    """A RedriveReporter that keeps what it is told (and can fail, like a crash)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.total: int | None = None
        self.outcomes: list[RedriveOutcome] = []
        self.fail_after = fail_after

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, outcome: RedriveOutcome) -> None:
        self.outcomes.append(outcome)
        if self.fail_after is not None and len(self.outcomes) >= self.fail_after:
            raise RuntimeError("crash")


def the_queue(system: System) -> DeadLetterQueue:
    return dead_letter_queue(load_workspace(system.root / "msgen.yaml").model, "billing")


def test_redrive_reports_its_progress(system: System) -> None:
    system.dead_letter(3)
    recorder = Recorder()

    result = redrive(the_queue(system), RedriveRequest(every=True), reporter=recorder)

    assert recorder.total == 3
    assert [o.status for o in recorder.outcomes] == ["redriven"] * 3
    assert recorder.outcomes == result.outcomes


def assert_nothing_lost(ids: list[str], moved: list[str], left: list[str]) -> None:
    """Every id is in billing's queue or still in the DLQ (or both: a duplicate), in order."""
    assert set(moved) | set(left) == set(ids)
    assert moved == ids[: len(moved)]  # copies go out in queue order
    assert left == [message_id for message_id in ids if message_id in set(left)]


def test_a_crash_part_way_loses_nothing_and_keeps_the_order(system: System) -> None:
    ids = [letter.message_id for letter in system.dead_letter(50)]

    with pytest.raises(RuntimeError, match="crash"):
        redrive(the_queue(system), RedriveRequest(every=True), reporter=Recorder(fail_after=2))

    moved = [m.message_id for m in system.drain(system.queue)]
    left = [m.message_id for m in system.drain(system.dlq)]
    assert len(moved) >= 2  # the two reported as redriven, at least
    assert left  # the crash came long before the end
    assert_nothing_lost(ids, moved, left)


def test_a_lost_acknowledgement_leaves_a_duplicate_not_a_loss(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [letter.message_id for letter in system.dead_letter(4)]
    ack = aio_pika.IncomingMessage.ack

    async def ack_but_the_second(self: aio_pika.IncomingMessage, multiple: bool = False) -> None:
        if self.message_id == ids[1]:
            raise ConnectionError("connection reset by peer")
        await ack(self, multiple=multiple)

    monkeypatch.setattr(aio_pika.IncomingMessage, "ack", ack_but_the_second)

    with pytest.raises(BrokerError, match="lost the connection"):
        redrive(the_queue(system), RedriveRequest(every=True))
    monkeypatch.undo()

    # The second was published and confirmed but not removed: it is in both queues, and
    # the consumer skips its second delivery by its message id.
    moved = [m.message_id for m in system.drain(system.queue)]
    left = [m.message_id for m in system.drain(system.dlq)]
    assert ids[1] in moved
    assert ids[1] in left
    assert_nothing_lost(ids, moved, left)
