"""Driving msgen from tests in-process: the CLI, msgen.yaml edits, a render's answers."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from msgen.cli import app

runner = CliRunner()


def msgen(*args: str) -> tuple[int, str, str]:
    """Run the msgen CLI in this process: exit code, stdout, stderr."""
    result = runner.invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.stdout, result.stderr


def edit_workspace(root: Path, change: Callable[[Any], None]) -> None:
    """Edit ``root``'s msgen.yaml as a person would (round trip, comments kept)."""
    yaml = YAML()
    path = root / "msgen.yaml"
    document = yaml.load(path.read_text())
    change(document)
    with path.open("w") as handle:
        yaml.dump(document, handle)


def set_auth(root: Path, auth: dict[str, str] | None) -> None:
    """Set (or, with None, remove) the workspace's ``auth:`` section."""

    def change(document: Any) -> None:
        if auth is None:
            del document["auth"]
        else:
            document["auth"] = auth

    edit_workspace(root, change)


def answers(project: Path) -> dict[str, object]:
    """The recorded copier answers of a rendered service or gateway."""
    data = YAML(typ="safe").load((project / ".copier-answers.yml").read_text())
    assert isinstance(data, dict)
    return data


def system_copy(rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test's own copy of a module's rendered workspace, made the current directory."""
    root = tmp_path / "system"
    shutil.copytree(rendered, root)
    monkeypatch.chdir(root)
    return root
