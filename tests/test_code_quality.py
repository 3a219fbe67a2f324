"""msgen's own code passes the linters it asks of generated code."""

import subprocess
import sys

from tests.conftest import ROOT


def check(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check() -> None:
    check("ruff", "check", "--no-cache", "src", "tests", "benchmarks")


def test_ruff_format() -> None:
    check("ruff", "format", "--check", "--no-cache", "src", "tests", "benchmarks")


def test_mypy_strict() -> None:
    check("mypy", "--no-incremental", "--cache-dir", "/dev/null")
