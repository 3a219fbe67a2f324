"""The documentation: the CLI reference is generated, and the site builds with --strict."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from msgen.clidoc import REGENERATE, render_reference
from tests.conftest import ROOT


def test_cli_reference_is_generated_from_the_commands() -> None:
    page = ROOT / "docs" / "reference" / "cli.md"
    assert page.read_text(encoding="utf-8") == render_reference(), (
        f"docs/reference/cli.md is stale; regenerate it: {REGENERATE}"
    )


def test_cli_reference_covers_every_command() -> None:
    text = render_reference()
    for path in ("msgen new service", "msgen doctor", "msgen dev up", "msgen mesh canary"):
        assert f"## `{path}`" in text
    assert "--ci <github|gitlab|none>" in text and "--verbose" in text


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None,
    reason="mkdocs and mkdocs-material are not installed (pip install -e '.[docs]'; CI does)",
)
def test_site_builds_strict(tmp_path: Path) -> None:
    # not --quiet: it hides the warnings, and then --strict has nothing to count
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "reference" / "cli" / "index.html").is_file()
    assert (tmp_path / "quickstart" / "index.html").is_file()
