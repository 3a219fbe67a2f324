"""msgen register / deregister / services against the Consul double."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from tests.consul_double import ConsulDouble
from tests.servicekit import free_port
from tests.waiting import status_server, wait_for

runner = CliRunner()


def test_register_services_deregister_round_trip() -> None:
    with ConsulDouble() as consul, status_server() as target:
        port = int(target.url.rsplit(":", 1)[1])
        args = ["register", "orders", "--address", "127.0.0.1", "--port", str(port)]
        check = ["--tag", "blue", "--check-url", f"{target.url}/health/ready"]
        result = runner.invoke(app, [*args, *check, "--consul", consul.address])
        assert result.exit_code == 0, result.output
        instance_id = f"orders-127.0.0.1-{port}"
        assert instance_id in result.stdout
        check = consul.checks[instance_id]
        assert check.url == f"{target.url}/health/ready"
        assert (check.interval, check.timeout, check.deregister_after) == (10, 5, 60)
        assert consul.services[instance_id]["Tags"] == ["blue"]
        wait_for(lambda: consul.status_of(instance_id) == "passing", what="passing check")

        table = runner.invoke(app, ["services", "--consul", consul.url])
        assert table.exit_code == 0, table.output
        row = next(line for line in table.stdout.splitlines() if "orders" in line)
        assert "passing" in row

        listed = runner.invoke(app, ["services", "--json", "--consul", consul.url])
        data = json.loads(listed.stdout)
        assert [(i["service"], i["id"], i["status"]) for i in data["instances"]] == [
            ("orders", instance_id, "passing")
        ]

        result = runner.invoke(app, ["deregister", instance_id, "--consul", consul.address])
        assert result.exit_code == 0, result.output
        assert consul.services == {}
        empty = runner.invoke(app, ["services", "--consul", consul.url])
        assert "has no services" in empty.stdout


def test_register_reads_consul_address_and_token_from_the_environment() -> None:
    with ConsulDouble(token="s3cret") as consul:
        env = {"CONSUL_HTTP_ADDR": consul.address, "CONSUL_HTTP_TOKEN": "s3cret"}
        args = ["register", "billing", "--address", "10.0.0.5", "--port", "9000", "--no-check"]
        result = runner.invoke(app, [*args, "--id", "billing-a"], env=env)
        assert result.exit_code == 0, result.output
        assert "Check" not in str(consul.services["billing-a"])
        assert "billing-a" not in consul.checks


def test_wrong_token_is_one_line_and_exit_1() -> None:
    with ConsulDouble(token="s3cret") as consul:
        result = runner.invoke(
            app, ["services", "--consul", consul.address, "--token", "wrong"], env={}
        )
    assert result.exit_code == 1
    assert "refused the request: ACL not found" in result.stderr
    assert "Traceback" not in result.output


def test_unreachable_consul_is_one_line_and_exit_1() -> None:
    address = f"127.0.0.1:{free_port()}"
    for args in (
        ["services"],
        ["deregister", "x"],
        ["register", "orders", "--address", "127.0.0.1", "--port", "8001"],
    ):
        result = runner.invoke(app, [*args, "--consul", address])
        assert result.exit_code == 1, args
        assert result.stderr.startswith("error: Consul is unreachable at http://127.0.0.1:")
        assert "Traceback" not in result.output


def test_deregister_unknown_id_fails_with_hint() -> None:
    with ConsulDouble() as consul:
        result = runner.invoke(app, ["deregister", "nope", "--consul", consul.address])
    assert result.exit_code == 1
    assert "no service instance with ID 'nope'" in result.stderr
    assert "msgen services" in result.stderr


def test_register_rejects_invalid_names() -> None:
    result = runner.invoke(app, ["register", "Bad_Name", "--address", "a", "--port", "1"])
    assert result.exit_code == 2


@pytest.mark.parametrize("width", [80, 60])
def test_services_keeps_names_and_ids_whole_in_a_narrow_terminal(width: int) -> None:
    ids = ["notifications-10.200.300.400-18001", "orders-10.200.300.401-18002"]
    with ConsulDouble() as consul:
        for instance_id in ids:
            name, address, port = instance_id.split("-")
            consul.register(
                {
                    "ID": instance_id,
                    "Name": name,
                    "Address": address,
                    "Port": int(port),
                    "Tags": ["blue", "canary", "v2"],
                }
            )
        result = runner.invoke(
            app, ["services", "--consul", consul.address], env={"COLUMNS": str(width)}
        )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "…" not in result.stdout
    assert max(len(line.rstrip()) for line in lines) <= width
    for instance_id in ids:
        row = next(line for line in lines if instance_id in line)
        assert instance_id.split("-")[0] in row.replace(instance_id, "")
