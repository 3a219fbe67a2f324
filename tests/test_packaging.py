"""msgen installed from a wheel (not editable) carries its templates and works; a new user's
README quickstart runs verbatim in a fresh virtual environment."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.servicekit import run, uv
from tests.waiting import cpu_idle, pids, wait_for

pytestmark = pytest.mark.slow

QUICKSTART_MARKER = "<!-- quickstart"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def msgen(self) -> str:
        return str(self.venv / "bin" / "msgen")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, built from the checkout, installed into a fresh virtual environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    run([uv(), "build", "--wheel", "--quiet", "--out-dir", str(tmp / "dist"), str(ROOT)], cwd=tmp)
    wheel = next((tmp / "dist").glob("msgen-*.whl"))
    venv = tmp / "venv"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=tmp)
    run(
        [uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        cwd=tmp,
    )
    return Installed(wheel=wheel, venv=venv)


def test_wheel_ships_templates_and_installed_cli_renders(
    installed: Installed, tmp_path: Path
) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert "msgen/templates/service/copier.yml" in names
    assert any(n.startswith("msgen/templates/service/template/src/") for n in names)
    assert not any(n.startswith("templates/") for n in names)
    assert "msgen/schemas/msgen.schema.json" in names  # copied beside every new msgen.yaml

    work = tmp_path / "work"
    work.mkdir()
    # The installed copy only: a PYTHONPATH pointing at a checkout would shadow it.
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    proc = subprocess.run(
        [installed.msgen, "new", "service", "orders", "--defaults"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (work / "orders" / "src" / "orders" / "main.py").is_file()
    answers = (work / "orders" / ".copier-answers.yml").read_text()
    assert str(installed.venv) in answers  # rendered from the installed copy, not the checkout
    version = subprocess.run(
        [installed.msgen, "--version"], env=env, capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("msgen ")


def quickstart_commands(readme: str) -> list[str]:
    """The lines of the fenced block after README's quickstart marker (comments dropped)."""
    start = readme.index(QUICKSTART_MARKER)
    block = re.search(r"```(?:bash|sh|console)\n(.*?)```", readme[start:], re.DOTALL)
    assert block is not None, "README.md: no fenced block after the quickstart marker"
    lines = [line.strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_quickstart_block_is_extracted_and_its_output_shown() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = quickstart_commands(readme)
    assert commands[0].startswith("msgen new service")
    assert all(shlex.split(c)[0] == "msgen" for c in commands)
    # the README shows the real output of exactly these commands, none of them failing
    after = readme[readme.index(QUICKSTART_MARKER) :]
    output = re.search(r"```text\n(.*?)```", after, re.DOTALL)
    assert output is not None
    shown = [line[2:] for line in output.group(1).splitlines() if line.startswith("$ ")]
    assert shown == commands
    assert "error:" not in output.group(1)


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_new_user_runs_the_readme_quickstart_verbatim(installed: Installed, tmp_path: Path) -> None:
    commands = quickstart_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    taken = [p for p in (8000, 8001, 8002, 8900) if port_taken(p)]
    if taken:  # the quickstart uses the default ports; another program holds one
        pytest.skip(f"ports {taken} are in use: the quickstart's dev up needs 8000-8002, 8900")
    work = tmp_path / "tour"
    work.mkdir()
    # The fresh venv's msgen first on PATH, then uv's directory (dev up makes the services'
    # venvs with uv when it finds one, else with pip: slower). The package index settings of
    # the machine (proxies, certificates, index URLs) pass through; the test run's venv does not.
    path = [str(installed.venv / "bin"), str(Path(uv()).parent), os.environ.get("PATH", "")]
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = os.pathsep.join(path)
    try:
        for command in commands:
            assert shutil.which("msgen", path=env["PATH"]) == installed.msgen
            proc = subprocess.run(
                ["bash", "-c", command],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            assert proc.returncode == 0, f"$ {command}\n{proc.stdout}\n{proc.stderr}"
        # The tour ended with dev down: up again at once (no "port already in use"), then
        # the system a new user sees, through the gateway only.
        if commands[-1] == "msgen dev down" and not port_taken(5672):
            pytest.skip("no RabbitMQ on 127.0.0.1:5672: the tour's events cannot flow")
        _the_first_hour(installed, work, env)
    finally:
        subprocess.run(
            [installed.msgen, "dev", "down"], cwd=work, env=env, capture_output=True, check=False
        )
        _delete_tour_topology()
    assert (work / "msgen.yaml").is_file()
    assert (
        not list((work / ".msgen" / "run").glob("*"))
        if (work / ".msgen" / "run").exists()
        else True
    )


def _the_first_hour(installed: Installed, work: Path, env: dict[str, str]) -> None:
    """dev up right after dev down; an order created through the gateway, fetched at the
    Location it returns (the gateway's, not the upstream's), reaches billing within 5 s;
    dev up --reload picks up an edit of orders within 2 s. The timings are printed."""

    def msgen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [installed.msgen, *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    up = msgen("dev", "up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        scopes = ("orders:write", "orders:read", "billing:read")
        token = msgen("token", *(f"--scope={scope}" for scope in scopes)).stdout.strip()
        with httpx.Client(
            base_url="http://127.0.0.1:8000",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            trust_env=False,
        ) as gateway:
            created = gateway.post("/orders/orders", json={"name": "first hour"})
            assert created.status_code == 201, created.text
            started = time.monotonic()
            location = created.headers["location"]
            assert location.startswith("http://127.0.0.1:8000/orders/orders/"), location
            order_id = created.json()["id"]
            fetched = gateway.get(location)
            assert fetched.status_code == 200 and fetched.json()["id"] == order_id

            def billed() -> bool:
                got = gateway.get("/billing/received-events")
                return got.status_code == 200 and order_id in json.dumps(got.json())

            wait_for(billed, timeout=5, what="billing to receive the order's event")
            print(f"order through the gateway to billing: {time.monotonic() - started:.2f} s")
    finally:
        assert msgen("dev", "down").returncode == 0
    _reload_picks_up_an_edit(installed, work, env)


def _reload_picks_up_an_edit(installed: Installed, work: Path, env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [installed.msgen, "dev", "up", "--reload"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    main = work / "orders" / "src" / "orders" / "main.py"
    original = main.read_text()
    spare = str(work / ".msgen" / "spare.py")
    try:
        wait_for(lambda: any("watching src/" in line for line in lines), timeout=240)
        # a person saves some seconds after the start: the spares have done their imports
        wait_for(
            lambda: len(pids(spare)) == 3 and all(cpu_idle(pid) for pid in pids(spare)),
            timeout=60,
            what="a spare per service, waiting",
        )
        main.write_text(
            original + '\n\n@app.get("/hello", include_in_schema=False)\n'
            "async def hello() -> dict[str, str]:\n    return {'hello': 'reloaded'}\n"
        )
        saved = time.monotonic()

        def answers() -> bool:
            try:
                got = httpx.get("http://127.0.0.1:8001/hello", timeout=1, trust_env=False)
            except httpx.TransportError:
                return False
            return got.status_code == 200

        wait_for(answers, timeout=30, what="the edited orders")
        seconds = time.monotonic() - saved
        print(f"dev up --reload, save to answer: {seconds:.2f} s")
        assert seconds < 2.0, "".join(lines[-20:])
    finally:
        main.write_text(original)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            reader.join(timeout=10)
            proc.stdout.close()
    assert proc.returncode == 0, "".join(lines)


def _delete_tour_topology() -> None:
    """dev up declared the tour's queues on the local RabbitMQ (when one answers): remove them."""
    import asyncio

    import aio_pika

    async def delete() -> None:
        try:
            connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/", timeout=5)
        except (OSError, aio_pika.exceptions.AMQPError):
            return
        async with connection:
            channel = await connection.channel()
            for queue in ("tour.billing", "tour.billing.dlq"):
                await channel.queue_delete(queue)
            for exchange in ("tour.events", "tour.billing.dlx"):
                await channel.exchange_delete(exchange)

    asyncio.run(delete())
