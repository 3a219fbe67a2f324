"""msgen doctor: real PostgreSQL/RabbitMQ, closed ports, protocol mismatches, exit codes."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from msgen import doctor
from msgen.cli import app
from tests.conftest import require_service
from tests.servicekit import free_port

runner = CliRunner()


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PGHOST", "PGPORT", "BROKER_URL", "CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONSUL_HTTP_ADDR", f"127.0.0.1:{free_port()}")


@pytest.fixture
def http_server_port() -> Iterator[int]:
    """A TCP server that answers like an HTTP server: neither PostgreSQL nor AMQP."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(64)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join()
    server.close()


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {check.name: check for check in checks}


@pytest.mark.services
@pytest.mark.usefixtures("isolated_env")
def test_real_postgres_and_rabbitmq_are_found() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("RabbitMQ", "127.0.0.1", 5672)
    checks = by_name(doctor.run_checks(doctor.DoctorOptions(timeout=2.0)))
    assert checks["postgres"].ok, checks["postgres"]
    assert checks["postgres"].found == "127.0.0.1:5432"
    assert checks["rabbitmq"].ok, checks["rabbitmq"]
    assert checks["python"].ok and checks["python"].required
    assert checks["templates"].ok
    assert list(checks) == list(doctor.CHECK_NAMES)


@pytest.mark.usefixtures("isolated_env")
def test_closed_ports_and_wrong_protocols_fail_with_a_fix(http_server_port: int) -> None:
    closed = free_port()
    checks = by_name(
        doctor.run_checks(
            doctor.DoctorOptions(
                postgres=f"postgresql://u:secret@127.0.0.1:{closed}/db",
                broker=f"127.0.0.1:{http_server_port}",
                timeout=1.0,
            ),
            which=lambda _: None,
        )
    )
    assert not checks["postgres"].ok
    assert checks["postgres"].found.startswith(f"not reachable at 127.0.0.1:{closed}")
    assert "secret" not in json.dumps(checks["postgres"].to_data())
    assert not checks["rabbitmq"].ok
    assert "does not speak AMQP" in checks["rabbitmq"].found
    assert not checks["consul"].ok
    for name in ("kubectl", "dot", "postgres", "rabbitmq", "consul"):
        assert checks[name].fix, name
        assert not checks[name].required
    # optional failures leave the exit code alone
    assert doctor.all_required_ok(list(checks.values()))


@pytest.mark.usefixtures("isolated_env")
def test_env_addresses_are_read(monkeypatch: pytest.MonkeyPatch, http_server_port: int) -> None:
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(http_server_port))
    monkeypatch.setenv("BROKER_URL", f"amqp://guest:guest@127.0.0.1:{http_server_port}/")
    checks = by_name(doctor.run_checks(doctor.DoctorOptions(timeout=1.0)))
    assert "does not speak PostgreSQL" in checks["postgres"].found
    assert "does not speak AMQP" in checks["rabbitmq"].found


@pytest.mark.usefixtures("isolated_env")
def test_cli_json_and_exit_codes() -> None:
    closed = free_port()
    args = ["doctor", "--json", "--postgres", f"127.0.0.1:{closed}", "--timeout", "0.5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert [c["name"] for c in data["checks"]] == list(doctor.CHECK_NAMES)
    required = runner.invoke(app, [*args, "--require", "postgres"])
    assert required.exit_code == 1
    row = {c["name"]: c for c in json.loads(required.stdout)["checks"]}["postgres"]
    assert row["required"] is True and row["ok"] is False and row["fix"]


@pytest.mark.usefixtures("isolated_env")
def test_cli_table_names_the_failed_required_check() -> None:
    closed = free_port()
    result = runner.invoke(
        app, ["doctor", "--broker", f"127.0.0.1:{closed}", "--require", "rabbitmq"]
    )
    assert result.exit_code == 1
    assert "required check failed: rabbitmq" in result.stdout
    assert "fix:" in result.stdout


def test_unknown_require_and_bad_address_are_usage_errors() -> None:
    assert runner.invoke(app, ["doctor", "--require", "nope"]).exit_code == 2
    assert runner.invoke(app, ["doctor", "--postgres", "host:notaport"]).exit_code == 2
