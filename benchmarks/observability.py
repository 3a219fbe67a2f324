"""Cost of observability: requests/s of a generated service with tracing and metrics on vs off.

Renders ``orders`` (SQLite, no broker) twice, with ``--tracing --metrics`` (the default)
and with ``--no-tracing --no-metrics``, and installs both with uv. Three apps are served
one after the other by uvicorn with the same options (one worker, uvloop and httptools
from ``uvicorn[standard]``, no access log, LOG_LEVEL=WARNING):

- ``off``: the service rendered without tracing and metrics;
- ``on``: the service rendered with them, sampling 100% of requests;
- ``on-no-sql``: the same without the SQLAlchemy instrumentation (what SQL spans cost);
- ``common``: the ``off`` service with the stack other generators ship:
  prometheus-fastapi-instrumentator and OpenTelemetry's FastAPIInstrumentor with its
  defaults, also sampling 100%.

Spans go to a batch processor with an exporter that drops them, for ``on`` and ``common``
alike, so the figures are the instrumentation's cost, not a collector's. wrk drives
``GET /health/live`` and ``GET /orders/{order_id}`` (an existing order) for each app;
the output is absolute requests/s and each instrumented app's ratio to ``off``. The common
stack has no SQL spans; compare it with ``on-no-sql`` for like with like.

    python benchmarks/observability.py [--seconds 10] [--connections 50] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

DROP_EXPORTER = """
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class Drop(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def processor():
    return BatchSpanProcessor(Drop())
"""

ON_APP = """
from bench_drop import processor
from orders.app import create_app

app = create_app()
app.state.tracer_provider.add_span_processor(processor())
"""

# The same, without the SQLAlchemy instrumentation: what the SQL spans cost.
ON_NO_SQL_APP = """
import orders.app

from bench_drop import processor

orders.app.instrument_engine = lambda engine, provider: None
app = orders.app.create_app()
app.state.tracer_provider.add_span_processor(processor())
"""

COMMON_APP = """
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from prometheus_fastapi_instrumentator import Instrumentator

from bench_drop import processor
from orders.app import create_app

app = create_app()
provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
provider.add_span_processor(processor())
FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
Instrumentator().instrument(app).expose(app)
"""

COMMON_PACKAGES = [
    "opentelemetry-sdk>=1.30,<2",
    "opentelemetry-instrumentation-fastapi>=0.51b0,<1",
    "prometheus-fastapi-instrumentator>=7,<9",
]


@contextmanager
def serve(
    service: Path,
    python: Path,
    module: str,
    env: dict[str, str],
    *,
    strip: tuple[str, ...] = ("OTEL_", "VIRTUAL_ENV"),
) -> Iterator[str]:
    """uvicorn, one worker, the same options for every app; yields the base URL when live.

    Variables of this environment starting with one of ``strip`` are not passed on.
    """
    from tests.servicekit import free_port

    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(strip)}
    full_env.update(env)
    command = [str(python), "-m", "uvicorn", f"{module}:app", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(command, cwd=service, env=full_env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"{module} exited"
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{module} not ready within 60 s"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wrk_rps(
    wrk: str,
    url: str,
    *,
    seconds: float,
    connections: int,
    headers: dict[str, str] | None = None,
) -> float:
    """wrk's requests/s for ``url`` (after a 2 s warm-up), each request with ``headers``."""
    header_args = [a for name, value in (headers or {}).items() for a in ("-H", f"{name}: {value}")]
    subprocess.run(  # warm-up
        [wrk, "-t1", "-c4", "-d2s", *header_args, url], check=True, capture_output=True
    )
    command = [wrk, f"-t{min(2, connections)}", f"-c{connections}", f"-d{int(seconds)}s"]
    out = subprocess.run(
        [*command, *header_args, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1, help="wrk runs per figure (median)")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not on PATH (apt-get install wrk)")

    from tests.servicekit import install, render, run, uv

    with tempfile.TemporaryDirectory(prefix="msgen-bench-obs-") as scratch:
        root = Path(scratch)
        print("rendering and installing orders with and without observability ...", flush=True)
        (root / "on").mkdir()
        (root / "off").mkdir()
        on = render(root / "on", "orders", db="sqlite", broker="none")
        off = render(
            root / "off", "orders", db="sqlite", broker="none", tracing=False, metrics=False
        )
        on_python, off_python = install(on, editable=False), install(off, editable=False)
        run([uv(), "pip", "install", "-q", "--python", str(off_python), *COMMON_PACKAGES], cwd=off)
        for service in (on, off):
            (service / "bench_drop.py").write_text(DROP_EXPORTER)
        (on / "bench_on.py").write_text(ON_APP)
        (on / "bench_on_no_sql.py").write_text(ON_NO_SQL_APP)
        (off / "bench_common.py").write_text(COMMON_APP)
        apps = {
            "off": (off, off_python, "orders.main"),
            "on": (on, on_python, "bench_on"),
            "on-no-sql": (on, on_python, "bench_on_no_sql"),
            "common": (off, off_python, "bench_common"),
        }
        results: dict[str, dict[str, float]] = {}
        for label, (service, python, module) in apps.items():
            env = {
                "LOG_LEVEL": "WARNING",
                "DATABASE_URL": f"sqlite+aiosqlite:///{root / label}.db",
                "OTEL_TRACES_SAMPLER": "always_on",
            }
            with serve(service, python, module, env) as base:
                order = httpx.post(f"{base}/orders", json={"name": "bench"}, timeout=10).json()
                urls = {
                    "GET /health/live": f"{base}/health/live",
                    "GET /orders/{order_id}": f"{base}/orders/{order['id']}",
                }
                results[label] = {}
                for endpoint, url in urls.items():
                    print(
                        f"{label}: {endpoint}: wrk {args.connections} connections, "
                        f"{args.runs} x {args.seconds:g} s ...",
                        flush=True,
                    )
                    results[label][endpoint] = statistics.median(
                        wrk_rps(wrk, url, seconds=args.seconds, connections=args.connections)
                        for _ in range(args.runs)
                    )
    print()
    labels = [label for label in results if label != "off"]
    print(
        f"{'':24}{'off req/s':>11}"
        + "".join(f"{label + ' req/s':>18}{'ratio':>7}" for label in labels)
    )
    for endpoint in results["off"]:
        base_rps = results["off"][endpoint]
        row = f"{endpoint:24}{base_rps:11.0f}"
        for label in labels:
            rps = results[label][endpoint]
            row += f"{rps:18.0f}{rps / base_rps:7.2f}"
        print(row)


if __name__ == "__main__":
    main()
