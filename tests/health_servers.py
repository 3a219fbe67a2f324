"""A real HTTP server on 127.0.0.1 whose base paths behave like healthy and broken services.

``/`` and ``/healthy``, ``/sick`` (ready answers 503 naming the database), ``/degraded``
(ready 200 but body says fail), ``/hang`` (never answers until the server stops),
``/garbage`` (non-JSON).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READY_PASS = {"status": "pass", "checks": {"database": {"status": "pass", "latency_ms": 1.0}}}
READY_SICK = {
    "status": "fail",
    "checks": {
        "database": {"status": "fail", "error": "ConnectionRefusedError: nope"},
        "broker": {"status": "pass", "latency_ms": 1.0},
    },
}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        base, _, probe = self.path.rpartition("/health/")
        base = base.strip("/")
        if base == "hang":
            self.server.release.wait()
            return
        if base == "garbage":
            self._send(200, b"<html>not json</html>", "text/html")
            return
        if base == "":  # a bare host:port (as Consul hands out) is healthy
            base = "healthy"
        if probe == "live" and base in {"healthy", "sick", "degraded"}:
            self._send(200, json.dumps({"status": "pass"}).encode())
        elif probe == "ready" and base == "healthy":
            self._send(200, json.dumps(READY_PASS).encode())
        elif probe == "ready" and base == "sick":
            self._send(503, json.dumps(READY_SICK).encode())
        elif probe == "ready" and base == "degraded":
            self._send(200, json.dumps({"status": "fail", "checks": {}}).encode())
        else:
            self._send(404, b'{"detail": "not found"}')


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    release: threading.Event


@contextmanager
def health_server() -> Iterator[str]:
    """Yield ``http://127.0.0.1:PORT``; base paths choose the behaviour."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
