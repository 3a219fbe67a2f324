"""SIGTERM and a busy workspace, on real ``msgen`` processes.

SIGTERM unwinds like Ctrl-C (every cleanup runs) and exits 143; a second msgen waits for the
workspace lock with a status line, and gives up after MSGEN_LOCK_TIMEOUT in one line.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from msgen.locking import STATE_DIR
from msgen.workspace import init_workspace, load_workspace
from tests.lockkit import held_elsewhere, msgen_env

SLOW_RENDER = """
import sys, time
from pathlib import Path
from msgen import render
real = render._copy
marker = Path(sys.argv[1])
def slow(source, out, data):
    real(source, out, data)
    marker.write_text("rendered")
    time.sleep(120)
render._copy = slow
from msgen.cli import main
sys.argv = ["msgen", *sys.argv[2:]]
main()
"""


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_sigterm_during_a_render_removes_the_staging_and_exits_143(tmp_path: Path) -> None:
    workspace = tmp_path / "shop"
    workspace.mkdir()
    marker = tmp_path / "rendered"
    with subprocess.Popen(
        [sys.executable, "-c", SLOW_RENDER, str(marker), "new", "service", "orders", "--defaults"],
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=msgen_env(),
    ) as process:
        wait_for(marker, process)
        assert any(p.name.startswith(".orders.msgen-") for p in workspace.iterdir())
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1] == "terminated"
    assert "Traceback" not in err
    assert list(workspace.iterdir()) == []  # no staging, no service, no workspace, no lock dir


def test_sigterm_while_waiting_for_the_lock_exits_143(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    with (
        held_elsewhere(tmp_path) as holding,
        subprocess.Popen(
            [sys.executable, "-m", "msgen", "k8s", "generate"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=msgen_env(),
        ) as waiting,
    ):
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert f"waiting for another msgen (pid {holding.pid})" in line
        waiting.send_signal(signal.SIGTERM)
        _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 143, err
    assert err.strip().splitlines()[-1] == "terminated"
    assert not (tmp_path / "deploy").exists()


def test_busy_workspace_waits_then_fails_in_one_line(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    before = (tmp_path / "msgen.yaml").read_text()
    with held_elsewhere(tmp_path) as holding:
        result = subprocess.run(
            [sys.executable, "-m", "msgen", "new", "service", "orders", "--defaults"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=msgen_env(MSGEN_LOCK_TIMEOUT="0.5"),
            timeout=120,
            check=False,
        )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"waiting for another msgen (pid {holding.pid}) to finish")
    assert lines[1] == (
        f"error: another msgen (pid {holding.pid}) is still changing the workspace in "
        f"{tmp_path.resolve()}; gave up after 0.5 s"
    )
    assert lines[2].startswith("hint: ")
    assert (tmp_path / "msgen.yaml").read_text() == before
    assert not (tmp_path / "orders").exists()
    assert load_workspace(tmp_path / "msgen.yaml").model.services == {}
    assert (tmp_path / STATE_DIR).is_dir()
