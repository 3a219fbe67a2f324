"""A stand-in for a Consul agent: a real HTTP server on 127.0.0.1 that runs its checks.

It implements the part of Consul's HTTP API that msgen and the generated services use,
with the JSON shapes and status codes of Consul's documentation:

* ``PUT /v1/agent/service/register`` -- body ``{ID, Name, Tags, Address, Port, Meta,
  Check: {HTTP, Interval, Timeout, DeregisterCriticalServiceAfter}}``; ``ID`` defaults to
  ``Name``; 200 with an empty body; 400 for a body that is not JSON or has no ``Name``.
  A check starts ``critical`` (Consul's default initial status) and is run every
  ``Interval`` by a thread: 2xx -> passing, 429 -> warning, anything else (or no answer
  within ``Timeout``) -> critical. A check critical for longer than
  ``DeregisterCriticalServiceAfter`` removes its service, as Consul's reaper does.
  https://developer.hashicorp.com/consul/api-docs/agent/service#register-service
* ``PUT /v1/agent/service/deregister/:service_id`` -- 200, or 404 ``Unknown service ID``.
  https://developer.hashicorp.com/consul/api-docs/agent/service#deregister-service
* ``GET /v1/agent/services`` -- ``{ID: {ID, Service, Tags, Meta, Port, Address, ...}}``.
  https://developer.hashicorp.com/consul/api-docs/agent/service#list-services
* ``GET /v1/health/service/:service[?passing]`` -- ``[{Node, Service, Checks}]``; the
  checks include the node's ``serfHealth``; ``passing`` keeps entries whose checks all pass.
  https://developer.hashicorp.com/consul/api-docs/health#list-service-instances-for-service
* ``GET /v1/catalog/services`` -- ``{name: [tags]}``, including ``consul`` itself.
  https://developer.hashicorp.com/consul/api-docs/catalog#list-services
* ``GET /v1/status/leader`` -- the leader's address as a JSON string (no ACL needed).
  https://developer.hashicorp.com/consul/api-docs/status#get-raft-leader

With ``token`` set, every other endpoint requires it in ``X-Consul-Token``,
``Authorization: Bearer`` or ``?token=`` and answers 403 otherwise ("ACL not found" for an
unknown token, "Permission denied" without one), as described in
https://developer.hashicorp.com/consul/api-docs/api-structure#authentication.
Other paths answer 404, other methods 405.

``answers`` (path -> (status, body)) makes the double answer a path oddly instead (a body
that is not JSON, or JSON of the wrong shape), to test how msgen copes with a broken agent
or with something else listening on Consul's port.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NODE = {
    "ID": "40e4a748-2192-161a-0510-9bf59fe950b5",
    "Node": "consul-double",
    "Address": "127.0.0.1",
    "Datacenter": "dc1",
    "TaggedAddresses": {"lan": "127.0.0.1", "wan": "127.0.0.1"},
    "Meta": {},
}
SERF_CHECK = {
    "Node": "consul-double",
    "CheckID": "serfHealth",
    "Name": "Serf Health Status",
    "Status": "passing",
    "Notes": "",
    "Output": "Agent alive and reachable",
    "ServiceID": "",
    "ServiceName": "",
    "ServiceTags": [],
}
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration ("10s", "1m30s", "500ms") in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


@dataclass
class Check:
    service_id: str
    name: str
    url: str | None
    interval: float
    timeout: float
    deregister_after: float | None
    status: str = "critical"
    output: str = ""
    critical_since: float | None = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)

    def to_api(self, service: dict[str, Any]) -> dict[str, Any]:
        return {
            "Node": NODE["Node"],
            "CheckID": f"service:{self.service_id}",
            "Name": self.name,
            "Status": self.status,
            "Notes": "",
            "Output": self.output,
            "ServiceID": self.service_id,
            "ServiceName": service["Service"],
            "ServiceTags": service["Tags"],
            "Type": "http",
        }


class ConsulDouble(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, port: int = 0, token: str | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.token = token
        self.lock = threading.Lock()
        self.services: dict[str, dict[str, Any]] = {}
        self.checks: dict[str, Check] = {}
        self.requests: list[tuple[str, str]] = []
        self.answers: dict[str, tuple[int, str]] = {}
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> ConsulDouble:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            for check in self.checks.values():
                check.stop.set()
        self.shutdown()
        self.server_close()

    def __enter__(self) -> ConsulDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the agent's state -------------------------------------------------------------

    def register(self, body: dict[str, Any]) -> None:
        name = body.get("Name")
        if not isinstance(name, str) or not name:
            raise ValueError("Missing service name")
        service_id = str(body.get("ID") or name)
        service = {
            "ID": service_id,
            "Service": name,
            "Tags": list(body.get("Tags") or []),
            "Meta": dict(body.get("Meta") or {}),
            "Port": int(body.get("Port") or 0),
            "Address": str(body.get("Address") or ""),
            "Weights": {"Passing": 1, "Warning": 1},
            "EnableTagOverride": False,
            "Datacenter": "dc1",
        }
        check = self._check(service_id, name, body.get("Check"))
        with self.lock:
            old = self.checks.pop(service_id, None)
            if old is not None:
                old.stop.set()
            self.services[service_id] = service
            if check is not None:
                self.checks[service_id] = check
        if check is not None and check.url:
            threading.Thread(target=self._run_check, args=(check,), daemon=True).start()

    def deregister(self, service_id: str) -> bool:
        with self.lock:
            check = self.checks.pop(service_id, None)
            if check is not None:
                check.stop.set()
            return self.services.pop(service_id, None) is not None

    def health(self, name: str, *, passing: bool) -> list[dict[str, Any]]:
        with self.lock:
            entries = []
            for service_id, service in self.services.items():
                if service["Service"] != name:
                    continue
                checks = [dict(SERF_CHECK)]
                if service_id in self.checks:
                    checks.append(self.checks[service_id].to_api(service))
                if passing and any(c["Status"] != "passing" for c in checks):
                    continue
                entries.append({"Node": dict(NODE), "Service": dict(service), "Checks": checks})
            return entries

    def catalog(self) -> dict[str, list[str]]:
        with self.lock:
            names: dict[str, list[str]] = {"consul": []}
            for service in self.services.values():
                tags = names.setdefault(service["Service"], [])
                tags.extend(t for t in service["Tags"] if t not in tags)
            return names

    def status_of(self, service_id: str) -> str | None:
        with self.lock:
            check = self.checks.get(service_id)
            return check.status if check is not None else None

    def _check(self, service_id: str, name: str, spec: Any) -> Check | None:
        if not spec:
            return None
        if not isinstance(spec, dict):
            raise ValueError("Check must be an object")
        url = spec.get("HTTP")
        if url and not spec.get("Interval"):
            raise ValueError("Interval must be > 0 for Script, HTTP, H2PING, or TCP checks")
        reap = spec.get("DeregisterCriticalServiceAfter")
        return Check(
            service_id=service_id,
            name=spec.get("Name") or f"Service '{name}' check",
            url=url,
            interval=parse_duration(spec["Interval"]) if url else 0.0,
            timeout=parse_duration(spec.get("Timeout") or "10s"),
            deregister_after=parse_duration(reap) if reap else None,
            status=str(spec.get("Status") or "critical"),
        )

    def _run_check(self, check: Check) -> None:
        assert check.url is not None
        while not check.stop.is_set():
            try:
                with urllib.request.urlopen(check.url, timeout=check.timeout) as response:
                    status, output = "passing", f"HTTP GET {check.url}: {response.status}"
            except urllib.error.HTTPError as exc:
                status = "warning" if exc.code == 429 else "critical"
                output = f"HTTP GET {check.url}: {exc.code}"
            except OSError as exc:
                status, output = "critical", f"Get {check.url!r}: {exc}"
            reap = False
            with self.lock:
                if check.stop.is_set():
                    return
                check.status, check.output = status, output
                now = time.monotonic()
                if status != "critical":
                    check.critical_since = None
                elif check.critical_since is None:
                    check.critical_since = now
                reap = (
                    check.deregister_after is not None
                    and check.critical_since is not None
                    and now - check.critical_since >= check.deregister_after
                )
            if reap:
                self.deregister(check.service_id)
                return
            check.stop.wait(check.interval)


class _Handler(BaseHTTPRequestHandler):
    server: ConsulDouble
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = parts.path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.requests.append((method, path))
        if path in self.server.answers:
            self._send(*self.server.answers[path])
            return
        routes = [
            ("PUT", r"/v1/agent/service/register", self._register),
            ("PUT", r"/v1/agent/service/deregister/(?P<id>[^/]+)", self._deregister),
            ("GET", r"/v1/agent/services", self._agent_services),
            ("GET", r"/v1/health/service/(?P<name>[^/]+)", self._health),
            ("GET", r"/v1/catalog/services", self._catalog),
            ("GET", r"/v1/status/leader", self._leader),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match is None:
                continue
            if method != route_method:
                self._send(405, f"method {method} not allowed")
                return
            if handler != self._leader and not self._authorized(query):
                return
            handler(raw=raw, query=query, **match.groupdict())
            return
        self._send(404, "")

    def _authorized(self, query: dict[str, list[str]]) -> bool:
        expected = self.server.token
        if expected is None:
            return True
        given = self.headers.get("X-Consul-Token")
        bearer = self.headers.get("Authorization", "")
        if not given and bearer.startswith("Bearer "):
            given = bearer.removeprefix("Bearer ")
        if not given and query.get("token"):
            given = query["token"][0]
        if given == expected:
            return True
        self._send(403, "ACL not found" if given else "Permission denied")
        return False

    def _register(self, *, raw: bytes, **_: Any) -> None:
        try:
            body = json.loads(raw or b"null")
            if not isinstance(body, dict):
                raise ValueError("Request decode failed: not an object")
            self.server.register(body)
        except ValueError as exc:
            self._send(400, f"Invalid Service: {exc}" if "decode" not in str(exc) else str(exc))
            return
        self._send(200, "")

    def _deregister(self, *, id: str, **_: Any) -> None:
        if self.server.deregister(id):
            self._send(200, "")
        else:
            self._send(
                404,
                f'Unknown service ID "{id}". Ensure that the service ID is passed, '
                "not the service name.",
            )

    def _agent_services(self, **_: Any) -> None:
        with self.server.lock:
            data = {sid: dict(svc) for sid, svc in self.server.services.items()}
        self._json(data)

    def _health(self, *, name: str, query: dict[str, list[str]], **_: Any) -> None:
        passing = "passing" in query and query["passing"][0] not in {"false", "0"}
        self._json(self.server.health(name, passing=passing))

    def _catalog(self, **_: Any) -> None:
        self._json(self.server.catalog())

    def _leader(self, **_: Any) -> None:
        self._json("127.0.0.1:8300")

    def _json(self, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Consul-Index", "1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
