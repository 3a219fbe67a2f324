"""Crash consistency: each command interrupted at each of its write steps, as storage engines test.

``MSGEN_FAULT`` (:mod:`msgen.faults`) makes msgen fail at its n-th write step. For each
command, a clean run counts its steps and leaves the reference state; then for every n the
command is interrupted at step n, once by an exception (in-process) and once by a real
SIGKILL (a subprocess killing itself). After each interruption:

- ``msgen.yaml`` parses;
- recovery (what the next msgen command runs first) leaves no staging, journal, partial or
  temporary file, and the workspace agrees with the file tree: every recorded service has
  its directory with matching answers; an unrecorded complete service may remain only for
  ``new service``, whose rerun must adopt it;
- rerunning the same command succeeds and leaves the files and ``msgen.yaml`` exactly as the
  clean run did.

The SIGKILL runs and their checks happen in subprocesses (``python -m
tests.test_crash_consistency``), one step at a time beside the in-process runs: two cores
halve the time, and nothing in-process (``os.chdir``, the environment CliRunner sets) is
shared between the two.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import msgen
from msgen import faults
from msgen.cli import app
from msgen.features import entry_from_answers
from msgen.journal import pid_alive
from msgen.recovery import recover
from msgen.render import templates_dir
from msgen.update import ANSWERS_FILE, read_answers
from msgen.workspace import WORKSPACE_FILE, load_workspace

runner = CliRunner()
SRC = str(Path(msgen.__file__).resolve().parents[1])
REPO = str(Path(__file__).resolve().parents[1])
CHEAP = ["--db", "none", "--no-tracing", "--ci", "none", "--defaults"]
_LEFTOVER = re.compile(r"\.msgen-\d+|\.msgen-[a-z0-9_]{8}$|\.partial$|\.stage$|\.tmp$")


@dataclass(frozen=True, slots=True)
class Scenario:
    """A command, and how to build the workspace it runs in."""

    name: str
    argv: list[str]
    setup: Callable[[Path, dict[str, str]], None]
    may_adopt: bool = False


def invoke(root: Path, argv: list[str], env: dict[str, str]) -> str:
    cwd = Path.cwd()
    os.chdir(root)
    try:
        result = runner.invoke(app, argv, env=env)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, f"msgen {' '.join(argv)}: {result.output}"
    return result.output


def _init(root: Path, env: dict[str, str]) -> None:
    invoke(root, ["init", "-n", "shop"], env)


def _pay(root: Path, env: dict[str, str]) -> None:
    _init(root, env)
    invoke(root, ["new", "service", "pay", *CHEAP], env)


def _pay_with_k8s(root: Path, env: dict[str, str]) -> None:
    _pay(root, env)
    invoke(root, ["k8s", "generate"], env)
    invoke(root, ["mesh", "generate"], env)


def _k8s_with_retired_canary(root: Path, env: dict[str, str]) -> None:
    """deploy/k8s has a v2 Deployment that the next generate removes (a prune step)."""
    _pay(root, env)
    invoke(root, ["mesh", "canary", "pay", "--version", "v2", "--weight", "10"], env)
    invoke(root, ["k8s", "generate"], env)
    workspace = load_workspace(root / WORKSPACE_FILE)
    workspace.model.services["pay"].versions = {}
    workspace.save()


def _update_pending(root: Path, env: dict[str, str]) -> None:
    """``pay`` rendered, then the template changes: a file modified, one added, one deleted."""
    _pay(root, env)
    template = Path(env["MSGEN_TEMPLATES_DIR"]) / "service" / "template"
    readme = template / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nUpdated by template 2.\n")
    (template / "CHANGES.md").write_text("# Changes\n\n- template 2\n")
    (template / ".dockerignore").unlink()


SCENARIOS = [
    Scenario("new-service", ["new", "service", "pay", *CHEAP], _init, may_adopt=True),
    Scenario("update", ["update", "pay"], _update_pending),
    Scenario("add", ["add", "tracing", "pay"], _pay),
    Scenario("compose-generate", ["compose", "generate"], _pay),
    Scenario("k8s-generate", ["k8s", "generate"], _k8s_with_retired_canary),
    Scenario(
        "mesh-canary", ["mesh", "canary", "pay", "--version", "v2", "--weight", "10"], _pay_with_k8s
    ),
]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes; ``.env`` by its variable names (its secrets are random)."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == ".env":
                names = sorted(
                    line.split("=")[0] for line in data.decode().splitlines() if "=" in line
                )
                data = "\n".join(names).encode()
            files[path.relative_to(root).as_posix()] = data
    return files


def leftovers(root: Path) -> list[str]:
    state = root / ".msgen"
    found = [p for p in root.rglob("*") if _LEFTOVER.search(p.name)]
    if state.is_dir():
        found += list(state.glob("journal-*"))
    return sorted(p.relative_to(root).as_posix() for p in found)


def unrecorded_services(root: Path) -> list[str]:
    """Directories holding a complete render that msgen.yaml does not record."""
    workspace = load_workspace(root / WORKSPACE_FILE)
    recorded = {workspace.service_dir(name) for name in workspace.model.services}
    return sorted(
        p.parent.name for p in root.glob(f"*/{ANSWERS_FILE}") if p.parent.resolve() not in recorded
    )


def assert_agrees(root: Path) -> None:
    """Every recorded service's directory exists and its answers match its entry."""
    workspace = load_workspace(root / WORKSPACE_FILE)
    for name, entry in workspace.model.services.items():
        target = workspace.service_dir(name)
        assert target.is_dir(), f"{name} is recorded but {target} is missing"
        answers = read_answers(target)
        assert answers["port"] == entry.port
        assert entry_from_answers(entry, answers) == entry, f"{name}: {answers} vs {entry}"


@dataclass(slots=True)
class Lab:
    """A prepared workspace per scenario, copied fresh for every run."""

    base: Path
    env: dict[str, str]
    scratch: Path
    runs: int = 0

    def fresh(self) -> Path:
        """A copy of the base workspace (called from the test's thread only)."""
        self.runs += 1
        root = self.scratch / f"run-{self.runs}"
        shutil.copytree(self.base, root, symlinks=True)
        return root


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Scenario], Lab]:
    """Build a scenario's workspace on first use (with its own copy of the templates)."""
    made: dict[str, Lab] = {}

    def lab(scenario: Scenario) -> Lab:
        if scenario.name not in made:
            home = tmp_path_factory.mktemp(scenario.name)
            templates = home / "templates"
            shutil.copytree(
                templates_dir(), templates, ignore=shutil.ignore_patterns("__pycache__")
            )
            env = {"MSGEN_TEMPLATES_DIR": str(templates), "MSGEN_FAULT": ""}
            base = home / "base"
            base.mkdir()
            scenario.setup(base, env)
            made[scenario.name] = Lab(base=base, env=env, scratch=home)
        return made[scenario.name]

    return lab


def run_with_fault(root: Path, scenario: Scenario, env: dict[str, str], spec: str) -> list[str]:
    """Run in-process with ``MSGEN_FAULT=spec``; the checkpoints it passed."""
    faults.reset()
    cwd = Path.cwd()
    os.chdir(root)
    try:
        result = runner.invoke(app, scenario.argv, env={**env, "MSGEN_FAULT": spec})
        passed = faults.passed()
    finally:
        os.chdir(cwd)
        faults.reset()
    if spec == "count":
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, f"{spec}: the fault did not stop msgen: {result.output}"
        assert "internal error" not in result.output.lower(), result.output
    return passed


def kill_at(root: Path, scenario: Scenario, env: dict[str, str], step: int) -> int:
    """Run in a subprocess that SIGKILLs itself at write step ``step``; its pid."""
    code = "import sys; from msgen.cli import main; sys.argv[0] = 'msgen'; sys.exit(main())"
    with subprocess.Popen(
        [sys.executable, "-c", code, *scenario.argv],
        cwd=root,
        env={**os.environ, **env, "PYTHONPATH": SRC, "MSGEN_FAULT": f"{step}:kill"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, (
        f"step {step} did not kill msgen: {process.returncode} {stderr}"
    )
    return process.pid


def check_after_crash(
    root: Path,
    scenario: Scenario,
    env: dict[str, str],
    where: str,
    pid: int | None = None,
    rerun: Callable[[Path, list[str], dict[str, str]], str] = invoke,
) -> None:
    """Recovery leaves a consistent workspace, and the rerun completes it."""
    load_workspace(root / WORKSPACE_FILE)  # parses
    recover(root)
    assert leftovers(root) == [], where
    if pid is not None and not pid_alive(pid):  # the killed run's update sandbox (unless
        # the machine already gave its pid to another process: then it is rightly kept)
        assert list(Path(tempfile.gettempdir()).glob(f"msgen-update-{pid}-*")) == [], where
    assert_agrees(root)
    unrecorded = unrecorded_services(root)
    assert not unrecorded or scenario.may_adopt, f"{where}: unrecorded {unrecorded}"
    output = rerun(root, scenario.argv, env)
    if unrecorded:
        assert "Adopted" in output, f"{where}: {output}"
    assert leftovers(root) == [], where
    assert_agrees(root)
    assert unrecorded_services(root) == []


def assert_same_files(root: Path, reference: dict[str, bytes], where: str) -> None:
    now = snapshot(root)
    assert sorted(now) == sorted(reference), where
    changed = [name for name in reference if now[name] != reference[name]]
    assert changed == [], f"{where}: differs from a clean run: {changed}"


def killed_and_checked(
    root: Path, scenario: Scenario, env: dict[str, str], step: int, where: str
) -> None:
    """SIGKILL at ``step``, then recovery and rerun checked, each in its own process.

    Their temporary directory is their own: msgen's recovery removes the update sandboxes
    of dead msgen processes from it, and the in-process runs beside them recover too.
    """
    private = root.parent / "tmp-killed"
    private.mkdir(exist_ok=True)
    env = {**env, "TMPDIR": str(private)}
    pid = kill_at(root, scenario, env, step)
    code = [sys.executable, "-m", "tests.test_crash_consistency", scenario.name, where, str(pid)]
    proc = subprocess.run(
        code,
        cwd=root,
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join([SRC, REPO])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"{where}:\n{proc.stdout}\n{proc.stderr}"


COUNTS: dict[str, int] = {}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_write_step_interrupted_recovers_and_reruns_to_the_clean_state(
    scenario: Scenario, labs: Callable[[Scenario], Lab]
) -> None:
    lab = labs(scenario)
    clean = lab.fresh()
    steps = run_with_fault(clean, scenario, lab.env, "count")
    assert steps, "the command wrote nothing through a checkpoint"
    reference = snapshot(clean)
    killed: list[tuple[Path, str, Future[None]]] = []
    with ThreadPoolExecutor(max_workers=1) as beside:
        for step, name in enumerate(steps, start=1):
            root, where = lab.fresh(), f"kill at step {step} ({name})"
            job = beside.submit(killed_and_checked, root, scenario, lab.env, step, where)
            killed.append((root, where, job))
            root = lab.fresh()
            passed = run_with_fault(root, scenario, lab.env, f"{step}:raise")
            assert len(passed) == step
            where = f"raise at step {step} ({name})"
            check_after_crash(root, scenario, lab.env, where)
            assert_same_files(root, reference, where)
        for root, where, job in killed:
            job.result()
            assert_same_files(root, reference, where)
    COUNTS[scenario.name] = len(steps)
    print(f"\n{scenario.name}: {len(steps)} write steps x (exception, SIGKILL)")


def _rerun_here(root: Path, argv: list[str], env: dict[str, str]) -> str:
    """The rerun inside the checking subprocess (its environment is already ``env``)."""
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, f"msgen {' '.join(argv)}: {result.output}"
    return result.output


if __name__ == "__main__":  # the checks after a SIGKILL, run by killed_and_checked
    _name, _where, _pid = sys.argv[1:4]
    _scenario = next(s for s in SCENARIOS if s.name == _name)
    check_after_crash(Path.cwd(), _scenario, {}, _where, int(_pid), rerun=_rerun_here)
