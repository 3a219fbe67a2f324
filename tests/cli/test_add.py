"""``msgen add FEATURE SERVICE``: a feature turned on after day one, through the update."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from msgen.workspace import load_workspace
from tests.conftest import require_service
from tests.servicekit import (
    BROKER_URL,
    install,
    ruff_clean,
    run_own_tests,
    run_own_tests_on_both,
    throwaway_database,
)

runner = CliRunner()


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def new(root: Path, *args: str) -> Path:
    result = runner.invoke(app, ["new", "service", "orders", "--defaults", *args])
    assert result.exit_code == 0, result.output
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "orders", cwd=root)
    return root / "orders"


def test_add_consul_changes_answers_files_and_workspace(in_tmp: Path) -> None:
    service = new(in_tmp)
    (service / "src" / "orders" / "routes.py").write_text(
        (service / "src" / "orders" / "routes.py").read_text() + "\n# mine\n"
    )
    git("commit", "-qam", "mine", cwd=in_tmp)

    result = runner.invoke(app, ["add", "consul", "orders"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert "Added consul to orders" in result.stdout
    assert "discovery: consul" in (service / ".copier-answers.yml").read_text()
    assert "consul" in (service / ".env.example").read_text().lower()
    assert (service / "src" / "orders" / "routes.py").read_text().endswith("# mine\n")
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["orders"]
    assert entry.discovery == "consul"

    again = runner.invoke(app, ["add", "consul", "orders"])
    assert again.exit_code == 0
    assert "already has consul" in again.stdout


def test_add_outside_git_does_not_point_at_git_diff(in_tmp: Path) -> None:
    made = runner.invoke(app, ["new", "service", "orders", "--defaults"])
    assert made.exit_code == 0, made.output

    result = runner.invoke(app, ["add", "consul", "orders"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert "review the files listed above" in result.stdout
    assert "git diff" not in result.stdout
    assert "services not under git were updated in place" in result.stdout


def test_add_tracing_renders_telemetry_and_records_the_feature(in_tmp: Path) -> None:
    service = new(in_tmp, "--no-tracing")
    package = service / "src" / "orders"
    assert not (package / "telemetry.py").exists()
    assert "opentelemetry" not in (service / "pyproject.toml").read_text()

    result = runner.invoke(app, ["add", "tracing", "orders"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert (package / "telemetry.py").is_file()
    assert "opentelemetry-sdk" in (service / "pyproject.toml").read_text()
    assert "tracing: true" in (service / ".copier-answers.yml").read_text()
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["orders"]
    assert "tracing" in entry.features
    assert "metrics" in entry.features


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "broker", "orders"], "broker needs a database and orders has none"),
        (["add", "auth", "orders"], "unknown feature 'auth'"),
        (["add", "postgres", "billing"], "unknown service 'billing'"),
    ],
)
def test_add_refuses_with_one_line(in_tmp: Path, args: list[str], message: str) -> None:
    new(in_tmp, "--db", "none")

    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.services
def test_add_broker_turns_messaging_on_and_its_own_tests_pass(in_tmp: Path) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("RabbitMQ", "127.0.0.1", 5672)
    service = new(in_tmp, "--db", "postgres", "--broker", "none")
    assert not (service / "src" / "orders" / "outbox.py").exists()

    result = runner.invoke(app, ["add", "broker", "orders"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert (service / "src" / "orders" / "outbox.py").is_file()
    assert "broker: rabbitmq" in (service / ".copier-answers.yml").read_text()
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["orders"]
    assert entry.broker == "rabbitmq"
    assert entry.publishes == [
        "orders.order_created",
        "orders.order_updated",
        "orders.order_deleted",
    ]
    python = install(service)
    with throwaway_database(python) as url:
        output = run_own_tests(service, python, database_url=url, broker_url=BROKER_URL)
    assert " passed" in output
    assert " failed" not in output


def test_entry_follows_the_answers_after_an_add() -> None:
    from msgen.features import entry_from_answers
    from msgen.workspace import ServiceEntry

    entry = ServiceEntry(path="orders", port=8001, db="sqlite", features=["custom"])
    answers = {
        "service_name": "orders",
        "resource_snake": "order",
        "msgen_version": "0.1.0+0123456789ab",
        "db": "postgres",
        "broker": "rabbitmq",
        "discovery": "static",
        "event_sourcing": True,
    }

    after = entry_from_answers(entry, answers)

    assert after.db == "postgres"
    assert after.template_version == "0.1.0+0123456789ab"
    assert after.features == ["custom", "event-sourcing"]
    assert after.publishes[0] == "orders.order_created"


def test_bad_templates_override_is_one_line(in_tmp: Path, monkeypatch) -> None:
    monkeypatch.setenv("MSGEN_TEMPLATES_DIR", str(in_tmp / "nowhere"))

    result = runner.invoke(app, ["new", "service", "orders", "--defaults"])

    assert result.exit_code == 1
    assert "MSGEN_TEMPLATES_DIR=" in result.stderr
    assert "holds no service/copier.yml" in result.stderr


def evolve_domain(root: Path) -> Path:
    """New service, then entities and fields added and removed as a user would."""
    service = new(root)
    steps = [
        ["add", "entity", "orders", "OrderItem", "order:ref(Order)", "sku:str", "quantity:int=1"],
        # Two refs to one parent: two child routes, told apart by the field.
        ["add", "entity", "orders", "Transfer", "source:ref(Order)", "target:ref(Order)?"],
        ["add", "field", "orders", "Order", "note:text?", "total:decimal=0"],
        ["remove", "field", "orders", "Order", "description"],
    ]
    for args in steps:
        result = runner.invoke(app, args, terminal_width=200)
        assert result.exit_code == 0, result.output
        git("add", "-A", cwd=root)
        git("commit", "-qm", " ".join(args), cwd=root)
    return service


def test_added_entities_and_fields_render_a_ruff_clean_service_with_distinct_routes(
    in_tmp: Path,
) -> None:
    service = evolve_domain(in_tmp)

    ruff_clean(service)
    routes = (service / "src" / "orders" / "routes.py").read_text()
    assert '"/{order_id}/items"' in routes
    assert '"/{order_id}/transfers-by-source"' in routes
    assert '"/{order_id}/transfers-by-target"' in routes
    revisions = sorted(p.name for p in (service / "src/orders/migrations/versions").glob("0*.py"))
    assert [name[:4] for name in revisions] == ["0001", "0002", "0004", "0005", "0006", "0007"]
    entities = load_workspace(in_tmp / "msgen.yaml").model.services["orders"].entities
    assert list(entities) == ["Order", "OrderItem", "Transfer"]
    assert "description" not in entities["Order"]["fields"]


@pytest.mark.slow
@pytest.mark.services
def test_an_evolved_domain_passes_its_own_tests_on_sqlite_and_postgres(in_tmp: Path) -> None:
    service = evolve_domain(in_tmp)
    python = install(service)

    for output in run_own_tests_on_both(service, python, broker_url=BROKER_URL):
        assert " passed" in output
        assert " failed" not in output
