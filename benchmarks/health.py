"""``msgen check health`` over 50 local endpoints, 10 of which never answer (timeout 1 s).

Prints the concurrent run's wall time beside the timeout (target: at most 1.3x) and beside
a sequential loop over the same endpoints.

    python benchmarks/health.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from msgen.health import Target, check_health  # noqa: E402
from tests.health_servers import health_server  # noqa: E402

TIMEOUT = 1.0


def main() -> None:
    with health_server() as base:
        targets = [
            Target(
                service=f"s{i}",
                instance=str(i),
                base_url=f"{base}/{'hang' if i < 10 else 'healthy'}",
            )
            for i in range(50)
        ]
        check_health(targets[10:], timeout=TIMEOUT)  # warm-up: imports, first connections
        started = time.perf_counter()
        results = check_health(targets, timeout=TIMEOUT)
        concurrent = time.perf_counter() - started
        started = time.perf_counter()
        for one in targets:
            check_health([one], timeout=TIMEOUT)
        sequential = time.perf_counter() - started
    healthy = sum(r.healthy for r in results)
    print(f"targets: 50 ({healthy} healthy, {50 - healthy} never answer), timeout {TIMEOUT:g} s")
    print(
        f"msgen check health (concurrent): {concurrent:6.2f} s = {concurrent / TIMEOUT:.2f}x "
        "the timeout (target <= 1.3x)"
    )
    print(
        f"sequential loop, same endpoints: {sequential:6.2f} s = "
        f"{sequential / concurrent:.1f}x slower"
    )


if __name__ == "__main__":
    main()
