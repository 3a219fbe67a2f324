"""How long generating the deployment files takes, for a small and a large workspace.

Prints the median (min/max) of in-process builds of the compose file, the Kubernetes base
and the Istio objects, and of cold ``msgen compose generate`` / ``k8s generate`` / ``mesh
generate`` runs (a fresh process each, first run writing, the rest finding nothing to do).

    python benchmarks/manifests.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from msgen.manifests.compose import compose_files, select_infra
from msgen.manifests.istio import istio_files
from msgen.manifests.k8s import k8s_files
from msgen.workspace import Workspace

BIN = Path(sys.executable).parent


def workspace_data(count: int) -> dict:
    services = {
        f"svc{i}": {
            "path": f"svc{i}",
            "port": 8001 + i,
            "db": "postgres" if i % 2 else "sqlite",
            "broker": "rabbitmq",
            "discovery": "consul",
            "features": ["tracing", "metrics"],
            "upstreams": [f"svc{i - 1}"] if i else [],
            # A canary on a third of them, all on PostgreSQL (none of a SQLite service).
            "versions": {"v1": 90, "v2": 10} if i % 6 in (1, 3) else {},
        }
        for i in range(count)
    }
    services["edge"] = {
        "kind": "gateway",
        "path": "edge",
        "port": 8000,
        "upstreams": list(services),
    }
    return {"schema": 1, "name": "bench", "services": services}


def stats(times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"median {statistics.median(ms):8.2f} ms  (min {min(ms):.2f}, max {max(ms):.2f})"


def timed(func: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = max(parser.parse_args().runs, 10)
    for count in (3, 30):
        data = workspace_data(count)
        workspace = Workspace.model_validate(data)
        selection = select_infra(workspace)
        print(f"workspace with {count} services and a gateway, {runs} runs each")
        builds = {
            "compose": lambda ws=workspace, sel=selection: compose_files(ws, sel),
            "k8s": lambda ws=workspace: k8s_files(ws),
            "istio": lambda ws=workspace: istio_files(ws),
        }
        for name, build in builds.items():
            print(f"  build {name + ' files':<16} {stats(timed(build, runs))}")
        with tempfile.TemporaryDirectory(prefix="msgen-bench-") as scratch:
            Path(scratch, "msgen.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
            for group in ("compose", "k8s", "mesh"):
                command = [str(BIN / "msgen"), group, "generate"]

                def run(command: list[str] = command) -> None:
                    subprocess.run(command, cwd=scratch, check=True, capture_output=True)

                print(f"  msgen {group + ' generate':<16} {stats(timed(run, runs))}")


if __name__ == "__main__":
    main()
