"""msgen.reload: which file changes restart a service, and the spare interpreter.

The spare is run for real with this interpreter, in a project whose ``uvicorn`` is a
stand-in module of the project directory (this test environment has no uvicorn): it shows
what was imported before ``go`` and what after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from msgen.devrun import ProcessSpec, terminate
from msgen.reload import SETTLE, Watcher, activate, start_spare
from tests.waiting import wait_for


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def bump(path: Path, text: str) -> None:
    """Write ``text`` with a modification time surely different from the one before."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    write(path, text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.fixture
def service(tmp_path: Path) -> Path:
    root = tmp_path / "orders"
    write(root / "pyproject.toml", "[project]\nname = 'orders'\n")
    write(root / "src" / "orders" / "__init__.py", "")
    write(root / "src" / "orders" / "api.py", "X = 1\n")
    write(root / "tests" / "test_api.py", "def test(): pass\n")
    return root


def settled(watcher: Watcher, start: float = 1000.0) -> tuple[list[str], float] | None:
    """Two looks, the second after the settling time: what a quiet change reports."""
    assert watcher.changed(now=start) is None  # seen, not yet settled
    return watcher.changed(now=start + SETTLE + 0.01)


def test_nothing_changed_reports_nothing(service: Path) -> None:
    watcher = Watcher(service)
    assert watcher.changed() is None
    assert watcher.changed() is None


def test_a_source_change_is_reported_once_it_settles(service: Path) -> None:
    watcher = Watcher(service)
    bump(service / "src" / "orders" / "api.py", "X = 2\n")
    assert settled(watcher) == (["src/orders/api.py"], 1000.0)
    assert watcher.changed(now=2000.0) is None  # reported once


def test_a_file_still_changing_is_not_reported_until_it_stops(service: Path) -> None:
    watcher = Watcher(service)
    api = service / "src" / "orders" / "api.py"
    bump(api, "X = 2\n")
    assert watcher.changed(now=1000.0) is None
    bump(api, "X = 3\n")
    assert watcher.changed(now=1000.0 + SETTLE + 0.01) is None  # changed again: wait more
    assert watcher.changed(now=1000.0 + 2 * SETTLE + 0.02) == (["src/orders/api.py"], 1000.0)


def test_new_deleted_and_pyproject_files_are_reported(service: Path) -> None:
    watcher = Watcher(service)
    write(service / "src" / "orders" / "new.py", "Y = 1\n")
    (service / "src" / "orders" / "api.py").unlink()
    bump(service / "pyproject.toml", "[project]\nname = 'orders'\nversion = '2'\n")
    files, _ = settled(watcher) or ([], 0.0)
    assert files == ["pyproject.toml", "src/orders/api.py", "src/orders/new.py"]


def test_tests_caches_and_hidden_files_do_not_restart(service: Path) -> None:
    watcher = Watcher(service)
    bump(service / "tests" / "test_api.py", "def test(): assert True\n")
    write(service / "src" / "orders" / "__pycache__" / "api.cpython-311.pyc", "x")
    write(service / "src" / "orders" / ".api.py.swp", "x")
    write(service / "src" / "orders" / "api.py~", "x")
    write(service / "README.md", "changed\n")
    assert watcher.changed(now=1000.0) is None
    assert watcher.changed(now=1000.0 + SETTLE + 0.01) is None


STAND_IN_UVICORN = """\
import json, sys
before = sorted(sys.modules)
import orders.main
with open("ran.json", "w") as out:
    json.dump({"argv": sys.argv, "before": before, "app": orders.main.app}, out)
"""


def test_the_spare_imports_the_libraries_first_and_the_service_only_on_go(
    service: Path, tmp_path: Path
) -> None:
    # orders imports a "library" (a module of the project directory that says when it is
    # imported) at its top level, and another only inside a function.
    write(service / "heavylib.py", "import pathlib\npathlib.Path('heavy.imported').touch()\n")
    write(service / "lazylib.py", "raise SystemExit('never imported by the spare')\n")
    write(service / "src" / "orders" / "__init__.py", "")
    write(
        service / "src" / "orders" / "main.py",
        "import heavylib\nfrom orders import api\n\n\ndef later():\n    import lazylib\n\n\n"
        "app = 'orders-app-' + str(api.X)\n",
    )
    write(service / "uvicorn" / "__init__.py", "")
    write(service / "uvicorn" / "main.py", "")
    write(service / "uvicorn" / "__main__.py", STAND_IN_UVICORN)
    spec = ProcessSpec(
        name="orders",
        directory=service,
        args=("-m", "uvicorn", "orders.main:app", "--port", "1234"),
        env={"PYTHONPATH": str(service / "src")},
        port=1234,
        host="127.0.0.1",
        port_setting="services.orders.port",
        package="orders",
    )
    lines: list[str] = []
    spare = start_spare(
        spec, script=tmp_path / "state" / "spare.py", on_line=lambda _n, line: lines.append(line)
    )
    try:
        wait_for((service / "heavy.imported").exists, timeout=20, what="the preload")
        assert spare.process.poll() is None  # waiting for go
        assert not (service / "ran.json").exists()
        # the service's code is read only now: an edit made while the spare waited counts
        write(service / "src" / "orders" / "api.py", "X = 2\n")
        running = activate(spare, spec)
        assert running.spec is spec
        assert running.process.wait(timeout=20) == 0, lines
    finally:
        terminate([spare], grace=1)
    ran = json.loads((service / "ran.json").read_text())
    assert ran["argv"][1:] == ["orders.main:app", "--port", "1234"]
    assert "heavylib" in ran["before"] and "uvicorn.main" in ran["before"]
    assert "lazylib" not in ran["before"]
    assert not any(name == "orders" or name.startswith("orders.") for name in ran["before"])
    assert ran["app"] == "orders-app-2"
    assert (tmp_path / "state" / "spare.py").is_file()


def test_a_spare_ends_when_its_input_ends(service: Path, tmp_path: Path) -> None:
    """msgen gone (killed): the spares it left do not wait for ever."""
    script = tmp_path / "spare.py"
    spec = ProcessSpec(
        name="orders",
        directory=service,
        args=("-m", "uvicorn", "orders.main:app"),
        env={},
        port=1234,
        host="127.0.0.1",
        port_setting="services.orders.port",
        package="orders",
    )
    spare = start_spare(spec, script=script, on_line=lambda _n, _l: None)
    assert spare.process.stdin is not None
    spare.process.stdin.close()
    try:
        assert spare.process.wait(timeout=20) == 0
    finally:
        terminate([spare], grace=1)


def test_the_spare_script_is_valid_python_for_the_services() -> None:
    from msgen.reload import SPARE_SCRIPT

    compile(SPARE_SCRIPT, "spare.py", "exec")
    proc = subprocess.run(
        [sys.executable, "-c", "import ast, sys; ast.parse(sys.stdin.read())"],
        input=SPARE_SCRIPT,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
