"""``msgen new gateway`` through the CLI: name, port, upstreams, refusals."""

from pathlib import Path

from typer.testing import CliRunner

from msgen.cli import app
from msgen.workspace import load_workspace

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), terminal_width=200)


def test_gateway_fronts_every_service_on_port_8000(in_tmp: Path) -> None:
    assert invoke("new", "service", "orders", "--defaults").exit_code == 0
    assert invoke("new", "service", "billing", "--db", "none", "--defaults").exit_code == 0
    result = invoke("new", "gateway")
    assert result.exit_code == 0, result.output
    assert "Created gateway gateway" in result.stdout
    assert "/orders/..., /billing/..." in result.stdout
    assert "pip install -e '.[test]'" in result.stdout
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["gateway"]
    assert (entry.kind, entry.port, entry.path) == ("gateway", 8000, "gateway")
    assert entry.upstreams == ["orders", "billing"]
    settings = (in_tmp / "gateway/src/gateway/resilience.py").read_text()
    assert 'upstream_billing_url: str = "http://127.0.0.1:8002"' in settings


def test_named_gateway_takes_next_free_port_when_8000_is_used(in_tmp: Path) -> None:
    assert invoke("new", "service", "orders", "--port", "8000", "--defaults").exit_code == 0
    result = invoke("new", "gateway", "edge", "--discovery", "dns")
    assert result.exit_code == 0, result.output
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["edge"]
    assert (entry.port, entry.discovery) == (8001, "dns")
    settings = (in_tmp / "edge/src/edge/resilience.py").read_text()
    assert 'upstream_orders_url: str = "http://orders:8000"' in settings


def test_second_gateway_of_same_name_is_refused(in_tmp: Path) -> None:
    assert invoke("new", "gateway").exit_code == 0
    again = invoke("new", "gateway")
    assert again.exit_code == 2
    assert "already has a service named 'gateway'" in again.stderr
    assert invoke("new", "gateway", "--force").exit_code == 0


def test_gateways_are_not_upstreams_of_other_gateways(in_tmp: Path) -> None:
    assert invoke("new", "service", "orders", "--defaults").exit_code == 0
    assert invoke("new", "gateway").exit_code == 0
    assert invoke("new", "gateway", "admin").exit_code == 0
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["admin"]
    assert entry.upstreams == ["orders"]


def test_dry_run_writes_nothing(in_tmp: Path) -> None:
    result = invoke("new", "gateway", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "proxy.py" in result.stdout
    assert list(in_tmp.iterdir()) == []


def test_invalid_name_is_a_usage_error(in_tmp: Path) -> None:
    result = invoke("new", "gateway", "Edge_1")
    assert result.exit_code == 2
    assert list(in_tmp.iterdir()) == []


def test_defaults_is_accepted_like_for_services(in_tmp: Path) -> None:
    assert invoke("new", "service", "orders", "--defaults").exit_code == 0
    result = invoke("new", "gateway", "--defaults")
    assert result.exit_code == 0, result.output
    assert "Created gateway gateway" in result.stdout


def test_ci_option_picks_the_pipeline_and_is_recorded(in_tmp: Path) -> None:
    result = invoke("new", "gateway", "--ci", "gitlab")
    assert result.exit_code == 0, result.output
    assert (in_tmp / "gateway" / ".gitlab-ci.yml").is_file()
    assert not (in_tmp / "gateway" / ".github").exists()
    assert "features: [tracing, metrics, ci:gitlab]" in (in_tmp / "msgen.yaml").read_text()
    assert invoke("new", "gateway", "edge", "--ci", "jenkins").exit_code == 2


def test_a_service_added_after_the_gateways_says_how_to_route_it(in_tmp: Path) -> None:
    assert invoke("new", "service", "orders", "--db", "none", "--defaults").exit_code == 0
    assert invoke("new", "gateway").exit_code == 0
    assert invoke("new", "gateway", "edge").exit_code == 0
    result = invoke("new", "service", "billing", "--db", "none", "--defaults")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-2:] == [
        "gateway does not route billing yet: msgen update gateway",
        "edge does not route billing yet: msgen update edge",
    ]
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["gateway"]
    assert entry.upstreams == ["orders"]  # new service stays fast: no gateway render


def test_a_service_without_gateway_or_already_routed_gets_no_routing_line(in_tmp: Path) -> None:
    first = invoke("new", "service", "orders", "--db", "none", "--defaults")
    assert first.exit_code == 0, first.output
    assert "does not route" not in first.stdout
    assert invoke("new", "gateway").exit_code == 0
    again = invoke("new", "service", "orders", "--db", "none", "--defaults", "--force")
    assert again.exit_code == 0, again.output
    assert "does not route" not in again.stdout
    dry = invoke("new", "service", "billing", "--db", "none", "--defaults", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "does not route" not in dry.stdout
