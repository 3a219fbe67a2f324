"""Consul's HTTP API, as msgen uses it: register, deregister and list service instances.

httpx against the documented HTTP API rather than a client library (see docs/decisions.md):
msgen already depends on httpx, the five endpoints it needs are small and stable, and the
same shapes are what the generated services send. httpx is imported inside the functions
that use it, and its errors become :class:`~msgen.errors.ConsulError` right here, so the CLI
shows one line (never a traceback) when Consul is down or refuses the token.

API pages followed: https://developer.hashicorp.com/consul/api-docs/agent/service,
/api-docs/health, /api-docs/catalog, /api-docs/status and, for the token,
/api-docs/api-structure#authentication.

Everything that reaches Consul is treated as hostile: the agent address must be an http(s)
URL, the token printable ASCII, an instance ID msgen is given must follow
:data:`INSTANCE_ID_RULE` (``../../leave`` must never turn into ``PUT /v1/agent/leave``), and
every path segment msgen sends is percent-escaped. Consul's answers are checked too: one
that is not JSON, or not of the documented shape, is one ConsulError line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote, urlsplit

from msgen.errors import ConsulError, UsageError
from msgen.inputs import shorten

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_CONSUL_ADDR",
    "ConsulClient",
    "Instance",
    "Registration",
    "consul_base_url",
    "validate_instance_id",
]

DEFAULT_CONSUL_ADDR = "127.0.0.1:8500"
Status = Literal["passing", "warning", "critical"]
_SEVERITY: dict[str, int] = {"passing": 0, "warning": 1, "critical": 2}


_INSTANCE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,255}$")
INSTANCE_ID_RULE = (
    "up to 256 letters, digits and the characters - _ . : (not starting with - . or :)"
)


def consul_base_url(address: str | None) -> str:
    """``CONSUL_HTTP_ADDR`` as Consul's own tools read it: ``host:port`` or a URL.

    A malformed address (``http://[::1``, a port that is not a number, a scheme other than
    http and https, a query) is a usage error here, before any request.
    """
    given = (address or DEFAULT_CONSUL_ADDR).strip()
    url = given.rstrip("/")
    url = url if "://" in url else f"http://{url}"
    problem = _url_problem(url)
    if problem is not None:
        raise UsageError(
            f"bad Consul address {shorten(repr(given))}: {problem}",
            hint="pass --consul (or set CONSUL_HTTP_ADDR) as HOST:PORT or http(s)://HOST:PORT",
        )
    return url


def _url_problem(url: str) -> str | None:
    if not url.isascii() or not url.isprintable():
        return "it must be printable ASCII"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return str(exc)
    problems = {
        "the scheme must be http or https": parts.scheme not in {"http", "https"},
        "it has no host": not parts.hostname,
        "the port must be 1-65535": port == 0,
        "it must not have a query, a fragment or credentials": bool(
            parts.query or parts.fragment or parts.username is not None
        ),
    }
    return next((problem for problem, found in problems.items() if found), None)


def validate_instance_id(value: str) -> str:
    """Return ``value`` if it is an acceptable Consul instance ID, else raise UsageError.

    Consul itself accepts almost any ID, but msgen puts it in a URL path: ``/``, ``?``,
    ``#``, ``..`` or spaces would change which endpoint is called, so they are refused.
    """
    if not _INSTANCE_ID.match(value):
        raise UsageError(
            f"invalid instance ID {shorten(repr(value))}: use {INSTANCE_ID_RULE}",
            hint="'msgen services' lists the instances and their IDs",
        )
    return value


def _segment(value: str) -> str:
    """One URL path segment, percent-escaped; ``.``/``..`` and empty cannot be escaped."""
    if value in {"", ".", ".."}:
        raise ConsulError(f"refusing to send the path segment {value!r} to Consul")
    return quote(value, safe="")


def _token(token: str | None) -> str | None:
    if not token:
        return None
    if not token.isascii() or not token.isprintable():
        raise UsageError(
            "the Consul token must be printable ASCII (it goes into an HTTP header)",
            hint="check --token / CONSUL_HTTP_TOKEN (a Consul ACL token is a UUID)",
        )
    return token


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """One service instance to register, with an HTTP check when ``check_url`` is set."""

    name: str
    address: str
    port: int
    id: str | None = None
    tags: tuple[str, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)
    check_url: str | None = None
    check_interval: str = "10s"
    check_timeout: str = "5s"
    deregister_critical_after: str = "1m"

    @property
    def service_id(self) -> str:
        return self.id or f"{self.name}-{self.address}-{self.port}"

    def to_api(self) -> dict[str, Any]:
        """The body of ``PUT /v1/agent/service/register``."""
        body: dict[str, Any] = {
            "ID": self.service_id,
            "Name": self.name,
            "Tags": list(self.tags),
            "Address": self.address,
            "Port": self.port,
            "Meta": dict(self.meta),
        }
        if self.check_url:
            body["Check"] = {
                "HTTP": self.check_url,
                "Interval": self.check_interval,
                "Timeout": self.check_timeout,
                "DeregisterCriticalServiceAfter": self.deregister_critical_after,
            }
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class Instance:
    """One instance of a service, as ``/v1/health/service/<name>`` reports it."""

    service: str
    id: str
    address: str
    port: int
    tags: tuple[str, ...]
    status: Status
    """The worst status of its checks (node checks included), as Consul's filters see it."""
    checks: tuple[tuple[str, str], ...]
    """(check name, status) pairs."""

    def to_data(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "id": self.id,
            "address": self.address,
            "port": self.port,
            "tags": list(self.tags),
            "status": self.status,
            "checks": [{"name": name, "status": status} for name, status in self.checks],
        }


class ConsulClient:
    """A synchronous client for the Consul agent at ``address`` (``host:port`` or URL)."""

    def __init__(self, *, address: str | None, token: str | None, timeout: float = 5.0) -> None:
        self.base_url = consul_base_url(address)
        self.token = _token(token)
        self.timeout = timeout

    def register(self, registration: Registration) -> str:
        """Register (or re-register) an instance; return its ID."""
        validate_instance_id(registration.service_id)
        self._call("PUT", "/v1/agent/service/register", json=registration.to_api())
        return registration.service_id

    def deregister(self, service_id: str) -> None:
        """Remove an instance registered with this agent."""
        validate_instance_id(service_id)
        path = f"/v1/agent/service/deregister/{_segment(service_id)}"
        response = self._call("PUT", path, ok=(404,))
        if response.status_code == 404:
            raise ConsulError(
                f"Consul at {self.base_url} has no service instance with ID {service_id!r}",
                hint="'msgen services' lists the instances and their IDs",
            )

    def instances(self, *, include_consul: bool = False) -> list[Instance]:
        """Every instance of every service in the catalog, with its check status."""
        catalog = self._json("GET", "/v1/catalog/services")
        if not isinstance(catalog, dict) or not all(isinstance(n, str) for n in catalog):
            raise self._odd("/v1/catalog/services", "expected an object of service names")
        found: list[Instance] = []
        for name in sorted(catalog):
            if name == "consul" and not include_consul:
                continue
            path = f"/v1/health/service/{_segment(name)}"
            entries = self._json("GET", path)
            if not isinstance(entries, list):
                raise self._odd(path, "expected a list of instances")
            for entry in entries:
                try:
                    found.append(_instance(entry))
                except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
                    raise self._odd(path, "an instance lacks Service, Checks or Node") from None
        return found

    def leader(self) -> str:
        """The Raft leader's address: a cheap "is Consul there" probe."""
        return str(self._json("GET", "/v1/status/leader"))

    def _json(self, method: str, path: str) -> Any:
        """The JSON body of a successful call; anything else is one ConsulError line."""
        response = self._call(method, path)
        try:
            return response.json()
        except ValueError:
            raise self._odd(path, "the answer is not JSON") from None

    def _odd(self, path: str, problem: str) -> ConsulError:
        return ConsulError(
            f"Consul at {self.base_url} gave an unexpected answer to {path}: {problem}",
            hint="is --consul / CONSUL_HTTP_ADDR the address of a Consul agent?",
        )

    def _call(
        self, method: str, path: str, *, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        import httpx

        headers = {"X-Consul-Token": self.token} if self.token else {}
        try:
            response = httpx.request(
                method,
                f"{self.base_url}{path}",
                headers=headers,
                timeout=self.timeout,
                **kwargs,
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ConsulError(
                f"Consul is unreachable at {self.base_url}: {shorten(str(exc), 200)}",
                hint="start Consul, or point --consul / CONSUL_HTTP_ADDR at it",
            ) from exc
        if response.status_code < 400 or response.status_code in ok:
            return response
        text = response.text.strip()
        detail = shorten(text.splitlines()[0], 200) if text else ""
        if response.status_code == 403:
            raise ConsulError(
                f"Consul at {self.base_url} refused the request: {detail or 'permission denied'}",
                hint="set CONSUL_HTTP_TOKEN (or --token) to an ACL token with the permission",
            )
        raise ConsulError(
            f"Consul at {self.base_url} answered {response.status_code} to {method} {path}"
            + (f": {detail}" if detail else "")
        )


def _instance(entry: dict[str, Any]) -> Instance:
    service = entry["Service"]
    checks = tuple(
        (str(c.get("Name") or c["CheckID"]), str(c["Status"])) for c in _list(entry["Checks"])
    )
    worst = max((s for _, s in checks), key=lambda s: _SEVERITY.get(s, 2), default="passing")
    status = cast("Status", worst if worst in _SEVERITY else "critical")
    return Instance(
        service=str(service["Service"]),
        id=str(service["ID"]),
        address=str(service.get("Address") or entry["Node"]["Address"]),
        port=int(service["Port"]),
        tags=tuple(str(tag) for tag in _list(service.get("Tags") or [])),
        status=status,
        checks=checks,
    )


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value
