"""The typed clients, ``msgen check contracts`` and the catalog of a 30-service workspace.

Renders N services (default 30) with ``msgen new service``, each calling the two rendered
before it (``--upstream``), with the default broker (so the check also compares events).
The first service is installed (uv) and exports its OpenAPI document with its own
``python -m svc0.openapi``; every service gets that document (its title changed) as its
``contracts/openapi.json``, as each would export it. ``msgen update`` then copies each
caller's upstream documents and generates its typed clients from them (timed; issue 21's
figure for generating the clients), and cold CLI runs of ``msgen check contracts``,
``msgen docs build`` (the catalog) and ``msgen graph`` are timed (median of --runs). The goal
of issue 21 for the catalog build is 3 s; the check and the graph are parts of it.

    python benchmarks/contracts.py [--services 30] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MSGEN = Path(sys.executable).parent / "msgen"


def msgen(*args: str, cwd: Path) -> float:
    """Seconds a cold ``msgen`` run takes; any failure stops the benchmark."""
    start = time.perf_counter()
    command = [str(MSGEN), *args]
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"msgen {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from tests.servicekit import install, run

    with tempfile.TemporaryDirectory(prefix="msgen-bench-contracts-") as tmp:
        ws = Path(tmp)
        msgen("init", "--name", "bench", "--auth", "none", cwd=ws)
        names = [f"svc{i}" for i in range(args.services)]
        start = time.perf_counter()
        for i, name in enumerate(names):
            upstreams = [a for up in names[max(0, i - 2) : i] for a in ("--upstream", up)]
            msgen("new", "service", name, *upstreams, cwd=ws)
        rendered = time.perf_counter() - start
        print(f"{args.services} services rendered in {rendered:.1f} s; installing svc0 ...")
        python = install(ws / "svc0")
        run([str(python), "-m", "svc0.openapi"], cwd=ws / "svc0")
        document = json.loads((ws / "svc0" / "contracts" / "openapi.json").read_text())
        for name in names[1:]:
            path = ws / name / "contracts" / "openapi.json"
            path.write_text(json.dumps({**document, "info": {**document["info"], "title": name}}))
        operations = sum(len(item) for item in document["paths"].values())
        calls = sum(min(i, 2) for i in range(args.services))
        copied = msgen("update", cwd=ws)
        print(
            f"each API: {len(document['paths'])} paths, {operations} operations, "
            f"{len(json.dumps(document)) // 1024} KiB; {calls} caller-upstream pairs; "
            f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
        )
        clients = len(list(ws.glob("*/src/*/clients/*_models.py")))
        print(f"{'msgen update (documents + clients)':<40} {copied:6.2f} s  ({clients} clients)")
        for label, command in (
            ("msgen graph", ("graph",)),
            ("msgen check contracts", ("check", "contracts")),
            ("msgen check contracts --json", ("check", "contracts", "--json")),
            ("msgen docs build (the catalog)", ("docs", "build")),
        ):
            times = [msgen(*command, cwd=ws) for _ in range(args.runs)]
            print(f"{label:<40} {statistics.median(times):6.2f} s  (median of {args.runs})")


if __name__ == "__main__":
    main()
