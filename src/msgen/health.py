"""Concurrent liveness and readiness checks of running services.

Every target is probed on ``/health/live`` and ``/health/ready`` at once, through one
``httpx.AsyncClient`` and a bounded number of connections in flight. Each probe is bounded by
the timeout as a whole (not per phase), so a run over many targets, some of which hang,
finishes in about one timeout (times ``retries + 1``). Failures become result records with a
status text per cause (connection refused, DNS failure, timeout, TLS error, non-JSON body),
never exceptions.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from msgen.errors import UnknownServiceError, UsageError

if TYPE_CHECKING:
    import httpx

    from msgen.consul import Instance
    from msgen.workspace import Workspace

__all__ = [
    "Probe",
    "Target",
    "TargetHealth",
    "check_health",
    "check_seconds",
    "consul_targets",
    "parse_target_url",
    "sort_key",
    "workspace_targets",
]

MAX_TIMEOUT = 3600.0
"""The longest ``--timeout`` (seconds): a probe that needs more is a hung service."""
MAX_RETRIES = 100
MAX_WATCH = 86400.0
"""The longest ``--watch`` interval (seconds)."""
ProbeKind = Literal["live", "ready"]
PATHS: dict[ProbeKind, str] = {"live": "/health/live", "ready": "/health/ready"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One instance of a service to check."""

    service: str
    instance: str
    base_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """The outcome of one probe: ok, or the reason it is not."""

    ok: bool
    status: str
    """``ok``, ``HTTP 503``, ``connection refused``, ``timeout after 2s``, ..."""
    http_status: int | None = None
    latency_ms: float | None = None
    failing: tuple[str, ...] = ()
    """Dependencies the readiness body names as failing (database, broker, ...)."""
    body: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetHealth:
    """Liveness and readiness of one target."""

    target: Target
    live: Probe
    ready: Probe

    @property
    def healthy(self) -> bool:
        """Live and ready."""
        return self.live.ok and self.ready.ok

    @property
    def state(self) -> str:
        """``healthy``, ``not ready`` or ``down``: what a person scans for first."""
        if self.healthy:
            return "healthy"
        return "not ready" if self.live.ok else "down"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record for ``--json``."""
        return {
            "service": self.target.service,
            "instance": self.target.instance,
            "url": self.target.base_url,
            "state": self.state,
            "healthy": self.healthy,
            "live": _probe_dict(self.live),
            "ready": _probe_dict(self.ready),
        }


def _probe_dict(probe: Probe) -> dict[str, Any]:
    return {
        "ok": probe.ok,
        "status": probe.status,
        "http_status": probe.http_status,
        "latency_ms": probe.latency_ms,
        "failing": list(probe.failing),
    }


def parse_target_url(url: str) -> Target:
    """A ``--url`` argument as a target; a bad URL is a usage error."""
    from msgen.inputs import shorten

    shown = shorten(repr(url))
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise UsageError(
            f"bad URL {shown}: {exc}", hint="expected http://HOST[:PORT][/BASE]"
        ) from None
    if not url.isascii() or not url.isprintable():
        raise UsageError(f"bad URL {shown}: it must be printable ASCII (punycode for names)")
    if parts.scheme not in {"http", "https"} or not hostname:
        raise UsageError(
            f"bad URL {shown}: expected http://HOST[:PORT][/BASE]",
            hint="the URL is the service's base; msgen probes /health/live and /health/ready",
        )
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"bad URL {shown}: the port is not a number 0-65535") from None
    instance = f"{hostname}:{port}" if port else hostname
    service = f"{parts.netloc}{parts.path}".rstrip("/")
    return Target(service=service, instance=instance, base_url=url.rstrip("/"))


def check_health(
    targets: Sequence[Target],
    *,
    timeout: float = 2.0,
    retries: int = 0,
    concurrency: int = 100,
) -> list[TargetHealth]:
    """Probe every target's liveness and readiness concurrently; results in target order."""
    check_seconds(timeout, option="--timeout", maximum=MAX_TIMEOUT)
    if not 0 <= retries <= MAX_RETRIES:
        raise UsageError(f"--retries must be between 0 and {MAX_RETRIES}")
    return asyncio.run(_check_all(targets, timeout, retries, max(1, concurrency)))


def check_seconds(value: float, *, option: str, maximum: float) -> float:
    """A finite number of seconds in (0, maximum]; nan, inf and negatives are usage errors."""
    import math

    if not math.isfinite(value) or not 0 < value <= maximum:
        raise UsageError(f"{option} must be more than 0 and at most {maximum:g} seconds")
    return value


async def _check_all(
    targets: Sequence[Target], timeout: float, retries: int, concurrency: int
) -> list[TargetHealth]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), limits=limits, follow_redirects=False, trust_env=False
    ) as client:

        async def one(target: Target) -> TargetHealth:
            live, ready = await asyncio.gather(
                _probe(
                    client, gate=gate, target=target, kind="live", timeout=timeout, retries=retries
                ),
                _probe(
                    client, gate=gate, target=target, kind="ready", timeout=timeout, retries=retries
                ),
            )
            return TargetHealth(target=target, live=live, ready=ready)

        return list(await asyncio.gather(*(one(target) for target in targets)))


async def _probe(
    client: httpx.AsyncClient,
    *,
    gate: asyncio.Semaphore,
    target: Target,
    kind: ProbeKind,
    timeout: float,
    retries: int,
) -> Probe:
    probe = Probe(ok=False, status="not probed")
    for _ in range(retries + 1):
        async with gate:
            probe = await _probe_once(client, f"{target.base_url}{PATHS[kind]}", kind, timeout)
        if probe.ok:
            break
    return probe


async def _probe_once(
    client: httpx.AsyncClient, url: str, kind: ProbeKind, timeout: float
) -> Probe:
    import httpx

    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            response = await client.get(url)
    except (TimeoutError, httpx.TimeoutException):
        return Probe(ok=False, status=f"timeout after {timeout:g}s")
    except httpx.HTTPError as exc:
        return Probe(ok=False, status=_transport_status(exc))
    latency = round((time.perf_counter() - started) * 1000, 1)
    try:
        body = response.json()
    except ValueError:
        return Probe(
            ok=False,
            status="non-JSON body",
            http_status=response.status_code,
            latency_ms=latency,
        )
    failing = _failing_checks(body) if kind == "ready" else ()
    ok = response.status_code == 200 and _body_passes(body)
    if ok:
        status = "ok"
    elif response.status_code != 200:
        status = f"HTTP {response.status_code}"
    else:
        status = "reports fail"
    return Probe(
        ok=ok,
        status=status,
        http_status=response.status_code,
        latency_ms=latency,
        failing=failing,
        body=body,
    )


def _body_passes(body: Any) -> bool:
    """The generated services answer ``{"status": "pass", ...}``; other shapes count as ok."""
    if isinstance(body, dict) and "status" in body:
        return str(body["status"]).lower() in {"pass", "ok", "up", "healthy"}
    return True


def _failing_checks(body: Any) -> tuple[str, ...]:
    checks = body.get("checks") if isinstance(body, dict) else None
    if not isinstance(checks, dict):
        return ()
    return tuple(
        sorted(
            name
            for name, check in checks.items()
            if isinstance(check, dict) and str(check.get("status", "")).lower() == "fail"
        )
    )


_TEXT_CAUSES = (
    ("connection refused", "connection refused"),
    ("connect call failed", "connection refused"),
    ("name or service not known", "DNS lookup failed"),
    ("temporary failure in name resolution", "DNS lookup failed"),
    ("nodename nor servname", "DNS lookup failed"),
)


def _cause_status(cause: BaseException) -> str | None:
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return "DNS lookup failed"
    if isinstance(cause, ssl.SSLError):
        return f"TLS error: {cause.reason or cause}"
    return None


def _transport_status(exc: BaseException) -> str:
    """Name the cause of a transport error from its exception chain, else its text."""
    for cause in _chain(exc):
        status = _cause_status(cause)
        if status is not None:
            return status
    text = str(exc).lower()
    for needle, status in _TEXT_CAUSES:
        if needle in text:
            return status
    if "ssl" in text or "certificate" in text:
        return f"TLS error: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)


_RANK = {"down": 0, "not ready": 1, "healthy": 2}


def sort_key(result: TargetHealth) -> tuple[int, str, str]:
    """Problems first, then by service and instance: how people scan the table."""
    return (_RANK[result.state], result.target.service, result.target.instance)


def workspace_targets(
    workspace: Workspace, names: Sequence[str], *, host: str = "127.0.0.1"
) -> list[Target]:
    """Targets for the named services (all when none are named) at their recorded ports."""
    workspace.require(names)
    services = workspace.services
    return [
        Target(
            service=name,
            instance=f"{host}:{services[name].port}",
            base_url=f"http://{host}:{services[name].port}",
        )
        for name in names or list(services)
    ]


def consul_targets(instances: Sequence[Instance], names: Sequence[str]) -> list[Target]:
    """Every instance Consul knows of the named services (all when none are named)."""
    known = {instance.service for instance in instances}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UnknownServiceError(
            f"Consul knows no instance of {unknown[0]!r}",
            hint=f"it has: {', '.join(sorted(known)) or 'no services'}",
        )
    return [
        Target(
            service=instance.service,
            instance=instance.id,
            base_url=f"http://{instance.address}:{instance.port}",
        )
        for instance in instances
        if not names or instance.service in names
    ]
