"""Two generated services behind a generated gateway, all under uvicorn, as deployed.

Every method is proxied (the gateway's answer equals the service's own); a killed service
makes the gateway open its circuit and answer 503 at once; the restarted service is
reached again once the circuit half-opens. The gateway also passes ruff and its own suite.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from msgen.gateway import NewGatewayOptions, new_gateway
from tests.consul_double import ConsulDouble
from tests.servicekit import (
    free_port,
    install,
    mypy_clean,
    render,
    ruff_clean,
    run_own_tests,
    serve,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS"]


def test_gateway_proxies_two_services_and_survives_an_outage(tmp_path: Path) -> None:
    orders = render(tmp_path, "orders", db="sqlite")
    billing = render(tmp_path, "billing", db="none")
    gateway = new_gateway(NewGatewayOptions(), cwd=tmp_path).target
    ruff_clean(gateway)
    gateway_python = install(gateway)
    mypy_clean(gateway, gateway_python)
    assert " passed" in run_own_tests(gateway, gateway_python)
    orders_python = install(orders)
    billing_python = install(billing)

    billing_port = free_port()
    orders_env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"}
    with (
        serve(orders, orders_python, "orders", orders_env) as orders_url,
        ExitStack() as billing_alive,
    ):
        billing_url = billing_alive.enter_context(
            serve(billing, billing_python, "billing", {}, port=billing_port)
        )
        gateway_env = {
            "UPSTREAM_ORDERS_URL": orders_url,
            "UPSTREAM_BILLING_URL": billing_url,
            "BREAKER_FAILURE_THRESHOLD": "3",
            "BREAKER_RESET_TIMEOUT": "2",
            "RATE_LIMIT_BURST": "1000",
            "RATE_LIMIT_PER_SECOND": "1000",
        }
        with (
            serve(gateway, gateway_python, "gateway", gateway_env) as gw,
            httpx.Client(base_url=gw, timeout=15) as client,
        ):
            ready = client.get("/health/ready")
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checks"]) == {"orders", "billing"}

            created = client.post("/orders/orders", json={"name": "via gateway"})
            assert created.status_code == 201, created.text
            order_id = created.json()["id"]
            item = f"/orders/{order_id}"
            assert client.get(f"/orders{item}").json()["name"] == "via gateway"
            listing = client.get("/orders/orders", params={"limit": 1, "offset": 0})
            assert listing.json()["total"] == 1
            patched = client.patch(f"/orders{item}", json={"status": "archived"})
            assert patched.json()["status"] == "archived"
            # Every method reaches the service: the gateway answers what the service answers
            # (DELETE last, through the gateway only: it changes what the others see).
            for method in METHODS:
                direct = httpx.request(method, f"{orders_url}{item}", timeout=15)
                proxied = client.request(method, f"/orders{item}")
                assert proxied.status_code == direct.status_code, method
                assert proxied.headers.get("allow") == direct.headers.get("allow"), method
            assert client.delete(f"/orders{item}").status_code == 204
            assert client.get(f"/orders{item}").status_code == 404
            assert client.get("/billing/").json()["service"] == "billing"
            request_id = client.get("/billing/", headers={"X-Request-ID": "r-1"})
            assert request_id.headers["x-request-id"] == "r-1"
            # One Date and one Server: the gateway's own, not the upstream's as well.
            assert len(request_id.headers.get_list("date")) == 1
            assert len(request_id.headers.get_list("server")) == 1
            assert client.get("/nowhere/x").status_code == 404

            # billing goes away: a connection error (502; its three attempts are three
            # failures), then the circuit is open: 503 at once, without trying billing.
            billing_alive.close()
            assert client.get("/billing/").status_code == 502
            opened = client.get("/billing/")
            assert opened.status_code == 503
            assert int(opened.headers["retry-after"]) >= 1
            assert client.get("/orders/orders").status_code == 200  # others are unaffected
            not_ready = client.get("/health/ready")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["billing"]["status"] == "fail"

            # billing is back on its port: after the reset timeout one probe closes the circuit.
            with serve(billing, billing_python, "billing", {}, port=billing_port):
                wait_for(
                    lambda: client.get("/billing/").status_code == 200,
                    what="the gateway to reach billing again",
                )
                assert client.get("/health/ready").status_code == 200


def test_consul_gateway_round_robins_over_passing_instances(tmp_path: Path) -> None:
    """Gateway and service with --discovery consul, against the Consul double."""
    pinger = render(tmp_path, "pinger", db="none", discovery="consul")
    gateway = new_gateway(NewGatewayOptions(discovery="consul"), cwd=tmp_path).target
    pinger_python, gateway_python = install(pinger), install(gateway)
    with ConsulDouble() as consul, ExitStack() as instance_b:
        common = {"CONSUL_HTTP_ADDR": consul.address, "CONSUL_CHECK_INTERVAL": "100ms"}
        with serve(pinger, pinger_python, "pinger", {**common, "ENVIRONMENT": "a"}):
            instance_b.enter_context(
                serve(pinger, pinger_python, "pinger", {**common, "ENVIRONMENT": "b"})
            )

            def passing() -> int:
                return len(consul.health("pinger", passing=True))

            wait_for(lambda: passing() == 2, what="both instances passing")
            gateway_env = {
                **common,
                "DISCOVERY_CACHE_SECONDS": "0.2",
                # A dead static address: every answer below came through Consul.
                "UPSTREAM_PINGER_URL": f"http://127.0.0.1:{free_port()}",
            }
            with (
                serve(gateway, gateway_python, "gateway", gateway_env) as gw,
                httpx.Client(base_url=gw, timeout=15) as client,
            ):
                seen = {client.get("/pinger/").json()["environment"] for _ in range(6)}
                assert seen == {"a", "b"}
                wait_for(lambda: "gateway" in consul.catalog(), what="the gateway registered")

                instance_b.close()  # deregisters on SIGTERM
                wait_for(lambda: passing() == 1, what="instance b gone from Consul")
                wait_for(
                    lambda: (
                        {client.get("/pinger/").json()["environment"] for _ in range(4)} == {"a"}
                    ),
                    what="the gateway to use only instance a",
                )
