"""Wait for a condition (never for a fixed time), with a generous deadline."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or condition}")
        time.sleep(0.05)


def pids(pattern: str) -> set[int]:
    """The processes whose command line contains ``pattern`` (pgrep -f)."""
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return {int(pid) for pid in found.stdout.split()}


def cpu_idle(pid: int, *, over: float = 0.25) -> bool:
    """Whether process ``pid`` used no CPU time for ``over`` seconds (a waiting process)."""

    def cpu() -> tuple[str, ...]:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return ()
        return tuple(stat.rsplit(") ", 1)[1].split()[11:13])  # utime, stime

    before = cpu()
    time.sleep(over)
    return bool(before) and before == cpu()


class StatusServer(ThreadingHTTPServer):
    """Answers every GET with ``status`` (settable): a health endpoint to point checks at."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StatusHandler)
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _StatusHandler(BaseHTTPRequestHandler):
    server: StatusServer

    def do_GET(self) -> None:
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def status_server() -> Iterator[StatusServer]:
    server = StatusServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
