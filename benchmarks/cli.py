"""Start-up and render speed of msgen next to its floor and its peers.

Prints the median (and min/max) wall time of at least 10 cold runs of each command:
``msgen --help``; ``python -c "import typer, rich"`` (the floor any typer+rich CLI pays);
``cookiecutter --version`` and ``copier --version`` (the peers' cold starts); ``msgen new
service`` end to end; and a direct ``copier copy`` of the same template with the same
answers, so msgen's overhead over copier is a printed ratio.

Every command runs with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` unset) and msgen's
sources compiled first, as a ``pip install`` leaves them; ``msgen new`` keeps its compiled
templates in ``~/.cache/msgen`` (the first run of a template version fills it), so the median
is the warm figure and the max the cold one.

    python benchmarks/cli.py [--runs N]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def tool(name: str) -> str | None:
    return shutil.which(name, path=str(BIN)) or shutil.which(name)


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(make_cmd: Callable[[Path], list[str]], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="msgen-bench-") as scratch:
            cmd = make_cmd(Path(scratch))
            start = time.perf_counter()
            subprocess.run(
                cmd,
                cwd=scratch,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=ENV,
            )
            times.append(time.perf_counter() - start)
    return times


def copier_data_args() -> list[str]:
    sys.path.insert(0, str(ROOT / "src"))
    from msgen.naming import derive_names
    from msgen.scaffold import template_data

    data = template_data(derive_names("orders"), port=8001, db="sqlite")
    return [arg for key, value in data.items() for arg in ("--data", f"{key}={value}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = max(10, parser.parse_args().runs)
    msgen, copier, cookiecutter = tool("msgen"), tool("copier"), tool("cookiecutter")
    if msgen is None or copier is None:
        sys.exit("install msgen first: pip install -e '.[test]'")
    import msgen as msgen_package
    from msgen.render import templates_dir

    compileall.compile_dir(Path(msgen_package.__file__).parent, quiet=1)

    template = str(templates_dir() / "service")
    cases: list[tuple[str, Callable[[Path], list[str]] | None]] = [
        (
            "python -c 'import typer, rich' (floor)",
            lambda _: [sys.executable, "-c", "import typer, rich"],
        ),
        ("msgen --help", lambda _: [msgen, "--help"]),
        ("copier --version", lambda _: [copier, "--version"]),
        (
            "cookiecutter --version",
            (lambda _: [cookiecutter, "--version"]) if cookiecutter else None,
        ),
        ("msgen new service orders", lambda d: [msgen, "new", "service", "orders", "--defaults"]),
        (
            "copier copy (same template, same answers)",
            lambda d: [
                copier,
                "copy",
                "--quiet",
                "--defaults",
                *copier_data_args(),
                template,
                str(d / "orders"),
            ],
        ),
    ]
    results: dict[str, float] = {}
    print(f"{'command':46} {'median':>9} {'min':>9} {'max':>9}   ({runs} runs each)")
    for label, make in cases:
        if make is None:
            print(f"{label:46} {'not installed (pip install cookiecutter)':>29}")
            continue
        times = timed(make, runs)
        results[label] = statistics.median(times)
        print(
            f"{label:46} {results[label] * 1000:7.0f}ms {min(times) * 1000:7.0f}ms "
            f"{max(times) * 1000:7.0f}ms"
        )
    floor = results["python -c 'import typer, rich' (floor)"]
    help_ = results["msgen --help"]
    new = results["msgen new service orders"]
    copy = results["copier copy (same template, same answers)"]
    print()
    print(
        f"msgen --help over the typer+rich floor: {help_ / floor:.2f}x "
        f"(target: median <= 100 ms; got {help_ * 1000:.0f} ms)"
    )
    print(
        f"msgen new service over copier copy:     {new / copy:.2f}x "
        f"(target: median <= 500 ms; got {new * 1000:.0f} ms)"
    )
    cookie = results.get("cookiecutter --version")
    if cookie is not None:
        print(
            f"msgen --help next to cookiecutter's start: {help_ * 1000:.0f} ms vs "
            f"{cookie * 1000:.0f} ms (target: below it; {'met' if help_ < cookie else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
