"""``msgen compose up/down/ps/logs``: engine check, which Compose runs, and with which args.

No Docker engine is needed: an absent engine is a DOCKER_HOST nobody listens on, a present
one is a tiny HTTP server answering the two calls the Docker SDK makes, and ``docker`` /
``docker-compose`` are fake executables on PATH that record their arguments.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from tests.manifestkit import THREE_SERVICES

runner = CliRunner()


class _FakeEngine(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.endswith("/_ping"):
            body, kind = b"OK", "text/plain"
        else:
            body, kind = (
                json.dumps({"ApiVersion": "1.45", "Version": "27.0.0"}).encode(),
                ("application/json"),
            )
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Api-Version", "1.45")
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def engine(monkeypatch) -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{server.server_address[1]}")
    yield
    server.shutdown()
    server.server_close()


def fake_bin(directory: Path, name: str, *, log: Path, code: int, compose_v2: bool = True) -> None:
    """An executable that appends its argv (as JSON) to ``log`` and exits with ``code``."""
    directory.mkdir(exist_ok=True)
    path = directory / name
    probe = "" if compose_v2 else 'if [ "$1 $2" = "compose version" ]; then exit 1; fi\n'
    path.write_text(
        "#!/bin/sh\n"
        f"{probe}"
        f'printf "%s" "{name}" >> "{log}"\n'
        f'for a in "$@"; do printf " %s" "$a" >> "{log}"; done\n'
        f'echo >> "{log}"\n'
        f'echo "{name} ran in $(pwd)"\n'
        f"exit {code}\n"
    )
    path.chmod(0o755)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch) -> Path:
    directory = tmp_path / "fakebin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    return directory


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_engine_absent_is_one_actionable_line(shop: Path, bin_dir: Path, monkeypatch) -> None:
    log = shop / "calls.log"
    fake_bin(bin_dir, "docker", log=log, code=0)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{shop}/no-such.sock")
    result = runner.invoke(app, ["compose", "ps"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: the Docker engine is not reachable at unix://{shop}/no-such.sock"
    assert lines[1].startswith("hint: start Docker")
    assert calls(log) == []


@pytest.mark.parametrize("stale", ["missing", "older"])
def test_engine_absent_is_checked_before_anything_is_regenerated(
    shop: Path, bin_dir: Path, monkeypatch, stale: str
) -> None:
    compose = shop / "docker-compose.yml"
    if stale == "older":
        assert runner.invoke(app, ["compose", "generate"]).exit_code == 0
        workspace = shop / "msgen.yaml"
        workspace.write_text(workspace.read_text().replace("port: 8002", "port: 8012"))
        os.utime(compose, (1, 1))
    fake_bin(bin_dir, "docker", log=shop / "calls.log", code=0)
    before = {p: p.read_bytes() for p in shop.rglob("*") if p.is_file()}
    monkeypatch.setenv("DOCKER_HOST", f"unix://{shop}/no-such.sock")
    result = runner.invoke(app, ["compose", "up", "--detach"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[0].startswith("error: the Docker engine is not reachable")
    assert len(result.stderr.splitlines()) == 2  # the error and its hint
    assert {p: p.read_bytes() for p in shop.rglob("*") if p.is_file()} == before


def test_no_compose_installed_is_one_actionable_line(shop: Path, bin_dir: Path, engine) -> None:
    result = runner.invoke(app, ["compose", "ps"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "error: neither `docker compose` (v2) nor `docker-compose` (v1) is installed"
    )


def test_compose_v2_is_preferred(shop: Path, bin_dir: Path, engine) -> None:
    log = shop / "calls.log"
    fake_bin(bin_dir, "docker", log=log, code=0)
    fake_bin(bin_dir, "docker-compose", log=log, code=0)
    result = runner.invoke(app, ["compose", "ps"])
    assert result.exit_code == 0, result.output
    assert calls(log) == ["docker compose version", "docker compose ps"]


def test_compose_v1_is_the_fallback_and_exit_codes_pass_through(
    shop: Path, bin_dir: Path, engine
) -> None:
    log = shop / "calls.log"
    fake_bin(bin_dir, "docker", log=log, code=0, compose_v2=False)
    fake_bin(bin_dir, "docker-compose", log=log, code=3)
    result = runner.invoke(app, ["compose", "logs", "-f", "orders"])
    assert result.exit_code == 3
    assert calls(log) == ["docker-compose logs --follow orders"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["down"], "down"),
        (["down", "--volumes"], "down --volumes"),
        (["ps"], "ps"),
        (["logs"], "logs"),
        (["up", "--build", "-d", "orders", "billing"], "up --build --detach orders billing"),
    ],
)
def test_arguments(shop: Path, bin_dir: Path, engine, argv: list[str], expected: str) -> None:
    log = shop / "calls.log"
    fake_bin(bin_dir, "docker-compose", log=log, code=0)
    result = runner.invoke(app, ["compose", *argv])
    assert result.exit_code == 0, result.output
    assert calls(log) == [f"docker-compose {expected}"]


def test_up_regenerates_when_the_workspace_is_newer(shop: Path, bin_dir: Path, engine) -> None:
    log = shop / "calls.log"
    fake_bin(bin_dir, "docker-compose", log=log, code=0)
    assert runner.invoke(app, ["compose", "generate", "--without", "jaeger"]).exit_code == 0
    compose = shop / "docker-compose.yml"
    workspace = shop / "msgen.yaml"
    workspace.write_text(workspace.read_text().replace("port: 8002", "port: 8012"))
    os.utime(compose, (1, 1))
    result = runner.invoke(app, ["compose", "up", "-d"])
    assert result.exit_code == 0, result.output
    header, *files = result.stdout.splitlines()
    assert header == "msgen.yaml changed: regenerating docker-compose.yml"
    assert "  updated docker-compose.yml" in files
    assert all(line.split()[0] in {"created", "updated"} for line in files), files
    text = compose.read_text()
    assert "127.0.0.1:8012:8012" in text
    assert "jaeger:" not in text  # the recorded --without jaeger still applies
    assert calls(log) == ["docker-compose up --detach"]
    result = runner.invoke(app, ["compose", "up", "-d"])
    assert "regenerating" not in result.stdout


@pytest.mark.parametrize("command", [["down"], ["ps"], ["logs"]])
def test_every_run_command_regenerates_a_stale_file(
    shop: Path, bin_dir: Path, engine, command: list[str]
) -> None:
    fake_bin(bin_dir, "docker-compose", log=shop / "calls.log", code=0)
    assert runner.invoke(app, ["compose", "generate"]).exit_code == 0
    workspace = shop / "msgen.yaml"
    workspace.write_text(workspace.read_text().replace("port: 8002", "port: 8012"))
    os.utime(shop / "docker-compose.yml", (1, 1))
    result = runner.invoke(app, ["compose", *command])
    assert result.exit_code == 0, result.output
    assert "regenerating" in result.stdout
    assert "127.0.0.1:8012:8012" in (shop / "docker-compose.yml").read_text()


def test_up_creates_the_development_issuers_keys_first(
    tmp_path: Path, bin_dir: Path, engine, monkeypatch
) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "msgen.yaml").write_text(THREE_SERVICES.replace("services:", "auth: {}\nservices:", 1))
    monkeypatch.chdir(root)
    log = root / "calls.log"
    fake_bin(bin_dir, "docker-compose", log=log, code=0)
    assert runner.invoke(app, ["compose", "generate"]).exit_code == 0
    keys = root / ".msgen" / "issuer" / "keys.json"
    assert runner.invoke(app, ["compose", "ps"]).exit_code == 0
    assert not keys.exists()  # only what starts the issuer container makes them
    result = runner.invoke(app, ["compose", "up", "-d"])
    assert result.exit_code == 0, result.output
    assert (keys.stat().st_mode & 0o777) == 0o600
    assert calls(log) == ["docker-compose ps", "docker-compose up --detach"]
