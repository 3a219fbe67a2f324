"""``msgen dev up`` with real processes, the real PostgreSQL, and ``msgen check health``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

import msgen as msgen_package
from tests.conftest import require_service
from tests.servicekit import free_port, pg_execute, render

pytestmark = pytest.mark.slow

MSGEN = str(Path(sys.executable).parent / "msgen")


def msgen_env() -> dict[str, str]:
    """No venv or PYTHONPATH of the test run, except where the msgen under test lives (a
    checkout on PYTHONPATH would otherwise lose to the copy installed in the venv)."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(Path(msgen_package.__file__).resolve().parents[1])
    return env


def msgen(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = msgen_env()
    return subprocess.run(
        [MSGEN, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def test_detached_system_health_kill_and_down(tmp_path: Path) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    root = tmp_path / "shop"
    render(root, "orders", port=free_port())
    # dev up names a service's PostgreSQL database after its package: unique per run.
    billing = f"billing{uuid.uuid4().hex[:8]}"
    render(root, billing, db="postgres", port=free_port())
    up = msgen(
        "dev", "up", "--detach", "--postgres", "postgresql://postgres@127.0.0.1:5432", cwd=root
    )
    assert up.returncode == 0, up.stdout + up.stderr
    pids = {}
    try:
        ps = json.loads(msgen("dev", "ps", "--json", cwd=root).stdout)
        pids = {row["service"]: row["pid"] for row in ps}
        assert set(pids) == {"orders", billing} and all(row["running"] for row in ps)

        health = msgen("check", "health", "--json", cwd=root)
        assert health.returncode == 0, health.stdout + health.stderr
        assert {row["service"]: row["state"] for row in json.loads(health.stdout)} == {
            "orders": "healthy",
            billing: "healthy",
        }

        base = json.loads(health.stdout)[0]["url"]
        assert httpx.post(f"{base}/orders", json={"name": "x"}).status_code == 201

        again = msgen("dev", "up", "--detach", cwd=root)
        assert again.returncode == 2
        assert "already running" in again.stderr

        os.kill(pids[billing], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(pids[billing]) and time.monotonic() < deadline:
            time.sleep(0.1)
        broken = msgen("check", "health", "--json", cwd=root)
        assert broken.returncode == 1
        states = {row["service"]: row for row in json.loads(broken.stdout)}
        assert states[billing]["live"]["ok"] is False
        assert states["orders"]["state"] == "healthy"
    finally:
        down = msgen("dev", "down", cwd=root)
        assert down.returncode == 0, down.stderr
        venv_python = root / ".msgen" / "venvs" / billing / "bin" / "python"
        if venv_python.exists():
            pg_execute(venv_python, f'DROP DATABASE IF EXISTS "{billing}" WITH (FORCE)')
    assert pids and not any(alive(pid) for pid in pids.values())
    assert msgen("dev", "ps", "--json", cwd=root).stdout.strip() == "[]"


def test_foreground_restarts_a_dead_child_and_sigterm_stops_all(tmp_path: Path) -> None:
    from tests.waiting import wait_for

    root = tmp_path / "shop"
    port = free_port()
    render(root, "orders", port=port)
    env = msgen_env()
    proc = subprocess.Popen(
        [MSGEN, "dev", "up", "--restart"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def children() -> list[str]:
        pattern = f"orders.main:app --host 127.0.0.1 --port {port}"
        found = subprocess.run(
            ["pgrep", "-f", pattern], capture_output=True, text=True, check=False
        )
        return found.stdout.split()

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200
        except httpx.TransportError:
            return False

    lines: list[str] = []
    seen: set[str] = set()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops every service" in line:
                break
        assert ready()
        first = children()
        assert first
        seen.update(first)
        os.kill(int(first[0]), signal.SIGKILL)
        wait_for(lambda: children() and children() != first, timeout=30, what="a restart")
        wait_for(ready, timeout=30, what="the restarted service")
        seen.update(children())
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
        lines.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines)
    assert proc.returncode == 0, output
    assert any(line.startswith("orders | ") for line in output.splitlines())
    assert "orders exited with code" in output
    assert "restarting orders" in output
    assert "stopping" in output
    assert len(seen) >= 2
    assert not any(alive(int(pid)) for pid in seen)


def test_system_with_gateway_and_events_on_real_postgres_and_rabbitmq(tmp_path: Path) -> None:
    """orders publishes, billing consumes, a gateway fronts both: the issue's whole story."""
    from tests.brokerkit import delete
    from tests.servicekit import BROKER_URL
    from tests.waiting import wait_for

    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("RabbitMQ", "127.0.0.1", 5672)
    run_id = uuid.uuid4().hex[:8]
    system, billing = f"shop{run_id}", f"billing{run_id}"  # exchange, queue and database names
    root = tmp_path / "shop"
    root.mkdir()
    # Open APIs: tokens through dev up are tests/test_dev_auth.py's subject.
    assert msgen("init", "--name", system, "--auth", "none", cwd=root).returncode == 0
    render(root, "orders", port=free_port())
    render(root, billing, db="postgres", consumes=("orders.order_created",), port=free_port())
    gateway_port = free_port()
    made = msgen("new", "gateway", "--port", str(gateway_port), cwd=root)
    assert made.returncode == 0, made.stderr
    up = msgen(
        "dev",
        "up",
        "--detach",
        "--postgres",
        "postgresql://postgres@127.0.0.1:5432",
        "--broker",
        BROKER_URL,
        cwd=root,
    )
    assert up.returncode == 0, up.stdout + up.stderr
    pids: dict[str, int] = {}
    try:
        pids = {
            row["service"]: row["pid"]
            for row in json.loads(msgen("dev", "ps", "--json", cwd=root).stdout)
        }
        assert set(pids) == {"orders", billing, "gateway"}
        health = msgen("check", "health", "--json", cwd=root)
        assert health.returncode == 0, health.stdout + health.stderr
        urls = {row["service"]: row["url"] for row in json.loads(health.stdout)}

        created = httpx.post(
            f"http://127.0.0.1:{gateway_port}/orders/orders",
            json={"name": "through the gateway"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]

        def billed() -> bool:
            events = httpx.get(f"{urls[billing]}/received-events", timeout=5).json()
            items = events["items"] if isinstance(events, dict) else events
            return any(order_id in json.dumps(item) for item in items)

        wait_for(billed, timeout=60, what="billing to receive orders.order_created")

        os.kill(pids[billing], signal.SIGKILL)
        wait_for(lambda: not alive(pids[billing]), timeout=10, what="billing to die")
        broken = msgen("check", "health", "--json", cwd=root)
        assert broken.returncode == 1
        rows = {row["service"]: row for row in json.loads(broken.stdout)}
        assert rows[billing]["live"]["ok"] is False
        assert rows["orders"]["state"] == "healthy"
    finally:
        assert msgen("dev", "down", cwd=root).returncode == 0
        python = root / ".msgen" / "venvs" / billing / "bin" / "python"
        if python.exists():
            pg_execute(python, f'DROP DATABASE IF EXISTS "{billing}" WITH (FORCE)')
            queue = f"{system}.{billing}"
            delete(
                python,
                queues=[queue, f"{queue}.dlq"],
                exchanges=[f"{system}.events", f"{queue}.dlx"],
            )
    assert pids and not any(alive(pid) for pid in pids.values())


def test_reload_restarts_only_the_changed_service_warm_after_its_upstreams(
    tmp_path: Path,
) -> None:
    """billing calls orders: it starts once orders is ready; an edit of orders restarts
    orders alone (warm, from its spare), a broken edit shows its error on the console, the
    fix brings it back; SIGTERM stops every process, spares included."""
    import threading

    from tests.waiting import cpu_idle, pids, wait_for

    root = tmp_path / "shop"
    orders_port, billing_port = free_port(), free_port()
    render(root, "orders", port=orders_port)
    render(root, "billing", port=billing_port, upstreams=("orders",))
    proc = subprocess.Popen(
        [MSGEN, "dev", "up", "--reload"],
        cwd=root,
        env=msgen_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        lines.extend(iter(proc.stdout.readline, ""))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def said(text: str) -> bool:
        return any(text in line for line in list(lines))

    def spare_pids() -> set[int]:
        return pids(str(root / ".msgen" / "spare.py"))

    main = root / "orders" / "src" / "orders" / "main.py"
    original = main.read_text()

    def edit(version: int) -> float:
        """Add a route answering ``version``; the seconds until it answers."""
        main.write_text(
            original + f'\n\n@app.get("/reloaded", include_in_schema=False)\n'
            f"async def reloaded() -> dict[str, int]:\n    return {{'version': {version}}}\n"
        )
        saved = time.monotonic()

        def answers() -> bool:
            try:
                got = httpx.get(f"http://127.0.0.1:{orders_port}/reloaded", timeout=1)
            except httpx.TransportError:
                return False
            return got.status_code == 200 and got.json() == {"version": version}

        wait_for(answers, timeout=60, what=f"orders to answer version {version}")
        return time.monotonic() - saved

    everything: set[int] = set()
    try:
        wait_for(lambda: said("watching src/"), timeout=240, what="dev up --reload")
        order = [line.strip() for line in lines if line.startswith(("orders:", "billing:"))]
        assert order.index("billing: waiting for orders") < order.index("orders: starting")
        ready = next(i for i, line in enumerate(order) if line.startswith("orders: ready"))
        assert ready < order.index("billing: starting")
        billing = pids(f"billing.main:app --host 127.0.0.1 --port {billing_port}")
        everything |= billing
        # the spares (one per service) have imported their libraries
        wait_for(lambda: len(spare_pids()) == 2, timeout=60, what="a spare per service")
        everything |= spare_pids()
        # Saves a person makes, a few seconds apart: each finds a spare that has finished
        # importing (one saved sooner waits for the rest of its import: docs/operations.md).
        seconds = []
        for version in (1, 2):
            wait_for(lambda: all(cpu_idle(pid) for pid in spare_pids()), timeout=60, what="spares")
            seconds.append(edit(version))
        print(f"reload, save to answer: {', '.join(f'{s:.2f} s' for s in seconds)}")
        assert said("orders: src/orders/main.py changed: restarting")
        assert said("orders answers again")
        assert max(seconds) < 2.0, seconds
        assert pids(f"billing.main:app --host 127.0.0.1 --port {billing_port}") == billing
        everything |= pids(f"orders.main:app --host 127.0.0.1 --port {orders_port}")

        main.write_text(original + "\ndef broken(:\n")
        wait_for(lambda: said("SyntaxError"), timeout=30, what="the error on the console")
        wait_for(lambda: said("orders exited with code 1"), timeout=30, what="the exit")
        assert said("billing") and pids(f"billing.main:app --host 127.0.0.1 --port {billing_port}")
        edit(3)
        everything |= pids(f"orders.main:app --host 127.0.0.1 --port {orders_port}")
        everything |= spare_pids()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert "stopping" in "".join(lines)
    wait_for(lambda: not any(alive(pid) for pid in everything), timeout=30, what="all stopped")
