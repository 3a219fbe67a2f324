"""Gateway overhead: requests/s through the generated gateway vs direct to the same service.

Renders a service (``pinger``, no database) and a gateway in front of it, installs both
with uv, serves each with uvicorn on 127.0.0.1, then drives ``GET /`` directly and
``GET /pinger/`` through the gateway with the same load generator: wrk when it is on PATH,
else a bounded asyncio loop of httpx clients (``--tool httpx`` forces it). Prints
requests/s and latency percentiles side by side, the throughput ratio, and the p99 latency
the gateway adds. Rate limiting is switched off for the run (it is on by default).

    python benchmarks/gateway.py [--seconds 10] [--connections 32] [--tool wrk|httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


@dataclass
class Result:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    p50: float | None = None
    p99: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        if q == 50 and self.p50 is not None:
            return self.p50
        if q == 99 and self.p99 is not None:
            return self.p99
        return statistics.quantiles(self.latencies_ms, n=100)[int(q) - 1]


async def httpx_load(url: str, *, seconds: float, connections: int) -> Result:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        for _ in range(50):  # warm the pool and both servers
            await client.get(url)
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.get(url)
                latencies.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return Result(len(latencies), elapsed, latencies, errors)


def wrk_load(wrk: str, url: str, *, seconds: float, connections: int) -> Result:
    subprocess.run([wrk, "-t1", "-c4", "-d1s", url], check=True, capture_output=True)  # warm-up
    out = subprocess.run(
        [
            wrk,
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--latency",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return Result(
        requests, seconds, [], int(non2xx.group(1)) if non2xx else 0, p50=ms("50"), p99=ms("99")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tool", choices=["wrk", "httpx"], default=None)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    tool = args.tool or ("wrk" if wrk else "httpx")
    if tool == "wrk" and wrk is None:
        sys.exit("wrk is not on PATH (apt-get install wrk), or use --tool httpx")

    from msgen.gateway import NewGatewayOptions, new_gateway
    from tests.servicekit import install, render, serve

    with tempfile.TemporaryDirectory(prefix="msgen-bench-gateway-") as scratch:
        root = Path(scratch)
        print("rendering and installing pinger and gateway ...", flush=True)
        service = render(root, "pinger", db="none")
        gateway = new_gateway(NewGatewayOptions(), cwd=root).target
        service_python, gateway_python = install(service), install(gateway)
        # serve() pipes the server output without reading it: keep it short.
        quiet = {"LOG_LEVEL": "WARNING", "UVICORN_ACCESS_LOG": "false"}
        with serve(service, service_python, "pinger", quiet) as upstream:
            env = {**quiet, "UPSTREAM_PINGER_URL": upstream, "RATE_LIMIT_ENABLED": "false"}
            with serve(gateway, gateway_python, "gateway", env) as gw:
                targets = {"direct": f"{upstream}/", "gateway": f"{gw}/pinger/"}
                results = {}
                for label, url in targets.items():
                    print(
                        f"{label}: {tool}, {args.connections} connections, {args.seconds:g} s ...",
                        flush=True,
                    )
                    if tool == "wrk":
                        results[label] = wrk_load(
                            wrk, url, seconds=args.seconds, connections=args.connections
                        )
                    else:
                        results[label] = asyncio.run(
                            httpx_load(url, seconds=args.seconds, connections=args.connections)
                        )
    direct, through = results["direct"], results["gateway"]
    print()
    print(f"{'':12}{'direct':>12}{'gateway':>12}")
    print(f"{'requests/s':12}{direct.rps:12.0f}{through.rps:12.0f}")
    for q in (50, 99):
        print(f"{f'p{q} ms':12}{direct.percentile(q):12.2f}{through.percentile(q):12.2f}")
    print(f"{'errors':12}{direct.errors:12d}{through.errors:12d}")
    print()
    print(f"throughput through the gateway: {through.rps / direct.rps:.2f} x direct")
    print(
        f"p99 latency added by the gateway: {through.percentile(99) - direct.percentile(99):.2f} ms"
    )


if __name__ == "__main__":
    main()
