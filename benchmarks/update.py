"""How long ``msgen update`` and ``msgen add`` take on a small workspace.

Renders N services (default 3) with a copy of the templates, commits them, changes the copy
(one line of the service README), then times cold CLI runs: ``update`` with nothing to do,
``update --dry-run``, ``update``, and ``add consul`` on one service.

    python benchmarks/update.py [--services N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from msgen.render import templates_dir

MSGEN = Path(sys.executable).parent / "msgen"


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def timed(label: str, *args: str, cwd: Path, env: dict[str, str]) -> None:
    start = time.perf_counter()
    proc = subprocess.run([str(MSGEN), *args], cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {elapsed:6.2f} s  (exit {proc.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=3)
    count = parser.parse_args().services
    with tempfile.TemporaryDirectory(prefix="msgen-bench-update-") as tmp:
        root = Path(tmp)
        templates = root / "templates"
        shutil.copytree(templates_dir(), templates, ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "MSGEN_TEMPLATES_DIR": str(templates)}
        shop = root / "shop"
        shop.mkdir()
        names = [f"svc{i}" for i in range(count)]
        for name in names:
            subprocess.run(
                [str(MSGEN), "new", "service", name, "--defaults"],
                cwd=shop,
                env=env,
                check=True,
                capture_output=True,
            )
        git("init", "-q", cwd=shop)
        git("add", "-A", cwd=shop)
        git("commit", "-qm", "services", cwd=shop)
        print(f"{count} services, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        timed("update (nothing to do)", "update", cwd=shop, env=env)
        readme = templates / "service" / "template" / "README.md.jinja"
        readme.write_text(readme.read_text() + "\nOne more line from the template.\n")
        timed("update --dry-run (template changed)", "update", "--dry-run", cwd=shop, env=env)
        timed("update (template changed)", "update", cwd=shop, env=env)
        git("add", "-A", cwd=shop)
        git("commit", "-qm", "update", cwd=shop)
        timed("add consul (one service)", "add", "consul", names[0], cwd=shop, env=env)


if __name__ == "__main__":
    main()
