"""Errors are one line; ``--verbose`` adds the traceback, for bug reports."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app

runner = CliRunner()


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


@pytest.fixture
def buggy_new_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MSGEN_DEBUG", raising=False)
    monkeypatch.setattr("msgen.scaffold.new_service", _explode)


@pytest.mark.usefixtures("buggy_new_service")
def test_a_bug_is_one_line_with_a_hint_to_rerun_verbose() -> None:
    result = runner.invoke(app, ["new", "service", "orders", "--defaults"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "internal error: RuntimeError: boom"
    assert "--verbose" in lines[1]
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("buggy_new_service")
def test_verbose_prints_the_traceback_of_a_bug() -> None:
    result = runner.invoke(app, ["--verbose", "new", "service", "orders", "--defaults"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "_explode" in result.stderr
    assert "internal error: RuntimeError: boom" in result.stderr
    assert "report it with the traceback above" in result.stderr


def test_msgen_errors_are_one_line_and_verbose_adds_the_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MSGEN_DEBUG", raising=False)
    plain = runner.invoke(app, ["list"])
    assert plain.exit_code == 1
    assert plain.stderr.startswith("error: ")
    assert "Traceback" not in plain.stderr
    verbose = runner.invoke(app, ["--verbose", "list"])
    assert verbose.exit_code == 1
    assert "Traceback (most recent call last):" in verbose.stderr
    assert "WorkspaceNotFoundError" in verbose.stderr
    # the flag does not stick to the next invocation
    assert "Traceback" not in runner.invoke(app, ["list"]).stderr
