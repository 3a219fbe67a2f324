"""Helpers to render a service and drive it as its users do: install, test, serve.

Each rendered service gets its own virtual environment made by uv (its download cache
makes the second install of the same dependencies take about a second).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from msgen.scaffold import NewServiceOptions, new_service
from msgen.workspace import find_workspace, init_workspace

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is part of msgen's test extra"
    return found


def run(
    cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, fail with its whole output."""
    full_env = {**os.environ, **(env or {})}
    for key in (
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "TEST_DATABASE_URL",
        "DATABASE_URL",
        "TEST_BROKER_URL",
        "BROKER_URL",
    ):
        if env is None or key not in env:
            full_env.pop(key, None)
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n"
        f"--- stderr\n{proc.stderr}"
    )
    return proc


def render(root: Path, name: str = "orders", *, auth: bool = False, **options: object) -> Path:
    """Render a service into ``root``; a new workspace there has open APIs unless ``auth``.

    Tests about tokens ask for them (``auth=True``: the default ``auth:`` of a new
    workspace); the others run the services without, as ``msgen init --auth none`` does.
    """
    if not auth and find_workspace(root) is None:
        init_workspace(root, auth=None)
    result = new_service(NewServiceOptions(name=name, **options), cwd=root)  # type: ignore[arg-type]
    return result.target


def ruff_clean(service: Path) -> None:
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=service)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=service)


def mypy_clean(service: Path, python: Path) -> None:
    """The service's own type check (its CI's ``mypy``), with its installed dependencies."""
    run([str(python), "-m", "mypy", "--no-incremental"], cwd=service)


def install(service: Path, *, editable: bool = True) -> Path:
    """Create ``service/.venv`` and install the service with its test extra; return python."""
    venv = service / ".venv"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=service)
    python = venv / "bin" / "python"
    target = [".[test]"] if not editable else ["-e", ".[test]"]
    run([uv(), "pip", "install", "--quiet", "--python", str(python), *target], cwd=service)
    return python


BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"


def run_own_tests(
    service: Path, python: Path, *, database_url: str | None = None, broker_url: str | None = None
) -> str:
    env = {"TEST_DATABASE_URL": database_url} if database_url else {}
    if broker_url:
        env["TEST_BROKER_URL"] = broker_url
    # The services' API fuzz test runs 25 examples per operation by default; msgen's suite
    # runs many services, so a few each (test_generated_service runs one at the default).
    env["API_FUZZ_EXAMPLES"] = os.environ.get("API_FUZZ_EXAMPLES", "5")
    proc = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=service, env=env)
    return proc.stdout


def run_own_tests_on_both(
    service: Path, python: Path, *, broker_url: str | None = None
) -> tuple[str, str]:
    """The service's suite on SQLite and on a throwaway PostgreSQL database, at once.

    The two runs share nothing but the code (each its own database and pytest temporary
    directory), so they run side by side: on two cores, in about the time of one.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import require_service

    require_service("PostgreSQL", "127.0.0.1", 5432)
    if broker_url:
        require_service("RabbitMQ", "127.0.0.1", 5672)
    with throwaway_database(python) as url, ThreadPoolExecutor(2) as pool:
        on_sqlite = pool.submit(run_own_tests, service, python)
        on_postgres = pool.submit(
            run_own_tests, service, python, database_url=url, broker_url=broker_url
        )
        return on_sqlite.result(), on_postgres.result()


def pg_execute(python: Path, sql: str) -> None:
    """Run one statement as the PostgreSQL superuser, with a service venv's asyncpg."""
    code = (
        "import asyncio, sys, asyncpg\n"
        "async def main():\n"
        "    conn = await asyncpg.connect(sys.argv[1])\n"
        "    try:\n"
        "        await conn.execute(sys.argv[2])\n"
        "    finally:\n"
        "        await conn.close()\n"
        "asyncio.run(main())\n"
    )
    run([str(python), "-c", code, PG_ADMIN_URL, sql], cwd=python.parent)


@contextmanager
def throwaway_database(python: Path) -> Iterator[str]:
    """A fresh PostgreSQL database for one run, dropped afterwards; yields its async URL."""
    name = f"msgen_test_{uuid.uuid4().hex[:12]}"
    pg_execute(python, f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        pg_execute(python, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    service: Path,
    python: Path,
    package: str,
    env: dict[str, str],
    cwd: Path | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Run the service with uvicorn on a (free) port; yield its base URL once it is live."""
    port = port or free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    full_env["PORT"] = str(port)  # what the service registers with Consul
    full_env.update(env)
    proc = subprocess.Popen(
        [
            str(python),
            "-m",
            "uvicorn",
            f"{package}.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=cwd or service,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # as Server: a loaded CI machine starts slowly
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"uvicorn exited {proc.returncode}:\n{proc.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the service did not become live within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


class Server:
    """A generated service under uvicorn, which a test can stop, kill and start again."""

    def __init__(
        self,
        service: Path,
        python: Path,
        package: str,
        env: dict[str, str],
        *,
        port: int | None = None,
        access_log: bool = False,
    ) -> None:
        """``port``: a fixed port (default: a free one at each start)."""
        self.service, self.python, self.package, self.env = service, python, package, env
        self.port, self.access_log = port, access_log
        self.log = service.parent / f"{package}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> None:
        port = self.port or free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        env.update({"LOG_LEVEL": "WARNING", **self.env})
        command = [str(self.python), "-m", "uvicorn", f"{self.package}.main:app"]
        command += ["--port", str(port)]
        if not self.access_log:
            command.append("--no-access-log")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                command, cwd=self.service, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.package} exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{self.package} not ready within 60 s"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None
