"""Shared fixtures: file trees, an isolated working directory, service availability."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build_file_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` and return ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    return lambda files: build_file_tree(tmp_path, files)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run the test with ``tmp_path`` as the working directory."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, with MSGEN_REQUIRE_SERVICES=1, fail) when a real service is not reachable."""
    if port_open(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("MSGEN_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} and MSGEN_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)
