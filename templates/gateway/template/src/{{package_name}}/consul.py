"""A small client for the Consul agent's HTTP API, on the process's pooled httpx client.

Endpoints (https://developer.hashicorp.com/consul/api-docs): PUT
/v1/agent/service/register, PUT /v1/agent/service/deregister/:id and GET
/v1/health/service/:name?passing. The ACL token goes in the X-Consul-Token header.
"""

import httpx


class ConsulError(Exception):
    """Consul could not be reached, or refused the request."""


def consul_base_url(address: str) -> str:
    """CONSUL_HTTP_ADDR as Consul's own tools read it: ``host:port`` or a full URL."""
    address = address.strip().rstrip("/")
    return address if "://" in address else f"http://{address}"


class ConsulClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        address: str,
        token: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.http = http
        self.base_url = consul_base_url(address)
        self.headers = {"X-Consul-Token": token} if token else {}
        self.timeout = timeout

    async def register(self, service: dict[str, object]) -> None:
        await self._call("PUT", "/v1/agent/service/register", json=service)

    async def deregister(self, service_id: str) -> None:
        await self._call("PUT", f"/v1/agent/service/deregister/{service_id}")

    async def passing_instances(self, name: str) -> list[tuple[str, int]]:
        """(address, port) of every instance of ``name`` whose checks all pass."""
        response = await self._call("GET", f"/v1/health/service/{name}", params={"passing": ""})
        instances = []
        for entry in response.json():
            service = entry["Service"]
            address = service.get("Address") or entry["Node"]["Address"]
            instances.append((address, int(service["Port"])))
        return instances

    async def _call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = await self.http.request(
                method,
                f"{self.base_url}{path}",
                headers=self.headers,
                timeout=self.timeout,
                **kwargs,  # type: ignore[arg-type]
            )
        except httpx.HTTPError as exc:
            raise ConsulError(f"Consul at {self.base_url} is unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise ConsulError(
                f"Consul refused {method} {path}: {response.status_code} {response.text.strip()}"
            )
        return response
