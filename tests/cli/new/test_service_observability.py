"""``msgen new service`` observability options: --tracing/--no-tracing, --metrics/--no-metrics."""

from pathlib import Path

from typer.testing import CliRunner

from msgen.cli import app
from msgen.workspace import load_workspace

runner = CliRunner()


BILLING = """\
schema: 1
name: shop
services:
  billing: {kind: service, path: billing, port: 8002, db: sqlite, broker: rabbitmq}
"""


def new(*args: str):
    return runner.invoke(app, ["new", "service", *args, "--defaults"], terminal_width=200)


def with_publisher(root: Path) -> None:
    """A workspace whose billing publishes the events orders consumes (it must exist)."""
    (root / "msgen.yaml").write_text(BILLING)


def rendered_text(root: Path) -> str:
    return "\n".join(
        path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".venv" not in path.parts
    )


def test_tracing_and_metrics_are_on_by_default_and_recorded(in_tmp: Path) -> None:
    with_publisher(in_tmp)
    result = new("orders", "--consumes", "billing.invoice_paid")
    assert result.exit_code == 0, result.output
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["orders"]
    assert entry.features == ["tracing", "metrics", "ci:github"]
    package = in_tmp / "orders" / "src" / "orders"
    assert (package / "telemetry.py").is_file()
    assert (package / "metrics.py").is_file()
    pyproject = (in_tmp / "orders" / "pyproject.toml").read_text()
    assert "opentelemetry-sdk" in pyproject
    assert "prometheus-client" in pyproject
    assert "uvicorn[standard]" in pyproject
    answers = (in_tmp / "orders" / ".copier-answers.yml").read_text()
    assert "tracing: true" in answers and "metrics: true" in answers


def test_no_tracing_no_metrics_renders_neither_code_nor_dependencies(in_tmp: Path) -> None:
    with_publisher(in_tmp)
    result = new("orders", "--no-tracing", "--no-metrics", "--consumes", "billing.invoice_paid")
    assert result.exit_code == 0, result.output
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["orders"]
    assert entry.features == ["ci:github"]
    package = in_tmp / "orders" / "src" / "orders"
    assert not (package / "telemetry.py").exists()
    assert not (package / "metrics.py").exists()
    assert not (in_tmp / "orders" / "tests" / "test_metrics.py").exists()
    text = rendered_text(in_tmp / "orders")
    assert "opentelemetry" not in text
    assert "prometheus" not in text
    answers = (in_tmp / "orders" / ".copier-answers.yml").read_text()
    assert "tracing: false" in answers and "metrics: false" in answers
