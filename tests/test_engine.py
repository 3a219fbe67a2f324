"""``msgen compose up`` on a real Docker engine: build, start, health, HTTP, down.

The engine and its images come from tests/enginekit.py (Debian's docker.io, a debootstrap
base image, PostgreSQL and RabbitMQ images from Debian packages; no registry needed). The
generated files are the ones users get: the test only writes ``.env`` values (BASE_IMAGE,
PIP_NO_INDEX=1, POSTGRES_IMAGE, RABBITMQ_IMAGE) and fills each service's ``wheels/`` on the
host, since builds inside the engine have no network here.

Skips without root or apt; with MSGEN_REQUIRE_SERVICES=1 a missing engine is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import port_open
from tests.enginekit import (
    Engine,
    EngineUnavailable,
    container_health,
    fill_wheelhouse,
    force_remove_project,
    prepare_images,
    project_leftovers,
    provide_engine,
    remove_images,
    stop_engine,
)
from tests.servicekit import free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.engine

MSGEN = str(Path(sys.executable).parent / "msgen")


def _unavailable(reason: str) -> None:
    if os.environ.get("MSGEN_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (and MSGEN_REQUIRE_SERVICES=1 requires a Docker engine)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    try:
        running = provide_engine()
    except EngineUnavailable as exc:
        _unavailable(f"no Docker engine: {exc}")
        raise  # unreachable: _unavailable skips or fails
    try:
        yield running
    finally:
        stop_engine(running)


def images(engine: Engine, *, infra: bool) -> dict[str, str]:
    try:
        return prepare_images(engine, infra=infra)
    except EngineUnavailable as exc:
        _unavailable(str(exc))
        raise


def msgen(
    engine: Engine, *args: str, cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MSGEN, *args],
        cwd=cwd,
        env=engine.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_system(
    engine: Engine, root: Path, preferred: int, env_lines: dict[str, str], *new_args: str
) -> None:
    """Generate one service, bring it up, check it, tear it down, and leave nothing."""
    root.mkdir()
    project = root.name  # compose v1 names the project after the directory
    # The same port every run when it is free: the port is baked into the image, so a
    # changing one would defeat the build cache (pip install runs again).
    port = preferred if not port_open("127.0.0.1", preferred) else free_port()
    # Open APIs: the issuer's container is built from a python image this machine has no
    # registry for (tests/test_compose_auth.py runs its build context as a process).
    assert msgen(engine, "init", "--auth", "none", cwd=root).returncode == 0
    created = msgen(
        engine, "new", "service", "orders", *new_args, "--port", str(port), "--defaults", cwd=root
    )
    assert created.returncode == 0, created.stdout + created.stderr
    # Jaeger and Grafana have no Debian package to build a local image from, and there is no
    # registry here to pull them: the system runs without the monitoring stack (the service
    # then exports no traces; Prometheus scraping is tested in tests/test_observability.py).
    generated = msgen(
        engine,
        "compose",
        "generate",
        *("--without", "jaeger", "--without", "prometheus", "--without", "grafana"),
        cwd=root,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    with (root / ".env").open("a", encoding="utf-8") as env_file:
        env_file.writelines(f"{name}={value}\n" for name, value in env_lines.items())
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the wheelhouse is built by this Python, which must match the image's 3.11")
    try:
        fill_wheelhouse(root / "orders")
    except EngineUnavailable as exc:
        _unavailable(str(exc))

    try:
        up = msgen(engine, "compose", "up", "--build", "--detach", cwd=root, timeout=900)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]

        def all_healthy() -> bool:
            states = container_health(engine, project)
            if any(state in {"unhealthy", "exited", "dead"} for state in states.values()):
                logs = msgen(engine, "compose", "logs", cwd=root).stdout[-4000:]
                raise AssertionError(f"{states}\n{logs}")
            return bool(states) and all(state == "healthy" for state in states.values())

        wait_for(all_healthy, timeout=300, what=f"healthy containers of {project}")

        health = msgen(engine, "check", "health", "--json", cwd=root)
        assert health.returncode == 0, health.stdout + health.stderr
        rows = json.loads(health.stdout)
        assert [(row["service"], row["state"]) for row in rows] == [("orders", "healthy")]

        base = rows[0]["url"]
        made = httpx.post(f"{base}/orders", json={"name": "from the engine test"}, timeout=30)
        assert made.status_code == 201, made.text
        read = httpx.get(f"{base}/orders/{made.json()['id']}", timeout=30)
        assert read.status_code == 200, read.text
        assert read.json()["name"] == "from the engine test"
    finally:
        down = msgen(engine, "compose", "down", "--volumes", cwd=root, timeout=300)
        leftovers = project_leftovers(engine, project)
        if down.returncode != 0 or leftovers:
            force_remove_project(engine, project)
        remove_images(engine, f"{project}-")
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers == {}


def test_sqlite_service_up_health_http_down(engine: Engine, tmp_path: Path) -> None:
    tags = images(engine, infra=False)
    run_system(
        engine,
        tmp_path / f"eng{uuid.uuid4().hex[:8]}",
        18101,
        {"BASE_IMAGE": tags["python"], "PIP_NO_INDEX": "1"},
        "--db",
        "sqlite",
        "--broker",
        "none",
    )


def test_postgres_rabbitmq_service_up_health_http_down(engine: Engine, tmp_path: Path) -> None:
    tags = images(engine, infra=True)
    run_system(
        engine,
        tmp_path / f"eng{uuid.uuid4().hex[:8]}",
        18102,
        {
            "BASE_IMAGE": tags["python"],
            "PIP_NO_INDEX": "1",
            "POSTGRES_IMAGE": tags["postgres"],
            "RABBITMQ_IMAGE": tags["rabbitmq"],
        },
        "--db",
        "postgres",
        "--broker",
        "rabbitmq",
    )
