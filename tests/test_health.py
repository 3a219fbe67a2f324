import time

import pytest

from msgen.errors import UsageError
from msgen.health import Target, check_health, parse_target_url, sort_key, workspace_targets
from msgen.workspace import ServiceEntry, Workspace
from tests.health_servers import health_server
from tests.servicekit import free_port


def target(base: str, name: str) -> Target:
    return Target(service=name, instance=name, base_url=f"{base}/{name}")


def test_each_failure_gets_its_own_status() -> None:
    refused = f"http://127.0.0.1:{free_port()}"
    with health_server() as base:
        targets = [target(base, n) for n in ("healthy", "sick", "degraded", "hang", "garbage")]
        targets.append(Target(service="refused", instance="refused", base_url=refused))
        targets.append(
            Target(service="tls", instance="tls", base_url=base.replace("http", "https"))
        )
        results = {r.target.service: r for r in check_health(targets, timeout=1)}

    assert results["healthy"].healthy
    assert results["healthy"].ready.status == "ok"
    assert results["healthy"].ready.http_status == 200
    assert results["healthy"].ready.latency_ms is not None

    sick = results["sick"]
    assert (sick.live.ok, sick.ready.ok, sick.state) == (True, False, "not ready")
    assert sick.ready.status == "HTTP 503"
    assert sick.ready.failing == ("database",)

    assert results["degraded"].ready.status == "reports fail"
    assert results["hang"].live.status == "timeout after 1s"
    assert results["hang"].state == "down"
    assert results["garbage"].live.status == "non-JSON body"
    assert results["refused"].live.status == "connection refused"
    assert results["tls"].live.status.startswith("TLS error")


def test_dns_failure_is_named() -> None:
    [result] = check_health(
        [Target(service="x", instance="x", base_url="http://no-such-host.invalid")], timeout=2
    )
    assert result.live.status in {"DNS lookup failed", "timeout after 2s"}
    assert not result.healthy


def test_many_hanging_targets_finish_in_about_one_timeout() -> None:
    with health_server() as base:
        targets = [target(base, "hang") for _ in range(10)]
        targets += [target(base, "healthy") for _ in range(40)]
        started = time.monotonic()
        # 3 s: the healthy answers must come back in time even on a loaded 2-core machine
        # (at 1 s, 50 concurrent probes there timed out healthy targets too).
        results = check_health(targets, timeout=3)
        elapsed = time.monotonic() - started
    assert sum(r.healthy for r in results) == 40
    # Sequential probing would take at least 30 s; concurrency bounds it by the timeout.
    assert elapsed < 10


def test_retries_probe_again() -> None:
    refused = f"http://127.0.0.1:{free_port()}"
    [result] = check_health([Target(service="r", instance="r", base_url=refused)], retries=2)
    assert result.live.status == "connection refused"


def test_sort_puts_problems_first() -> None:
    with health_server() as base:
        results = check_health([target(base, n) for n in ("healthy", "sick", "garbage")])
    assert [r.state for r in sorted(results, key=sort_key)] == ["down", "not ready", "healthy"]


def test_as_dict_is_json_ready() -> None:
    with health_server() as base:
        [result] = check_health([target(base, "sick")])
    data = result.as_dict()
    assert data["state"] == "not ready"
    assert data["ready"]["failing"] == ["database"]
    assert data["ready"]["http_status"] == 503


@pytest.mark.parametrize("url", ["ftp://x", "localhost:8000", "http://", "http://h:99999", ""])
def test_bad_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        parse_target_url(url)


def test_url_target() -> None:
    parsed = parse_target_url("http://127.0.0.1:8001/")
    assert (parsed.instance, parsed.base_url) == ("127.0.0.1:8001", "http://127.0.0.1:8001")


def test_workspace_targets() -> None:
    services = Workspace(
        name="shop",
        services={
            "orders": ServiceEntry(path="o", port=8001),
            "edge": ServiceEntry(path="e", port=8000),
        },
    )
    assert [t.base_url for t in workspace_targets(services, [])] == [
        "http://127.0.0.1:8001",
        "http://127.0.0.1:8000",
    ]
    assert [t.service for t in workspace_targets(services, ["edge"])] == ["edge"]
    with pytest.raises(UsageError, match="unknown service 'nope'"):
        workspace_targets(services, ["nope"])


@pytest.mark.parametrize(("timeout", "retries"), [(0, 0), (-1, 0), (1, -1)])
def test_bad_timeout_or_retries(timeout: float, retries: int) -> None:
    with pytest.raises(UsageError):
        check_health([], timeout=timeout, retries=retries)
