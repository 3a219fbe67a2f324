"""A generated service registers with Consul (the double) as it starts and leaves as it stops.

Under uvicorn, as deployed: start -> registered with a passing check on /health/ready;
stop -> deregistered; Consul down at start -> the service serves anyway and registers once
Consul comes up.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.consul_double import ConsulDouble
from tests.servicekit import free_port, install, render, serve
from tests.waiting import wait_for

pytestmark = pytest.mark.slow


def test_service_registers_on_start_and_deregisters_on_stop(tmp_path: Path) -> None:
    service = render(tmp_path, "pinger", db="none", discovery="consul")
    python = install(service)
    consul_port = free_port()
    env = {
        "CONSUL_HTTP_ADDR": f"127.0.0.1:{consul_port}",
        "CONSUL_CHECK_INTERVAL": "100ms",
        "CONSUL_CHECK_TIMEOUT": "2s",
        "REGISTRATION_RETRY_MAX": "0.2",
        "SERVICE_TAGS": '["edge"]',
    }

    # Consul is down as the service starts: it serves, and registers once Consul is up.
    with ExitStack() as later:  # the double outlives the service, to see it deregister
        with serve(service, python, "pinger", env) as base:
            port = int(base.rsplit(":", 1)[1])
            instance = f"pinger-127.0.0.1-{port}"
            assert httpx.get(f"{base}/health/ready", timeout=10).status_code == 200
            consul = later.enter_context(ConsulDouble(port=consul_port))
            wait_for(lambda: instance in consul.services, what="registration once Consul is up")
            wait_for(lambda: consul.status_of(instance) == "passing", what="a passing check")
            registered = consul.services[instance]
            assert registered["Service"] == "pinger"
            assert (registered["Address"], registered["Port"]) == ("127.0.0.1", port)
            assert set(registered["Tags"]) == {"edge", "version=0.1.0"}
            assert registered["Meta"] == {"version": "0.1.0", "environment": "development"}
            check = consul.checks[instance]
            assert check.url == f"http://127.0.0.1:{port}/health/ready"
            assert check.deregister_after == 60
            passing = httpx.get(f"{consul.url}/v1/health/service/pinger?passing").json()
            assert [entry["Service"]["ID"] for entry in passing] == [instance]
        # serve() stopped uvicorn with SIGTERM, as a container runtime does.
        assert ("PUT", f"/v1/agent/service/deregister/{instance}") in consul.requests
        assert consul.services == {}

    # Consul up from the start: registered at once; deregistered on stop.
    with ConsulDouble(port=consul_port) as consul:
        with serve(service, python, "pinger", env) as base:
            port = int(base.rsplit(":", 1)[1])
            instance = f"pinger-127.0.0.1-{port}"
            wait_for(lambda: consul.status_of(instance) == "passing", what="a passing check")
        assert ("PUT", f"/v1/agent/service/deregister/{instance}") in consul.requests
        assert instance not in consul.services
