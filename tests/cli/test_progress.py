"""Slow commands show a spinner on a terminal (rich status), and nothing of it when piped."""

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from msgen.cli import app

runner = CliRunner()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Every console() of the CLI writes to one buffer that rich treats as a terminal."""
    buffer = io.StringIO()

    def fake_console() -> Console:
        return Console(file=buffer, force_terminal=True, width=100, highlight=False)

    # new gateway prints through msgen.cli.new.service.report_render
    for module in ("msgen.cli._ui", "msgen.cli.new.service"):
        monkeypatch.setattr(f"{module}.console", fake_console)
    return buffer


def test_new_service_and_gateway_show_progress_on_a_terminal(
    terminal: io.StringIO, in_tmp: Path
) -> None:
    assert runner.invoke(app, ["new", "service", "orders", "--defaults"]).exit_code == 0
    assert "rendering orders" in terminal.getvalue()
    assert runner.invoke(app, ["new", "gateway"]).exit_code == 0
    assert "rendering gateway" in terminal.getvalue()


def test_progress_is_not_in_piped_or_json_output(in_tmp: Path) -> None:
    result = runner.invoke(app, ["new", "service", "orders", "--defaults"])
    assert "rendering" not in result.output
    result = runner.invoke(app, ["doctor", "--json", "--timeout", "0.2"])
    assert result.stdout.startswith("{")
