"""``msgen dev up``: run the workspace's services as local processes, without Docker.

Each service gets its own virtual environment under ``.msgen/venvs/`` (services are
independent and may pin different versions), made with uv when it is installed and pip
otherwise, and refreshed when the service's ``pyproject.toml`` changes. Services run under
uvicorn on their ports from ``msgen.yaml`` with the environment wired for local use: SQLite
files under ``.msgen/data/`` by default, a local PostgreSQL or RabbitMQ when asked, and static
discovery (``UPSTREAM_<NAME>_URL``) between services.

A workspace whose ``auth:`` says ``provider: dev`` also runs msgen's development issuer
(:mod:`msgen.issuer`, process :data:`ISSUER`) with msgen's own interpreter, on the port of
``auth.issuer``, before the services; each service that verifies tokens is registered as a
client of it, with the scopes of its upstreams, and gets its secret as AUTH_CLIENT_SECRET.

The module never prints: progress goes to a reporter, process output to a callback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit, urlunsplit

from msgen.errors import DevRunError, PortInUseError, UsageError, WorkspaceInvalidError
from msgen.topology import unconsumed_env
from msgen.workspace import AuthSettings, ServiceEntry, WorkspaceFile

__all__ = [
    "ISSUER",
    "DevOptions",
    "PidRecord",
    "ProcessSpec",
    "Reporter",
    "Running",
    "StartState",
    "check_ports",
    "find_broker",
    "last_error_line",
    "log_file",
    "plan",
    "port_holder",
    "prepare",
    "read_pidfiles",
    "register_clients",
    "start",
    "start_in_stages",
    "stop_pids",
    "terminate",
    "to_start",
    "wait_ready",
    "waits_for",
    "write_pidfile",
]

STATE_DIR = ".msgen"
ISSUER = "msgen.issuer"
"""The development issuer's process name (pid file, log, ``dev ps``): never a service's name."""


class Reporter(Protocol):
    """Where progress goes (the CLI shows it with rich)."""

    def step(self, message: str) -> None:
        """A new step of long work has started."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DevOptions:
    """What ``msgen dev up`` was asked for."""

    services: tuple[str, ...] = ()
    postgres_url: str | None = None
    broker_url: str | None = None
    host: str = "127.0.0.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessSpec:
    """How to run one process locally: a service, or msgen's development issuer.

    Each is ``python ARGS`` in ``directory``, listening on ``host:port``; the interpreter is
    the service's own virtual environment's (``venv``), or msgen's own when there is none.
    """

    name: str
    directory: Path
    args: tuple[str, ...]
    """The command line after the interpreter (``-m uvicorn orders.main:app ...``)."""
    env: dict[str, str]
    port: int
    host: str
    port_setting: str
    """The ``msgen.yaml`` key that sets the port (named when the port is taken)."""
    venv: Path | None = None
    """The service's virtual environment (made by :func:`prepare`); None: msgen's interpreter."""
    entry: ServiceEntry | None = None
    package: str | None = None
    health_path: str | None = None
    """The path that answers 200 once the process is ready; None: a service, probed on
    ``/health/live`` and ``/health/ready`` as ``msgen check health`` does."""
    stage: int = 1
    """Lower stages start, and are ready, first: the issuer (0) before the services (1)."""
    shared: bool = False
    """One process for every ``dev up`` of the workspace: one already running is used."""
    client_scopes: tuple[str, ...] | None = None
    """The scopes to register the service with at the development issuer (None: no client)."""

    @property
    def url(self) -> str:
        """Base URL of the running process."""
        return f"http://{self.host}:{self.port}"

    @property
    def python(self) -> Path:
        """The interpreter: the service's virtual environment's, or msgen's own."""
        return Path(sys.executable) if self.venv is None else self.venv / "bin" / "python"

    def argv(self) -> list[str]:
        """The full command line."""
        return [str(self.python), *self.args]


def state_dir(workspace: WorkspaceFile) -> Path:
    """``.msgen/`` beside ``msgen.yaml``."""
    return workspace.root / STATE_DIR


def plan(workspace: WorkspaceFile, options: DevOptions) -> list[ProcessSpec]:
    """The processes to run, with their environment; no side effects."""
    services = workspace.model.services
    workspace.model.require(options.services)
    if not services:
        raise UsageError("the workspace has no services yet", hint="msgen new service NAME")
    names = list(options.services) or list(services)
    root = state_dir(workspace)
    upstream_env = {
        f"UPSTREAM_{other.upper().replace('-', '_')}_URL": f"http://{options.host}:{entry.port}"
        for other, entry in services.items()
    }
    auth = workspace.model.auth
    dev_issuer = auth is not None and auth.provider == "dev"
    specs = [_issuer_spec(workspace, auth, options)] if auth is not None and dev_issuer else []
    for name in names:
        entry = services[name]
        package = name.replace("-", "_")
        client_scopes = None
        env = {
            "SERVICE_NAME": name,
            "ENVIRONMENT": "development",
            "PORT": str(entry.port),
            "HOST": options.host,
            "DB_MIGRATE_ON_START": "false",
            **{key: url for key, url in upstream_env.items() if key != _upstream_key(name)},
        }
        if entry.db != "none" and entry.kind == "service":
            env["DATABASE_URL"] = _database_url(root, name, package, entry, options)
        if entry.broker != "none" and options.broker_url:
            env["BROKER_URL"] = options.broker_url
        env.update(unconsumed_env(workspace.model, name))
        if auth is not None and workspace.model.auth_answers(entry.kind, entry.db)["auth"]:
            env["AUTH_ISSUER"] = auth.issuer
            env["AUTH_AUDIENCE"] = auth.audience
            if dev_issuer:
                from msgen.access import client_scopes as scopes_of

                client_scopes = tuple(scopes_of(workspace.model, name))
        specs.append(
            ProcessSpec(
                name=name,
                entry=entry,
                directory=workspace.service_dir(name),
                args=(
                    "-m",
                    "uvicorn",
                    f"{package}.main:app",
                    "--host",
                    options.host,
                    "--port",
                    str(entry.port),
                ),
                venv=root / "venvs" / name,
                env=env,
                port=entry.port,
                host=options.host,
                port_setting=f"services.{name}.port",
                package=package,
                client_scopes=client_scopes,
            )
        )
    return _in_dependency_order(specs)


def _in_dependency_order(specs: list[ProcessSpec]) -> list[ProcessSpec]:
    """Each service one stage after the upstreams it calls that run here.

    So its upstreams answer ready before it starts; the issuer (stage 0) before any service.

    A cycle of upstreams (a calls b, b calls a) is cut where it is met: one of them starts
    first.
    """
    calls = {
        spec.name: [u for u in spec.entry.upstreams if u != spec.name]
        for spec in specs
        if spec.entry is not None
    }
    stages: dict[str, int] = {}

    def stage_of(name: str, path: tuple[str, ...]) -> int:
        if name not in stages:
            upstreams = [u for u in calls[name] if u in calls and u not in path]
            stages[name] = 1 + max((stage_of(u, (*path, name)) for u in upstreams), default=0)
        return stages[name]

    return [
        spec if spec.entry is None else dataclasses.replace(spec, stage=stage_of(spec.name, ()))
        for spec in specs
    ]


def waits_for(spec: ProcessSpec, specs: Sequence[ProcessSpec]) -> list[str]:
    """The processes of ``specs`` that ``spec`` waits for.

    Those of earlier stages it needs: its upstreams, and the issuer when it verifies tokens.
    """
    needs = set(spec.entry.upstreams if spec.entry is not None else ())
    if "AUTH_ISSUER" in spec.env:
        needs.add(ISSUER)
    return [s.name for s in specs if s.name in needs and s.stage < spec.stage]


def _issuer_spec(workspace: WorkspaceFile, auth: AuthSettings, options: DevOptions) -> ProcessSpec:
    """``python -m msgen.issuer`` at ``auth.issuer``, which must be ``http://HOST:PORT``.

    It listens on the URL's host when that is an IPv4 address, else on ``options.host``.
    """
    import msgen

    parts = urlsplit(auth.issuer)
    port, problem = workspace.model.dev_issuer_port()
    if problem is not None or port is None:
        from msgen.workspace import _line_of

        line = _line_of(workspace._document, ["auth", "issuer"])
        raise WorkspaceInvalidError(
            f"{workspace.path}:{line}: auth.issuer: {problem} (got {auth.issuer!r})",
            hint="e.g. issuer: http://127.0.0.1:8900, or provider: oidc for another issuer",
        )
    try:
        host = str(ipaddress.IPv4Address(parts.hostname or ""))
    except ValueError:
        host = options.host
    return ProcessSpec(
        name=ISSUER,
        directory=workspace.root,
        args=(
            "-m",
            "msgen.issuer",
            "--root",
            str(workspace.root),
            "--host",
            host,
            "--port",
            str(port),
            "--issuer",
            auth.issuer,
            "--audience",
            auth.audience,
        ),
        # The issuer is msgen's own code: the msgen running now, wherever it was imported from.
        env={"PYTHONPATH": str(Path(msgen.__file__).resolve().parents[1])},
        port=port,
        host=host,
        port_setting="auth.issuer",
        health_path="/.well-known/openid-configuration",
        stage=0,
        shared=True,
    )


def _upstream_key(name: str) -> str:
    return f"UPSTREAM_{name.upper().replace('-', '_')}_URL"


def _database_url(
    root: Path, name: str, package: str, entry: ServiceEntry, options: DevOptions
) -> str:
    if entry.db == "postgres" and options.postgres_url:
        parts = urlsplit(options.postgres_url)
        if parts.scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
            raise UsageError(
                f"--postgres {options.postgres_url!r} is not a PostgreSQL URL",
                hint="e.g. postgresql://postgres@127.0.0.1:5432",
            )
        return urlunsplit(("postgresql+asyncpg", parts.netloc, f"/{package}", "", ""))
    return f"sqlite+aiosqlite:///{root / 'data' / f'{name}.db'}"


NO_BROKER = "none"
"""``--broker none``: run without a broker even when one answers."""


def find_broker(workspace: WorkspaceFile, given: str | None) -> str | None:
    """The broker URL for ``dev up``: ``--broker URL``, or the local default when it answers.

    None when no service of the workspace has a broker, with ``--broker none``, or when
    nothing listens on the default's address (the services then keep their events in
    their outboxes, and ``dev up`` says so).
    """
    from msgen.amqp import DEFAULT_BROKER_URL, broker_url

    if not any(entry.broker != "none" for entry in workspace.model.services.values()):
        return None
    if given is not None and given.strip().lower() == NO_BROKER:
        return None
    if given:
        return broker_url(given)
    parts = urlsplit(DEFAULT_BROKER_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 5672), timeout=0.5):
            return DEFAULT_BROKER_URL
    except OSError:
        return None


def check_ports(specs: Sequence[ProcessSpec]) -> None:
    """Refuse to start when a port is taken, naming the process that holds it.

    The probe binds with SO_REUSEADDR, as uvicorn and the issuer do: connections of a
    process just stopped (TIME_WAIT) do not hold the port, a listening socket does.
    """
    for spec in specs:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((spec.host, spec.port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise DevRunError(
                        f"{spec.name} cannot listen on {spec.host}:{spec.port}: {exc.strerror}",
                        hint=f"change {spec.port_setting} in msgen.yaml",
                    ) from None
                holder = port_holder(spec.port)
                raise PortInUseError(
                    f"port {spec.port} of {spec.name} is already in use"
                    + (f" by {holder}" if holder else ""),
                    hint=f"stop that process, or change {spec.port_setting} in msgen.yaml",
                ) from None


def to_start(
    workspace: WorkspaceFile, specs: Sequence[ProcessSpec]
) -> tuple[list[ProcessSpec], list[PidRecord]]:
    """The processes still to start, and the running ones used as they are.

    A detached process already running is refused, unless it is shared (the issuer) and
    at the same URL: then it is used.
    """
    running = {record.name: record for record in read_pidfiles(workspace) if record.alive}
    starting, reused = [], []
    for spec in specs:
        record = running.get(spec.name)
        if record is None:
            starting.append(spec)
        elif spec.shared and record.url == spec.url:
            reused.append(record)
        else:
            raise UsageError(
                f"{spec.name} is already running (pid {record.pid})",
                hint="msgen dev down first",
            )
    return starting, reused


def register_clients(workspace: WorkspaceFile, specs: Sequence[ProcessSpec]) -> list[ProcessSpec]:
    """Register services as clients of the development issuer; give each its secret.

    Each spec with ``client_scopes`` becomes a client named after the service with exactly
    those scopes (``.msgen/issuer/clients.json``, mode 0600; a known client keeps its
    secret), and gets the secret as AUTH_CLIENT_SECRET in its environment, nowhere else.
    """
    from msgen.issuer import ensure_client

    registered = []
    for spec in specs:
        if spec.client_scopes is None:
            registered.append(spec)
            continue
        secret = ensure_client(workspace.root, spec.name, spec.client_scopes)
        registered.append(dataclasses.replace(spec, env={**spec.env, "AUTH_CLIENT_SECRET": secret}))
    return registered


def port_holder(port: int) -> str | None:
    """``pid 123 (python3)`` for the process listening on ``port``, when /proc tells."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                if str(fd.readlink()) in inodes:
                    comm = (proc / "comm").read_text().strip()
                    return f"pid {proc.name} ({comm})"
    return None


def prepare(specs: Sequence[ProcessSpec], reporter: Reporter) -> None:
    """Virtual environments, databases and migrations, before anything starts."""
    for spec in specs:
        if spec.venv is not None:
            ensure_venv(spec, reporter)
    for spec in specs:
        if "DATABASE_URL" not in spec.env:
            continue
        url = spec.env["DATABASE_URL"]
        if url.startswith("sqlite"):
            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        else:
            reporter.step(f"{spec.name}: creating its PostgreSQL database if missing")
            _create_pg_database(spec)
        if (spec.directory / "alembic.ini").is_file():
            reporter.step(f"{spec.name}: alembic upgrade head")
            _run(spec, [str(spec.python), "-m", "alembic", "upgrade", "head"])


def ensure_venv(spec: ProcessSpec, reporter: Reporter) -> None:
    """Create or refresh the service's venv when its ``pyproject.toml`` changed."""
    pyproject = spec.directory / "pyproject.toml"
    if not pyproject.is_file():
        raise DevRunError(f"{spec.name}: no pyproject.toml in {spec.directory}")
    if spec.venv is None:
        raise DevRunError(f"{spec.name} runs with msgen's own interpreter: it has no venv")
    stamp = spec.venv.with_suffix(".stamp")
    digest = hashlib.sha256(pyproject.read_bytes()).hexdigest()
    if spec.python.exists() and stamp.is_file() and stamp.read_text() == digest:
        return
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    tool = "uv" if uv else "pip"
    reporter.step(
        f"{spec.name}: {'refreshing' if spec.python.exists() else 'creating'} "
        f"its virtual environment ({tool})"
    )
    spec.venv.parent.mkdir(parents=True, exist_ok=True)
    if uv:
        _run(
            spec,
            [uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(spec.venv)],
        )
        _run(spec, [uv, "pip", "install", "--quiet", "--python", str(spec.python), "-e", "."])
    else:
        _run(spec, [sys.executable, "-m", "venv", str(spec.venv)])
        _run(spec, [str(spec.python), "-m", "pip", "install", "--quiet", "-e", "."])
    stamp.write_text(digest)


_CREATE_DB = """
import asyncio, sys
import asyncpg

async def main(url, name):
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def _create_pg_database(spec: ProcessSpec) -> None:
    parts = urlsplit(spec.env["DATABASE_URL"])
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    _run(spec, [str(spec.python), "-c", _CREATE_DB, admin, parts.path.lstrip("/")])


def _run(spec: ProcessSpec, argv: list[str]) -> None:
    env = {**_base_env(), **spec.env}
    proc = subprocess.run(
        argv, cwd=spec.directory, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DevRunError(
            f"{spec.name}: {Path(argv[0]).name} {' '.join(argv[1:3])} failed: {last[0]}"
        )


def _base_env() -> dict[str, str]:
    """The user's environment minus what would leak msgen's own venv into a service's."""
    return {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}


@dataclass(slots=True)
class Running:
    """A started process."""

    spec: ProcessSpec
    process: subprocess.Popen[str]
    restarts: int = 0
    readers: list[threading.Thread] = field(default_factory=list)
    log_path: Path | None = None
    """Where its output goes (detached); None: it goes to the console."""


def start(
    spec: ProcessSpec,
    *,
    log: IO[str] | None = None,
    on_line: Callable[[str, str], None] | None,
    stdin: int = subprocess.DEVNULL,
) -> Running:
    """Start one process; its output goes to ``log`` (detached) or ``on_line`` line by line.

    ``stdin=subprocess.PIPE`` gives it an input (:mod:`msgen.reload`'s spares wait on it).
    """
    process = subprocess.Popen(
        spec.argv(),
        cwd=spec.directory,
        env={**_base_env(), **spec.env},
        stdout=log if log is not None else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=stdin,
        text=True,
        start_new_session=True,
    )
    log_path = Path(log.name) if log is not None and isinstance(log.name, str) else None
    running = Running(spec=spec, process=process, log_path=log_path)
    if log is None and on_line is not None and process.stdout is not None:
        reader = threading.Thread(
            target=_pump, args=(spec.name, process.stdout, on_line), daemon=True
        )
        reader.start()
        running.readers.append(reader)
    return running


def _pump(name: str, stream: IO[str], on_line: Callable[[str, str], None]) -> None:
    for line in stream:
        on_line(name, line.rstrip("\n"))


def terminate(processes: Sequence[Running], *, grace: float = 10.0) -> None:
    """SIGTERM every process, wait up to ``grace`` seconds, then SIGKILL the rest."""
    stop_pids([r.process.pid for r in processes if r.process.poll() is None], grace=grace)
    for running in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            running.process.wait(timeout=1)
        for reader in running.readers:
            reader.join(timeout=1)
        if any(reader.is_alive() for reader in running.readers):
            continue  # a reader still reading: its stream closes with it
        for stream in (running.process.stdin, running.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def stop_pids(pids: Sequence[int], *, grace: float = 10.0) -> list[int]:
    """Stop process groups led by ``pids``; return the pids that were running."""
    alive = [pid for pid in pids if _alive(pid)]
    for pid in alive:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in alive):
        time.sleep(0.05)
    for pid in alive:
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
    return alive


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: ask the kernel instead
    else:
        if waited == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    return True


StartState = Callable[[ProcessSpec, str], None]
"""Told each change of a process's start: ``waiting for orders``, ``starting``, ``ready``."""


def start_in_stages(
    specs: Sequence[ProcessSpec],
    launch: Callable[[ProcessSpec], Running],
    started: list[Running],
    *,
    timeout: float = 60.0,
    on_state: StartState | None = None,
) -> None:
    """Start ``specs`` with ``launch`` stage by stage, each stage ready before the next.

    Every process started is appended to ``started`` at once, so that the caller can stop
    them all when a later one fails. ``on_state`` hears what each process waits for, when
    it starts and when it is ready.
    """
    tell = on_state or (lambda _spec, _state: None)
    ready: set[str] = set()
    told: dict[str, list[str]] = {}

    def tell_waiting(later_than: int) -> None:
        for spec in specs:
            waiting = [name for name in waits_for(spec, specs) if name not in ready]
            if spec.stage > later_than and waiting and told.get(spec.name) != waiting:
                told[spec.name] = waiting
                tell(spec, f"waiting for {', '.join(waiting)}")

    stages = sorted({spec.stage for spec in specs})
    tell_waiting(stages[0] if stages else 0)
    for stage in stages:
        group = [spec for spec in specs if spec.stage == stage]
        for spec in group:
            tell(spec, "starting")
            started.append(launch(spec))
        wait_ready(group, started, timeout=timeout)
        ready.update(spec.name for spec in group)
        for spec in group:
            tell(spec, "ready")
        tell_waiting(stage)


def wait_ready(
    specs: Sequence[ProcessSpec],
    processes: Sequence[Running],
    *,
    timeout: float = 60.0,
) -> None:
    """Block until every process answers ready; raise if one exits or time runs out."""
    from msgen.health import Target, check_health

    targets = [
        Target(service=s.name, instance=f"{s.host}:{s.port}", base_url=s.url)
        for s in specs
        if s.health_path is None
    ]
    deadline = time.monotonic() + timeout
    while True:
        for running in processes:
            if running.process.poll() is not None:
                last = last_error_line(running.log_path)
                raise DevRunError(
                    f"{running.spec.name} exited with code {running.process.returncode} "
                    "before it was ready" + (f": {last}" if last else ""),
                    hint=f"see {STATE_DIR}/logs/, or run 'msgen dev up' in the foreground",
                )
        results = check_health(targets, timeout=2.0) if targets else []
        waiting = [r.target.service for r in results if not r.healthy] + [
            s.name
            for s in specs
            if s.health_path is not None and not _answers(s.url + s.health_path)
        ]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise DevRunError(f"not ready after {timeout:g}s: {', '.join(waiting)}")
        time.sleep(0.25)


def last_error_line(log: Path | None, *, limit: int = 300) -> str | None:
    """The line of a log that says why a process stopped: its last non-blank one.

    A Python traceback ends with the exception (``ModuleNotFoundError: No module named
    'x'``); a JSON log line gives its message. Shortened to ``limit`` characters.
    """
    if log is None:
        return None
    try:
        with log.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    line = lines[-1]
    with contextlib.suppress(ValueError, KeyError, TypeError):
        line = str(json.loads(line)["message"])
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _answers(url: str) -> bool:
    """Whether ``GET url`` answers 200 (no proxy: the process is local)."""
    import httpx

    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


# Detached runs: one JSON pid file per process under .msgen/run/.


def write_pidfile(workspace: WorkspaceFile, running: Running) -> Path:
    """Record a detached process so ``dev down`` and ``dev ps`` find it."""
    run_dir = state_dir(workspace) / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"{running.spec.name}.pid"
    data = {
        "name": running.spec.name,
        "pid": running.process.pid,
        "port": running.spec.port,
        "url": running.spec.url,
        "started": time.time(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
    return path


@dataclass(frozen=True, slots=True, kw_only=True)
class PidRecord:
    """A detached process as recorded in its pid file."""

    name: str
    pid: int
    port: int
    url: str
    path: Path

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return _alive(self.pid)


def read_pidfiles(workspace: WorkspaceFile) -> list[PidRecord]:
    """Every pid file under ``.msgen/run/``; unreadable ones are skipped."""
    records = []
    for path in sorted((state_dir(workspace) / "run").glob("*.pid")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(path.read_text())
            records.append(
                PidRecord(
                    name=str(data["name"]),
                    pid=int(data["pid"]),
                    port=int(data["port"]),
                    url=str(data["url"]),
                    path=path,
                )
            )
    return records


@contextlib.contextmanager
def log_file(workspace: WorkspaceFile, name: str) -> Iterator[IO[str]]:
    """The append-mode log of a detached process."""
    log_dir = state_dir(workspace) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("a", encoding="utf-8") as handle:
        yield handle
