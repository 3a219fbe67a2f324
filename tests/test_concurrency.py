"""Many msgen processes on one workspace at once: every change is recorded, none is lost.

Real processes (``python -m msgen``), started together; the workspace lock serialises them.
The counts here (10 concurrent ``new service``, 10 canaries racing 3 ``compose generate``)
are the ones docs/robustness.md reports.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from msgen.locking import LOCK_FILE, STATE_DIR
from msgen.workspace import load_workspace
from tests.lockkit import msgen_env

NEW_SERVICES = 10
CANARIES = 10
COMPOSE_RUNS = 3


def start(cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "msgen", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=msgen_env(MSGEN_LOCK_TIMEOUT="600", **env),
    )


def finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    results = []
    for process in processes:
        out, err = process.communicate(timeout=900)
        results.append((process.returncode, out, err))
    return results


def leftovers(root: Path) -> list[str]:
    """Staging directories and temporary files a run should never leave."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if (".msgen-" in p.name and p.name not in {".msgen-templates", ".msgen-outputs.json"})
        or p.name.endswith(".tmp")
    )


def test_ten_concurrent_new_services_in_an_empty_directory_are_all_recorded(
    tmp_path: Path,
) -> None:
    names = [f"svc{index}" for index in range(NEW_SERVICES)]
    results = finish([start(tmp_path, "new", "service", name, "--defaults") for name in names])
    for code, out, err in results:
        assert code == 0, err
        assert "Created service" in out
    assert sum("Created workspace" in out for _, out, _ in results) == 1
    services = load_workspace(tmp_path / "msgen.yaml").model.services
    assert sorted(services) == sorted(names)
    ports = [entry.port for entry in services.values()]
    assert len(set(ports)) == NEW_SERVICES
    for name, entry in services.items():
        answers = (tmp_path / name / ".copier-answers.yml").read_text()
        assert f"port: {entry.port}" in answers  # each directory rendered with its own port
    directories = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert directories == sorted([*names, STATE_DIR, ".msgen-templates"])  # no orphans
    assert leftovers(tmp_path) == []
    assert (tmp_path / STATE_DIR / LOCK_FILE).is_file()


def test_concurrent_canaries_and_compose_runs_lose_no_update(tmp_path: Path) -> None:
    lines = ["schema: 1", "name: shop", "services:"]
    for index in range(CANARIES):
        lines += [f"  svc{index}:", f"    path: svc{index}", f"    port: {8001 + index}"]
    (tmp_path / "msgen.yaml").write_text("\n".join(lines) + "\n")
    canaries = [
        start(tmp_path, "mesh", "canary", f"svc{i}", "--version", "v2", "--weight", str(5 + i))
        for i in range(CANARIES)
    ]
    composes = [start(tmp_path, "compose", "generate") for _ in range(COMPOSE_RUNS)]
    for code, _, err in finish([*canaries, *composes]):
        assert code == 0, err
    services = load_workspace(tmp_path / "msgen.yaml").model.services
    for index in range(CANARIES):
        weight = 5 + index
        assert services[f"svc{index}"].versions == {"v1": 100 - weight, "v2": weight}
        route = (tmp_path / "deploy" / "istio" / f"svc{index}" / "virtualservice.yaml").read_text()
        assert f"weight: {weight}\n" in route
    env_names = [
        line.split("=", 1)[0]
        for line in (tmp_path / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(env_names) == len(set(env_names))  # .env was written by one run at a time
    assert (tmp_path / ".gitignore").read_text().splitlines().count(".env") == 1
    assert leftovers(tmp_path) == []
