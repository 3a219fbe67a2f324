"""Consul's HTTP API, as msgen uses it: register, deregister and list service instances.

httpx against the documented HTTP API rather than a client library (see docs/decisions.md):
msgen already depends on httpx, the five endpoints it needs are small and stable, and the
same shapes are what the generated services send. httpx is imported inside the functions
that use it, and its errors become :class:`~msgen.errors.ConsulError` right here, so the CLI
shows one line (never a traceback) when Consul is down or refuses the token.

API pages followed: https://developer.hashicorp.com/consul/api-docs/agent/service,
/api-docs/health, /api-docs/catalog, /api-docs/status and, for the token,
/api-docs/api-structure#authentication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from msgen.errors import ConsulError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_CONSUL_ADDR",
    "ConsulClient",
    "Instance",
    "Registration",
    "consul_base_url",
]

DEFAULT_CONSUL_ADDR = "127.0.0.1:8500"
Status = Literal["passing", "warning", "critical"]
_SEVERITY: dict[str, int] = {"passing": 0, "warning": 1, "critical": 2}


def consul_base_url(address: str | None) -> str:
    """``CONSUL_HTTP_ADDR`` as Consul's own tools read it: ``host:port`` or a URL."""
    address = (address or DEFAULT_CONSUL_ADDR).strip().rstrip("/")
    return address if "://" in address else f"http://{address}"


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
        self.token = token or None
        self.timeout = timeout

    def register(self, registration: Registration) -> str:
        """Register (or re-register) an instance; return its ID."""
        self._call("PUT", "/v1/agent/service/register", json=registration.to_api())
        return registration.service_id

    def deregister(self, service_id: str) -> None:
        """Remove an instance registered with this agent."""
        response = self._call("PUT", f"/v1/agent/service/deregister/{service_id}", ok=(404,))
        if response.status_code == 404:
            raise ConsulError(
                f"Consul at {self.base_url} has no service instance with ID {service_id!r}",
                hint="'msgen services' lists the instances and their IDs",
            )

    def instances(self, *, include_consul: bool = False) -> list[Instance]:
        """Every instance of every service in the catalog, with its check status."""
        names = sorted(self._call("GET", "/v1/catalog/services").json())
        found: list[Instance] = []
        for name in names:
            if name == "consul" and not include_consul:
                continue
            for entry in self._call("GET", f"/v1/health/service/{name}").json():
                found.append(_instance(entry))
        return found

    def leader(self) -> str:
        """The Raft leader's address: a cheap "is Consul there" probe."""
        return str(self._call("GET", "/v1/status/leader").json())

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
        except httpx.HTTPError as exc:
            raise ConsulError(
                f"Consul is unreachable at {self.base_url}: {exc}",
                hint="start Consul, or point --consul / CONSUL_HTTP_ADDR at it",
            ) from exc
        if response.status_code < 400 or response.status_code in ok:
            return response
        detail = response.text.strip().splitlines()[0] if response.text.strip() else ""
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
    checks = tuple((str(c.get("Name") or c["CheckID"]), str(c["Status"])) for c in entry["Checks"])
    worst = max((s for _, s in checks), key=lambda s: _SEVERITY.get(s, 2), default="passing")
    status = cast("Status", worst if worst in _SEVERITY else "critical")
    return Instance(
        service=str(service["Service"]),
        id=str(service["ID"]),
        address=str(service.get("Address") or entry["Node"]["Address"]),
        port=int(service["Port"]),
        tags=tuple(service.get("Tags") or ()),
        status=status,
        checks=checks,
    )
