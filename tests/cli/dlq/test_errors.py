"""``msgen dlq`` refusals: one line (and a hint), an exit code, never a traceback."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from tests.cli.dlq.conftest import workspace_yaml
from tests.clikit import msgen
from tests.conftest import require_service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_error(err: str) -> str:
    """The error line of ``err``, checking that it is the only one and no traceback."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines, "no error printed"
    assert lines[0].startswith("error: ")
    assert all(line.startswith("hint: ") for line in lines[1:]), err
    assert len(lines) <= 2, err
    return lines[0]


@pytest.mark.parametrize("command", [["list"], ["show", "x"], ["redrive", "--all"]])
@pytest.mark.parametrize(
    ("service", "exit_code", "message"),
    [
        ("nope", 2, "error: unknown service 'nope'"),
        ("orders", 2, "error: orders consumes no events, so it has no dead-letter queue"),
        ("gateway", 2, "error: gateway is a gateway: it consumes no events"),
    ],
)
def test_a_service_without_a_dead_letter_queue_is_refused(
    offline: Path, command: list[str], service: str, exit_code: int, message: str
) -> None:
    verb, *rest = command
    code, out, err = msgen("dlq", verb, service, *rest)

    assert code == exit_code
    assert out == ""
    assert one_error(err).startswith(message)


@pytest.mark.parametrize("command", [["list"], ["show", "some-id"], ["redrive", "--all"]])
def test_an_unreachable_broker_is_one_line(offline: Path, command: list[str]) -> None:
    url = f"amqp://guest:secret@127.0.0.1:{free_port()}/"
    verb, *rest = command

    code, out, err = msgen("dlq", verb, "billing", *rest, "--broker", url)

    assert code == 1
    assert out == ""
    line = one_error(err)
    assert line.startswith("error: cannot reach RabbitMQ at amqp://guest@127.0.0.1:")
    assert "secret" not in err


def test_broker_url_comes_from_the_environment(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("BROKER_URL", f"amqp://guest:guest@127.0.0.1:{port}/")

    code, _, err = msgen("dlq", "list", "billing")

    assert code == 1
    assert f"127.0.0.1:{port}" in one_error(err)


def test_a_broker_url_that_is_not_amqp_is_a_usage_error(offline: Path) -> None:
    code, _, err = msgen("dlq", "list", "billing", "--broker", "http://127.0.0.1:5672/")

    assert code == 2
    assert one_error(err).startswith("error: bad broker URL")


@pytest.mark.services
def test_a_refused_login_is_one_line(offline: Path) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)

    code, _, err = msgen(
        "dlq", "list", "billing", "--broker", "amqp://guest:wrong-password@127.0.0.1:5672/"
    )

    assert code == 1
    assert one_error(err) == "error: RabbitMQ at amqp://guest@127.0.0.1:5672/ refused the login"


@pytest.mark.services
@pytest.mark.parametrize("command", [["list"], ["show", "some-id"], ["redrive", "--all"]])
def test_a_missing_dead_letter_queue_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    name = f"dlq-{uuid.uuid4().hex[:12]}"  # never declared on the broker
    (tmp_path / "msgen.yaml").write_text(workspace_yaml(name))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BROKER_URL", raising=False)
    verb, *rest = command

    code, out, err = msgen("dlq", verb, "billing", *rest)

    assert code == 1
    assert out == ""
    assert one_error(err).startswith(
        f"error: billing has no dead-letter queue '{name}.billing.dlq' on RabbitMQ"
    )
    assert "msgen dev up" in err


def test_outside_a_workspace_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    code, _, err = msgen("dlq", "list", "billing")

    assert code == 1
    assert one_error(err).startswith("error: no msgen.yaml in")
