"""``msgen doctor``: what msgen can use on this machine, each with the fix when it is missing.

Pure checks that return records (the CLI draws the table or prints JSON). They run
concurrently, each with a short timeout, so a firewalled address costs one timeout, not
the sum. Network services are probed with their own protocol's first bytes, not only a TCP
connect, so a port held by something else is reported as such:

- PostgreSQL: an SSLRequest, answered with one byte ``S`` or ``N`` by every server;
- RabbitMQ: the AMQP 0-9-1 protocol header, answered with a Connection.Start method frame;
- Consul: ``GET /v1/status/leader``; the Docker engine: ``GET /_ping``.

Addresses come from the environment as the tools themselves read it: ``PGHOST``/``PGPORT``
(libpq), ``BROKER_URL`` (the generated services' setting), ``CONSUL_HTTP_ADDR``,
``DOCKER_HOST``; or from explicit URLs, as ``msgen dev up --postgres/--broker`` takes them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import struct
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from msgen.errors import MsgenError

__all__ = [
    "CHECK_NAMES",
    "DEFAULT_BROKER",
    "DEFAULT_POSTGRES",
    "Check",
    "DoctorOptions",
    "all_required_ok",
    "probe_amqp",
    "probe_postgres",
    "run_checks",
]

MIN_PYTHON = (3, 11)
DEFAULT_POSTGRES = "127.0.0.1:5432"
DEFAULT_BROKER = "127.0.0.1:5672"
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
_AMQP_FRAME_METHOD = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One row of the doctor's table."""

    name: str
    ok: bool
    required: bool
    found: str
    """What was found (a version, an address, a path), or what went wrong."""
    used_by: str
    fix: str | None = None
    """What to do when not ok."""

    def to_data(self) -> dict[str, Any]:
        """The JSON shape of ``msgen doctor --json``."""
        return {
            "name": self.name,
            "ok": self.ok,
            "required": self.required,
            "found": self.found,
            "used_by": self.used_by,
            "fix": None if self.ok else self.fix,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorOptions:
    """Where to look, how long to wait, and which optional checks the caller requires."""

    postgres: str | None = None
    """host:port or a PostgreSQL URL; default PGHOST/PGPORT, else 127.0.0.1:5432."""
    broker: str | None = None
    """host:port or an AMQP URL; default BROKER_URL, else 127.0.0.1:5672."""
    consul: str | None = None
    """Consul address; default CONSUL_HTTP_ADDR, else 127.0.0.1:8500."""
    timeout: float = 2.0
    require: tuple[str, ...] = ()


def _tcp_address(value: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``host`` or a URL (``postgresql://u:p@host:5433/db``) -> (host, port)."""
    text = value.strip()
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ValueError(f"{value!r} has an invalid port") from exc
    return parts.hostname or "127.0.0.1", port


def _exchange(host: str, port: int, payload: bytes, timeout: float, size: int) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(payload)
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                break
            data += chunk
        return data


def probe_postgres(host: str, port: int, *, timeout: float) -> str | None:
    """None when a PostgreSQL server answers at host:port, else what went wrong."""
    try:
        answer = _exchange(host, port, _SSL_REQUEST, timeout, 1)
    except OSError as exc:
        return f"not reachable at {host}:{port} ({_reason(exc)})"
    if answer in {b"S", b"N"}:
        return None
    return f"something at {host}:{port} does not speak PostgreSQL's protocol"


def probe_amqp(host: str, port: int, *, timeout: float) -> str | None:
    """None when an AMQP 0-9-1 broker (RabbitMQ) answers at host:port, else what went wrong."""
    try:
        answer = _exchange(host, port, _AMQP_HEADER, timeout, 1)
    except OSError as exc:
        return f"not reachable at {host}:{port} ({_reason(exc)})"
    if answer == bytes([_AMQP_FRAME_METHOD]):
        return None
    return f"something at {host}:{port} does not speak AMQP 0-9-1"


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or type(exc).__name__


def _python() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Check(
        name="python",
        ok=ok,
        required=True,
        found=version,
        used_by="msgen itself",
        fix="install Python 3.11 or newer and reinstall msgen with it",
    )


def _templates() -> Check:
    from msgen.render import templates_dir

    try:
        templates_dir()
    except MsgenError as exc:
        return Check(
            name="templates",
            ok=False,
            required=True,
            found=exc.message,
            used_by="msgen new",
            fix="reinstall msgen (pip install --force-reinstall msgen)",
        )
    return Check(name="templates", ok=True, required=True, found="installed", used_by="msgen new")


def _venvs(which: Callable[[str], str | None]) -> Check:
    uv = which("uv")
    has_pip = importlib.util.find_spec("ensurepip") is not None
    found = "uv" if uv else ("venv + pip" if has_pip else "no uv, no ensurepip")
    return Check(
        name="virtualenvs",
        ok=bool(uv) or has_pip,
        required=False,
        found=found,
        used_by="msgen dev up",
        fix="pip install uv (or install your distribution's python3-venv package)",
    )


def _docker(timeout: float) -> Check:
    from msgen.docker import check_engine

    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        check_engine(timeout=timeout)
    except MsgenError as exc:
        return Check(
            name="docker",
            ok=False,
            required=False,
            found=f"not reachable at {where}" if "not reachable" in exc.message else exc.message,
            used_by="msgen compose up",
            fix=exc.hint or "start Docker",
        )
    return Check(
        name="docker",
        ok=True,
        required=False,
        found=f"engine at {where}",
        used_by="msgen compose up",
    )


def _compose() -> Check:
    from msgen.docker import find_compose

    try:
        command = find_compose()
    except MsgenError as exc:
        return Check(
            name="compose",
            ok=False,
            required=False,
            found=exc.message,
            used_by="msgen compose up",
            fix=exc.hint,
        )
    version = "v2" if command[-1] == "compose" else "v1"
    return Check(
        name="compose",
        ok=True,
        required=False,
        found=f"{version}: {' '.join(command)}",
        used_by="msgen compose up",
    )


def _consul(address: str | None, timeout: float) -> Check:
    from msgen.consul import ConsulClient, consul_base_url

    address = address or os.environ.get("CONSUL_HTTP_ADDR") or None
    base = consul_base_url(address)
    used_by = "--discovery consul, register, services"
    try:
        leader = ConsulClient(
            address=address, token=os.environ.get("CONSUL_HTTP_TOKEN"), timeout=timeout
        ).leader()
    except MsgenError as exc:
        return Check(
            name="consul",
            ok=False,
            required=False,
            found=f"not reachable at {base}" if "unreachable" in exc.message else exc.message,
            used_by=used_by,
            fix="start a Consul agent (consul agent -dev), or set CONSUL_HTTP_ADDR to one",
        )
    return Check(
        name="consul",
        ok=True,
        required=False,
        found=f"{base} (leader {leader or 'not elected yet'})",
        used_by=used_by,
    )


def _postgres(address: str | None, timeout: float) -> Check:
    if address is None:
        host = os.environ.get("PGHOST") or "127.0.0.1"
        if host.startswith("/"):  # a Unix socket directory: probe TCP on the default host
            host = "127.0.0.1"
        address = f"{host}:{os.environ.get('PGPORT') or 5432}"
    host, port = _tcp_address(address, 5432)
    problem = probe_postgres(host, port, timeout=timeout)
    return Check(
        name="postgres",
        ok=problem is None,
        required=False,
        found=problem or f"{host}:{port}",
        used_by="dev up --postgres (--db postgres services)",
        fix=(
            "start PostgreSQL (e.g. docker run -d -p 5432:5432 "
            "-e POSTGRES_HOST_AUTH_METHOD=trust postgres:17), or set PGHOST/PGPORT"
        ),
    )


def _rabbitmq(address: str | None, timeout: float) -> Check:
    address = address or os.environ.get("BROKER_URL") or DEFAULT_BROKER
    host, port = _tcp_address(address, 5672)
    problem = probe_amqp(host, port, timeout=timeout)
    return Check(
        name="rabbitmq",
        ok=problem is None,
        required=False,
        found=problem or f"{host}:{port}",
        used_by="dev up --broker (services with a broker)",
        fix=(
            "start RabbitMQ (e.g. docker run -d -p 5672:5672 rabbitmq:4), "
            "or set BROKER_URL to amqp://USER:PASSWORD@HOST:5672/"
        ),
    )


def _tool(
    name: str, command: str, used_by: str, fix: str, which: Callable[[str], str | None]
) -> Check:
    path = which(command)
    return Check(
        name=name,
        ok=path is not None,
        required=False,
        found=path or f"{command} not on PATH",
        used_by=used_by,
        fix=fix,
    )


CHECK_NAMES = (
    "python",
    "templates",
    "virtualenvs",
    "docker",
    "compose",
    "consul",
    "postgres",
    "rabbitmq",
    "kubectl",
    "dot",
)


def run_checks(
    options: DoctorOptions | None = None,
    *,
    which: Callable[[str], str | None] = shutil.which,
) -> list[Check]:
    """Every check, concurrently, in the order of :data:`CHECK_NAMES`.

    Names in ``options.require`` count as required. A check that itself fails unexpectedly
    is reported as failing with the exception, never raised.
    """
    options = options or DoctorOptions()
    unknown = sorted(set(options.require) - set(CHECK_NAMES))
    if unknown:
        from msgen.errors import UsageError

        raise UsageError(
            f"unknown check {', '.join(unknown)!s} for --require",
            hint=f"choose from {', '.join(CHECK_NAMES)}",
        )
    for flag, value, default_port in (
        ("--postgres", options.postgres, 5432),
        ("--broker", options.broker, 5672),
    ):
        if value is not None:
            try:
                _tcp_address(value, default_port)
            except ValueError as exc:
                from msgen.errors import UsageError

                raise UsageError(f"{flag}: {exc}", hint="e.g. 127.0.0.1:5432 or a URL") from None
    timeout = options.timeout
    jobs: dict[str, Callable[[], Check]] = {
        "python": _python,
        "templates": _templates,
        "virtualenvs": lambda: _venvs(which),
        "docker": lambda: _docker(timeout),
        "compose": _compose,
        "consul": lambda: _consul(options.consul, timeout),
        "postgres": lambda: _postgres(options.postgres, timeout),
        "rabbitmq": lambda: _rabbitmq(options.broker, timeout),
        "kubectl": lambda: _tool(
            "kubectl",
            "kubectl",
            "kubectl apply of k8s/mesh output",
            "install kubectl: https://kubernetes.io/docs/tasks/tools/",
            which,
        ),
        "dot": lambda: _tool(
            "dot",
            "dot",
            "graph --format svg|png",
            "install Graphviz (apt install graphviz, brew install graphviz)",
            which,
        ),
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(_guarded, name, job) for name, job in jobs.items()}
        checks = [futures[name].result() for name in CHECK_NAMES]
    return [
        _replace_required(check) if check.name in options.require else check for check in checks
    ]


def _guarded(name: str, job: Callable[[], Check]) -> Check:
    try:
        return job()
    except Exception as exc:  # a check must never take the others down
        return Check(
            name=name,
            ok=False,
            required=name in {"python", "templates"},
            found=f"the check failed: {type(exc).__name__}: {exc}",
            used_by="",
            fix="rerun with --verbose and report it",
        )


def _replace_required(check: Check) -> Check:
    from dataclasses import replace

    return replace(check, required=True)


def all_required_ok(checks: Sequence[Check]) -> bool:
    """True when every required check passed (the exit code of ``msgen doctor``)."""
    return all(check.ok for check in checks if check.required)
