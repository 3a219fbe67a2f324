"""How long domain work takes: rendering a big domain, and ``msgen add field`` on it.

Prints, in one run:

(a) ``msgen new service`` end to end (cold CLI runs, median of N) for today's starter service
    and for a service whose domain has 10 entities of 10 fields each (a mix of every field
    type, references included). ``msgen new service`` takes the main entity's fields on the
    command line only, so the 10x10 run goes through a small wrapper that hands the same
    ``new_service`` the 10x10 domain (``initial_domain`` replaced) and then runs the real
    CLI; everything else is msgen's own path: copier render, first revision, rules modules,
    contract export, workspace save. Goal: at most 2x the starter service.
(b) ``msgen add field`` end to end (cold CLI runs, median of N) on the 10x10 service, each
    run adding a new optional field and committing it. Goal: at most 1.5 s.

    python benchmarks/domain.py [--runs N] [--profile]

``--profile`` also prints a cProfile summary of one in-process ``add field``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
MSGEN = [sys.executable, "-c", "from msgen.cli import main; main()"]

ENTITIES = 10
FIELDS = 10

WRAPPER = """
import json, os, sys
from msgen import scaffold
from msgen.domain.syntax import parse_entities
from msgen.domain.validate import validate_domain

def initial_domain(names, fields, *, db):
    domain = parse_entities(json.loads(os.environ["MSGEN_BENCH_DOMAIN"]))
    validate_domain(domain)
    return domain

scaffold.initial_domain = initial_domain
from msgen.cli import main
sys.argv = ["msgen", *sys.argv[1:]]
main()
"""


def big_domain() -> dict[str, dict[str, dict[str, str]]]:
    """10 entities of 10 fields, every type used, each entity after the first refers back."""
    entities: dict[str, dict[str, dict[str, str]]] = {}
    for index in range(ENTITIES):
        fields = {
            "title": "str",
            "body": "text?",
            "quantity": "int",
            "price": "decimal",
            "active": "bool = true",
            "due_on": "date?",
            "seen_at": "datetime?",
            "external_id": "uuid",
            "state": "enum(draft, open, closed) = draft",
        }
        if index:
            fields["parent"] = f"ref(Thing{index - 1})"
        else:
            fields["score"] = "float"
        entities[f"Thing{index}"] = {"fields": fields}
    return entities


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(
            f"{' '.join(command[3:])} failed ({proc.returncode}):\n"
            + proc.stdout.decode(errors="replace")
            + proc.stderr.decode(errors="replace")
        )
    return elapsed


def line(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(
        f"{label:<44} median {median:6.2f} s  min {min(times):5.2f}  max {max(times):5.2f}"
        f"  (n={len(times)})"
    )
    return median


def main() -> None:
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    runs = options.runs
    env = {**os.environ, "MSGEN_BENCH_DOMAIN": json.dumps(big_domain())}
    wrapper = [sys.executable, "-c", WRAPPER]
    print(
        f"{ENTITIES} entities x {FIELDS} fields, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, {runs} runs each"
    )
    with tempfile.TemporaryDirectory(prefix="msgen-bench-domain-") as tmp:
        root = Path(tmp)
        starter, big = [], []
        for index in range(runs):
            shop = root / f"new{index}"
            shop.mkdir()
            starter.append(
                run([*MSGEN, "new", "service", "orders", "--defaults"], cwd=shop, env=env)
            )
            big.append(run([*wrapper, "new", "service", "things", "--defaults"], cwd=shop, env=env))
        s = line("(a) new service, starter entity", starter)
        b = line(f"(a) new service, {ENTITIES}x{FIELDS} domain", big)
        print(f"    ratio {b / s:.2f}x (goal: at most 2x)")

        shop = root / "new0"
        git("init", "-q", cwd=shop)
        git("add", "-A", cwd=shop)
        git("commit", "-qm", "services", cwd=shop)
        added = []
        for index in range(runs):
            field = f"note{index}:text?"
            added.append(
                run([*MSGEN, "add", "field", "things", "Thing5", field], cwd=shop, env=env)
            )
            git("add", "-A", cwd=shop)
            git("commit", "-qm", f"add {field}", cwd=shop)
        a = line(f"(b) add field on the {ENTITIES}x{FIELDS} service", added)
        print(f"    goal: at most 1.5 s ({'met' if a <= 1.5 else 'not met'})")
        if options.profile:
            profile(shop)


def profile(shop: Path) -> None:
    """One ``add field`` in-process under cProfile: the top of the cumulative times."""
    import cProfile
    import pstats

    from msgen.cli import app

    cwd = Path.cwd()
    os.chdir(shop)
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        try:
            app(["add", "field", "things", "Thing5", "profiled:int?"], standalone_mode=False)
        finally:
            profiler.disable()
    finally:
        os.chdir(cwd)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
