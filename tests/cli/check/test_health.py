import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from tests.health_servers import health_server

runner = CliRunner()


def workspace(root: Path, ports: dict[str, int]) -> None:
    services = "".join(f"  {n}:\n    path: {n}\n    port: {p}\n" for n, p in ports.items())
    (root / "msgen.yaml").write_text(f"schema: 1\nname: shop\nservices:\n{services}")


def test_all_healthy_exits_0_with_table() -> None:
    with health_server() as base:
        result = runner.invoke(
            app, ["check", "health", "--url", f"{base}/healthy"], env={"COLUMNS": "200"}
        )
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout
    assert "/healthy" in result.stdout


def test_unhealthy_exits_1_and_names_dependency_in_json() -> None:
    with health_server() as base:
        result = runner.invoke(
            app, ["check", "health", "--json", "--url", f"{base}/healthy", "--url", f"{base}/sick"]
        )
    assert result.exit_code == 1
    assert result.stderr == ""
    data = json.loads(result.stdout)
    sick = next(d for d in data if d["service"].endswith("/sick"))
    assert sick["ready"]["failing"] == ["database"]
    assert sick["state"] == "not ready"


def test_table_shows_failing_dependency_and_problems_first() -> None:
    with health_server() as base:
        result = runner.invoke(
            app,
            ["check", "health", "--url", f"{base}/healthy", "--url", f"{base}/sick"],
            env={"COLUMNS": "200"},
        )
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if "/sick" in line or "/healthy" in line]
    assert "/sick" in lines[0]
    assert "database" in lines[0]
    assert "HTTP 503" in lines[0]


def test_workspace_services_are_the_default_targets(in_tmp: Path) -> None:
    from tests.servicekit import free_port

    workspace(in_tmp, {"orders": free_port()})
    result = runner.invoke(app, ["check", "health", "--json"])
    assert result.exit_code == 1
    [row] = json.loads(result.stdout)
    assert row["service"] == "orders"
    assert row["live"]["status"] == "connection refused"


def test_unknown_service_is_usage_error(in_tmp: Path) -> None:
    workspace(in_tmp, {"orders": 8001})
    result = runner.invoke(app, ["check", "health", "billing"])
    assert result.exit_code == 2
    assert "unknown service 'billing'" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--url", "nope"],
        ["--url", "http://x", "--timeout", "0"],
        ["--url", "http://x", "--watch", "0"],
    ],
)
def test_bad_arguments_exit_2(in_tmp: Path, args: list[str]) -> None:
    result = runner.invoke(app, ["check", "health", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_consul_instances_are_checked(in_tmp: Path) -> None:
    from tests.consul_double import ConsulDouble
    from tests.servicekit import free_port

    with health_server() as base, ConsulDouble(token="secret") as consul:
        port = int(base.rsplit(":", 1)[1])
        for service_id, service, p in [
            ("orders-1", "orders", port),
            ("orders-2", "orders", free_port()),
            ("billing-1", "billing", port),
        ]:
            consul.register({"ID": service_id, "Name": service, "Address": "127.0.0.1", "Port": p})
        env = {"CONSUL_HTTP_ADDR": consul.address, "CONSUL_HTTP_TOKEN": "secret", "COLUMNS": "200"}
        everything = runner.invoke(app, ["check", "health", "--consul", "--json"], env=env)
        only_billing = runner.invoke(app, ["check", "health", "--consul", "billing"], env=env)
        unknown = runner.invoke(app, ["check", "health", "--consul", "payments"], env=env)
        no_token = runner.invoke(
            app, ["check", "health", "--consul"], env={"CONSUL_HTTP_ADDR": consul.address}
        )
    assert everything.exit_code == 1, everything.output
    rows = {row["instance"]: row for row in json.loads(everything.stdout)}
    assert set(rows) == {"orders-1", "orders-2", "billing-1"}
    assert rows["orders-1"]["state"] == "healthy"
    assert rows["orders-2"]["live"]["status"] == "connection refused"
    assert only_billing.exit_code == 0, only_billing.output
    assert "billing-1" in only_billing.stdout and "orders" not in only_billing.stdout
    assert unknown.exit_code == 2
    assert "Consul knows no instance of 'payments'" in unknown.stderr
    assert no_token.exit_code == 1
    assert "refused" in no_token.stderr


@pytest.mark.parametrize("width", [80, 60])
def test_table_keeps_services_and_instances_whole_in_a_narrow_terminal(width: int) -> None:
    with health_server() as base:
        result = runner.invoke(
            app,
            ["check", "health", "--url", f"{base}/healthy", "--url", f"{base}/sick"],
            env={"COLUMNS": str(width)},
        )
    assert result.exit_code == 1, result.output
    netloc = base.removeprefix("http://")
    lines = result.stdout.splitlines()
    assert "…" not in result.stdout
    assert max(len(line.rstrip()) for line in lines) <= width
    for path in ("healthy", "sick"):
        row = next(line for line in lines if f"{netloc}/{path}" in line)
        assert netloc in row.replace(f"{netloc}/{path}", "", 1)  # the instance, whole
    assert "database" in result.stdout  # the failing dependency of /sick is still there


def _health(service: str, state: str) -> object:
    from msgen.health import Probe, Target, TargetHealth

    target = Target(service=service, instance=f"{service}-1", base_url=f"http://{service}")
    ok = Probe(ok=True, status="ok", http_status=200, latency_ms=1.0)
    refused = Probe(ok=False, status="connection refused")
    sick = Probe(ok=False, status="HTTP 503", http_status=503, failing=("database",))
    live, ready = {"healthy": (ok, ok), "down": (refused, refused), "not ready": (ok, sick)}[state]
    return TargetHealth(target=target, live=live, ready=ready)


def test_watch_prints_a_line_per_change_of_state_when_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import msgen.health
    from msgen.cli.check import health as command

    rounds = iter(
        [
            [_health("orders", "healthy"), _health("billing", "down")],
            [_health("orders", "healthy"), _health("billing", "down")],
            [_health("orders", "healthy"), _health("billing", "not ready")],
            [_health("orders", "healthy"), _health("billing", "healthy")],
        ]
    )
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(msgen.health, "check_health", lambda *args, **kwargs: next(rounds))
    monkeypatch.setattr(command.time, "sleep", sleep)
    result = runner.invoke(
        app, ["check", "health", "--url", "http://x", "--watch", "0.5"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert sleeps == [0.5] * 4
    lines = [line.split(" ", 1)[1] for line in result.stdout.splitlines()]
    assert lines == [
        "billing billing-1 down (live: connection refused)",
        "orders orders-1 healthy",
        "billing billing-1 not ready (ready: HTTP 503; failing: database)",
        "billing billing-1 healthy",
    ]
    assert "┃" not in result.stdout
