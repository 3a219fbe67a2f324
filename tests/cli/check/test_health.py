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
