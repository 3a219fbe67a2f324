"""``msgen new service`` messaging options: --broker, --consumes, --event-sourcing."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from msgen.workspace import load_workspace

runner = CliRunner()


def new(*args: str):
    return runner.invoke(app, ["new", "service", *args, "--defaults"], terminal_width=200)


def test_a_service_with_a_database_gets_rabbitmq_and_publishes_its_events(in_tmp: Path) -> None:
    result = new("orders")
    assert result.exit_code == 0, result.output
    assert "broker rabbitmq" in result.stdout
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["orders"]
    assert entry.broker == "rabbitmq"
    assert entry.publishes == [
        "orders.order_created",
        "orders.order_updated",
        "orders.order_deleted",
    ]
    assert entry.consumes == []
    assert (in_tmp / "orders" / "src" / "orders" / "outbox.py").is_file()
    assert "faststream" in (in_tmp / "orders" / "pyproject.toml").read_text()
    assert not (in_tmp / "orders" / "src" / "orders" / "consumer.py").exists()
    contract = json.loads((in_tmp / "orders" / "contracts" / "events.json").read_text())
    assert sorted(contract["publishes"]) == sorted(entry.publishes)
    assert contract["consumes"] == {}
    assert not list((in_tmp / "orders").rglob("__pycache__"))


def test_broker_none_renders_no_messaging(in_tmp: Path) -> None:
    assert new("orders", "--broker", "none").exit_code == 0
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["orders"]
    assert (entry.broker, entry.publishes) == ("none", [])
    package = in_tmp / "orders" / "src" / "orders"
    assert not (package / "outbox.py").exists()
    assert not (package / "messaging.py").exists()
    assert not (in_tmp / "orders" / "contracts").exists()
    assert "faststream" not in (in_tmp / "orders" / "pyproject.toml").read_text()
    assert "broker:" not in (in_tmp / "msgen.yaml").read_text()


def test_db_none_means_no_broker(in_tmp: Path) -> None:
    assert new("pinger", "--db", "none").exit_code == 0
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["pinger"]
    assert entry.broker == "none"


def test_consumes_is_recorded_listed_and_rendered(in_tmp: Path) -> None:
    assert new("orders").exit_code == 0
    result = new(
        "billing",
        "--consumes",
        "orders.order_created",
        "--consumes",
        "orders.order_deleted",
        "--consumes",
        "orders.order_created",
    )
    assert result.exit_code == 0, result.output
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["billing"]
    assert entry.consumes == ["orders.order_created", "orders.order_deleted"]
    events = (in_tmp / "billing" / "src" / "billing" / "events.py").read_text()
    assert '"orders.order_created": OrdersOrderCreated,' in events
    assert '"orders.order_deleted": OrdersOrderDeleted,' in events
    contract = json.loads((in_tmp / "billing" / "contracts" / "events.json").read_text())
    assert sorted(contract["consumes"]) == entry.consumes
    # A typed model derived from orders' contract: everything orders always sends.
    required = contract["consumes"]["orders.order_created"]["required"]
    assert {"id", "name", "status", "version"} <= set(required)

    listing = runner.invoke(app, ["list", "--json"])
    services = {s["name"]: s for s in json.loads(listing.stdout)["services"]}
    assert services["billing"]["consumes"] == ["orders.order_created", "orders.order_deleted"]
    assert services["orders"]["publishes"][0] == "orders.order_created"
    table = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert "publishes" in table.stdout
    assert "orders.order_deleted" in table.stdout


def test_event_sourcing_is_a_feature(in_tmp: Path) -> None:
    assert new("orders", "--event-sourcing").exit_code == 0
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["orders"]
    assert entry.features == ["event-sourcing", "tracing", "metrics", "ci:github"]
    assert (in_tmp / "orders" / "src" / "orders" / "eventstore.py").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "none", "--broker", "rabbitmq"], "--broker rabbitmq needs a database"),
        (["--broker", "none", "--consumes", "orders.order_created"], "--consumes needs a broker"),
        (["--consumes", "orders"], "invalid event name 'orders'"),
        (["--consumes", "Orders.order_created"], "invalid event name"),
        (["--consumes", "orders.OrderCreated"], "invalid event name"),
        (["--consumes", "billing.invoice_created"], "cannot consume its own event"),
        (["--db", "none", "--event-sourcing"], "--event-sourcing needs a database"),
        (["--broker", "kafka"], "Invalid value"),
    ],
)
def test_bad_messaging_options_are_usage_errors_that_write_nothing(
    in_tmp: Path, args: list[str], message: str
) -> None:
    result = new("billing", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert list(in_tmp.iterdir()) == []
