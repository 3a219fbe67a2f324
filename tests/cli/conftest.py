"""Fixtures the CLI tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.manifestkit import THREE_SERVICES


@pytest.fixture
def shop(tree, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The three-service workspace of tests.manifestkit, as the current directory."""
    root = tree({"msgen.yaml": THREE_SERVICES})
    monkeypatch.chdir(root)
    return root
