"""The Consul double keeps Consul's contract: shapes, status codes, ACLs, running checks."""

from __future__ import annotations

import httpx
import pytest

from tests.consul_double import ConsulDouble, parse_duration
from tests.waiting import status_server, wait_for


def body(name: str, port: int, check_url: str | None = None, **extra: object) -> dict:
    data: dict = {"ID": f"{name}-1", "Name": name, "Address": "127.0.0.1", "Port": port}
    if check_url:
        data["Check"] = {"HTTP": check_url, "Interval": "50ms", "Timeout": "1s", **extra}
    return data


def test_parse_duration() -> None:
    assert parse_duration("10s") == 10
    assert parse_duration("1m30s") == 90
    assert parse_duration("500ms") == 0.5
    with pytest.raises(ValueError):
        parse_duration("10")


def test_register_list_and_deregister() -> None:
    with ConsulDouble() as consul:
        url = consul.url
        reg = httpx.put(f"{url}/v1/agent/service/register", json=body("orders", 8001))
        assert (reg.status_code, reg.text) == (200, "")
        services = httpx.get(f"{url}/v1/agent/services").json()
        assert services["orders-1"]["Service"] == "orders"
        assert services["orders-1"]["Port"] == 8001
        assert httpx.get(f"{url}/v1/catalog/services").json() == {"consul": [], "orders": []}
        assert httpx.put(f"{url}/v1/agent/service/deregister/orders-1").status_code == 200
        missing = httpx.put(f"{url}/v1/agent/service/deregister/orders-1")
        assert missing.status_code == 404
        assert "Unknown service ID" in missing.text
        assert httpx.get(f"{url}/v1/status/leader").json() == "127.0.0.1:8300"


def test_bad_requests_get_consuls_status_codes() -> None:
    with ConsulDouble() as consul:
        url = consul.url
        assert httpx.put(f"{url}/v1/agent/service/register", content=b"{").status_code == 400
        assert httpx.put(f"{url}/v1/agent/service/register", json={"Port": 1}).status_code == 400
        assert httpx.get(f"{url}/v1/agent/service/register").status_code == 405
        assert httpx.get(f"{url}/v1/kv/anything").status_code == 404


def test_checks_run_and_passing_filters() -> None:
    with ConsulDouble() as consul, status_server() as target:
        url = consul.url
        httpx.put(f"{url}/v1/agent/service/register", json=body("orders", 1, target.url))
        wait_for(lambda: consul.status_of("orders-1") == "passing", what="passing check")
        entries = httpx.get(f"{url}/v1/health/service/orders", params={"passing": ""}).json()
        assert [e["Service"]["ID"] for e in entries] == ["orders-1"]
        assert {c["CheckID"] for c in entries[0]["Checks"]} == {"serfHealth", "service:orders-1"}
        assert entries[0]["Node"]["Node"] == "consul-double"

        target.status = 503
        wait_for(lambda: consul.status_of("orders-1") == "critical", what="critical check")
        passing = httpx.get(f"{url}/v1/health/service/orders?passing").json()
        assert passing == []
        assert len(httpx.get(f"{url}/v1/health/service/orders").json()) == 1


def test_critical_service_is_reaped_after_the_deadline() -> None:
    with ConsulDouble() as consul, status_server() as target:
        target.status = 500
        reg = body("orders", 1, target.url, DeregisterCriticalServiceAfter="200ms")
        httpx.put(f"{consul.url}/v1/agent/service/register", json=reg)
        wait_for(lambda: "orders-1" not in consul.services, what="reaping")


def test_acl_token_is_required_when_configured() -> None:
    with ConsulDouble(token="s3cret") as consul:
        url = consul.url
        anonymous = httpx.get(f"{url}/v1/agent/services")
        assert (anonymous.status_code, anonymous.text) == (403, "Permission denied")
        wrong = httpx.get(f"{url}/v1/agent/services", headers={"X-Consul-Token": "nope"})
        assert (wrong.status_code, wrong.text) == (403, "ACL not found")
        for kwargs in (
            {"headers": {"X-Consul-Token": "s3cret"}},
            {"headers": {"Authorization": "Bearer s3cret"}},
            {"params": {"token": "s3cret"}},
        ):
            assert httpx.get(f"{url}/v1/agent/services", **kwargs).status_code == 200
        assert httpx.get(f"{url}/v1/status/leader").status_code == 200
