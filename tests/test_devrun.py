import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from msgen import amqp
from msgen.devrun import (
    DevOptions,
    ProcessSpec,
    check_ports,
    find_broker,
    last_error_line,
    plan,
    port_holder,
    stop_pids,
)
from msgen.errors import PortInUseError, UsageError
from msgen.workspace import load_workspace
from tests.servicekit import free_port

WORKSPACE = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: {orders}
    db: postgres
    broker: rabbitmq
  order-items:
    path: items
    port: {items}
  edge:
    kind: gateway
    path: gateway
    port: {edge}
    db: none
"""


@pytest.fixture
def workspace(tree):
    ports = {"orders": free_port(), "items": free_port(), "edge": free_port()}
    root = tree({"msgen.yaml": WORKSPACE.format(**ports)})
    return load_workspace(root / "msgen.yaml")


def test_plan_wires_sqlite_by_default_and_static_discovery(workspace) -> None:
    specs = {s.name: s for s in plan(workspace, DevOptions())}
    assert list(specs) == ["orders", "order-items", "edge"]
    items = specs["order-items"]
    data = workspace.root / ".msgen" / "data" / "order-items.db"
    assert items.env["DATABASE_URL"] == f"sqlite+aiosqlite:///{data}"
    assert items.env["DB_MIGRATE_ON_START"] == "false"
    assert items.package == "order_items"
    assert items.argv()[-5:] == [
        "order_items.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(items.port),
    ]
    assert items.env["UPSTREAM_ORDERS_URL"] == f"http://127.0.0.1:{specs['orders'].port}"
    assert "UPSTREAM_ORDER_ITEMS_URL" not in items.env
    assert "BROKER_URL" not in specs["orders"].env
    assert "DATABASE_URL" not in specs["edge"].env
    assert items.venv == workspace.root / ".msgen" / "venvs" / "order-items"


def test_plan_uses_postgres_and_broker_when_asked(workspace) -> None:
    options = DevOptions(
        services=("orders", "order-items"),
        postgres_url="postgresql://postgres@127.0.0.1:5432/ignored",
        broker_url="amqp://guest:guest@127.0.0.1:5672/",
    )
    specs = {s.name: s for s in plan(workspace, options)}
    assert list(specs) == ["orders", "order-items"]
    assert (
        specs["orders"].env["DATABASE_URL"] == "postgresql+asyncpg://postgres@127.0.0.1:5432/orders"
    )
    assert specs["orders"].env["BROKER_URL"] == "amqp://guest:guest@127.0.0.1:5672/"
    assert specs["order-items"].env["DATABASE_URL"].startswith("sqlite+aiosqlite:///")
    assert "BROKER_URL" not in specs["order-items"].env


def test_dev_up_finds_a_local_broker_by_itself(workspace, monkeypatch) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        local = f"amqp://guest:guest@127.0.0.1:{port}/"
        monkeypatch.setattr(amqp, "DEFAULT_BROKER_URL", local)
        assert find_broker(workspace, None) == local
        assert find_broker(workspace, "none") is None  # asked to run without
        given = "amqp://u:p@broker.example:5672/"
        assert find_broker(workspace, given) == given
    # Nothing listens there any more: no broker, and dev up says so.
    assert find_broker(workspace, None) is None
    with pytest.raises(UsageError, match="bad broker URL"):
        find_broker(workspace, "http://not-amqp")


def test_dev_up_looks_for_no_broker_when_no_service_has_one(tree) -> None:
    root = tree({"msgen.yaml": "schema: 1\nname: shop\nservices:\n  a: {path: a, port: 8001}\n"})
    assert find_broker(load_workspace(root / "msgen.yaml"), "amqp://127.0.0.1:5672/") is None


def test_plan_refuses_unknown_service_and_bad_postgres_url(workspace) -> None:
    with pytest.raises(UsageError, match="unknown service 'billing'"):
        plan(workspace, DevOptions(services=("billing",)))
    with pytest.raises(UsageError, match="not a PostgreSQL URL"):
        plan(workspace, DevOptions(postgres_url="mysql://x"))


def test_port_in_use_is_reported_with_its_holder(workspace) -> None:
    spec = plan(workspace, DevOptions(services=("orders",)))[0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", spec.port))
        sock.listen()
        assert (
            port_holder(spec.port)
            == f"pid {os.getpid()} ({Path('/proc/self/comm').read_text().strip()})"
        )
        with pytest.raises(
            PortInUseError,
            match=f"port {spec.port} of orders is already in use by pid {os.getpid()}",
        ):
            check_ports([spec])
    check_ports([spec])


def test_stop_pids_terminates_process_groups() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    assert stop_pids([proc.pid], grace=5) == [proc.pid]
    assert proc.wait(timeout=5) is not None
    assert stop_pids([proc.pid]) == []


def test_a_failed_start_is_told_by_the_last_line_of_its_log(tmp_path: Path) -> None:
    log = tmp_path / "orders.log"
    log.write_text(
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "ModuleNotFoundError: No module named 'orders'\n\n"
    )
    assert last_error_line(log) == "ModuleNotFoundError: No module named 'orders'"
    log.write_text('{"level": "error", "message": "DATABASE_URL is not a URL"}\n')
    assert last_error_line(log) == "DATABASE_URL is not a URL"
    log.write_text("x" * 1000 + "\n")
    assert last_error_line(log, limit=50) == "x" * 49 + "…"
    log.write_text("\n\n")
    assert last_error_line(log) is None
    assert last_error_line(tmp_path / "missing.log") is None
    assert last_error_line(None) is None


CALLING = """\
schema: 1
name: shop
auth: {{provider: dev, issuer: "http://127.0.0.1:{issuer}", audience: msgen}}
services:
  orders: {{path: orders, port: {orders}}}
  billing: {{path: billing, port: {billing}, upstreams: [orders]}}
  reports: {{path: reports, port: {reports}, upstreams: [billing, orders]}}
  ping: {{path: ping, port: {ping}, upstreams: [pong]}}
  pong: {{path: pong, port: {pong}, upstreams: [ping]}}
  edge: {{kind: gateway, path: edge, port: {edge}, db: none,
          upstreams: [orders, billing, reports, ping, pong]}}
"""


@pytest.fixture
def calling(tree):
    names = ("issuer", "orders", "billing", "reports", "ping", "pong", "edge")
    root = tree({"msgen.yaml": CALLING.format(**{name: free_port() for name in names})})
    return load_workspace(root / "msgen.yaml")


def test_services_start_after_the_upstreams_they_call(calling) -> None:
    from msgen.devrun import ISSUER, waits_for

    specs = plan(calling, DevOptions())
    stages = {spec.name: spec.stage for spec in specs}
    assert stages == {
        ISSUER: 0,
        "orders": 1,
        "billing": 2,
        "reports": 3,
        "pong": 1,  # a cycle is cut where it is met: one of the two starts first
        "ping": 2,
        "edge": 4,
    }
    by_name = {spec.name: spec for spec in specs}
    assert waits_for(by_name["orders"], specs) == [ISSUER]
    assert waits_for(by_name["reports"], specs) == [ISSUER, "orders", "billing"]
    assert waits_for(by_name["pong"], specs) == [ISSUER]
    # Started alone, a service waits for nothing that does not run here.
    alone = plan(calling, DevOptions(services=("reports",)))
    assert {spec.name: spec.stage for spec in alone} == {ISSUER: 0, "reports": 1}


def test_start_in_stages_tells_what_each_waits_for_and_starts_in_order(tmp_path: Path) -> None:
    """Real processes (python -m http.server) as three services: a <- b <- c, and d alone."""
    import dataclasses

    from msgen.devrun import Running, start, start_in_stages, terminate
    from msgen.workspace import ServiceEntry

    def spec(name: str, stage: int, upstreams: list[str]) -> ProcessSpec:
        port = free_port()
        return ProcessSpec(
            name=name,
            directory=tmp_path,
            args=("-m", "http.server", "--bind", "127.0.0.1", str(port)),
            env={},
            port=port,
            host="127.0.0.1",
            port_setting=f"services.{name}.port",
            health_path="/",
            stage=stage,
            entry=ServiceEntry(path=name, port=port, upstreams=upstreams),
        )

    specs = [spec("a", 1, []), spec("b", 2, ["a"]), spec("c", 3, ["b", "a"]), spec("d", 1, [])]
    told: list[tuple[str, str]] = []
    started: list[Running] = []
    order: list[str] = []

    def launch(process: ProcessSpec) -> Running:
        order.append(process.name)
        return start(dataclasses.replace(process), on_line=None)

    try:
        start_in_stages(
            specs, launch, started, on_state=lambda s, state: told.append((s.name, state))
        )
    finally:
        terminate(started, grace=2)
    assert order == ["a", "d", "b", "c"]
    assert told == [
        ("b", "waiting for a"),
        ("c", "waiting for a, b"),
        ("a", "starting"),
        ("d", "starting"),
        ("a", "ready"),
        ("d", "ready"),
        ("c", "waiting for b"),
        ("b", "starting"),
        ("b", "ready"),
        ("c", "starting"),
        ("c", "ready"),
    ]
