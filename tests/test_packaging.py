"""msgen installed from a wheel (not editable) carries its templates and works."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.servicekit import run, uv

pytestmark = pytest.mark.slow


def test_wheel_ships_templates_and_installed_cli_renders(tmp_path: Path) -> None:
    run(
        [uv(), "build", "--wheel", "--quiet", "--out-dir", str(tmp_path / "dist"), str(ROOT)],
        cwd=tmp_path,
    )
    wheel = next((tmp_path / "dist").glob("msgen-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "msgen/templates/service/copier.yml" in names
    assert any(n.startswith("msgen/templates/service/template/src/") for n in names)
    assert not any(n.startswith("templates/") for n in names)

    venv = tmp_path / "venv"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=tmp_path)
    run(
        [uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        cwd=tmp_path,
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [str(venv / "bin" / "msgen"), "new", "service", "orders", "--defaults"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (work / "orders" / "src" / "orders" / "main.py").is_file()
    answers = (work / "orders" / ".copier-answers.yml").read_text()
    assert str(venv) in answers  # rendered from the installed copy, not the checkout
    version = subprocess.run(
        [str(venv / "bin" / "msgen"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("msgen ")
