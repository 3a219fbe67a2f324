"""Observability of generated services, checked with real tools on the real RabbitMQ.

Two services, ``orders`` (publishes) and ``billing`` (consumes ``orders.order_created``),
rendered once and installed into one environment for the module:

- in one process with an in-memory span exporter, a POST to orders and the message billing
  handles are one trace (server -> producer -> consumer spans, across the broker);
- run under uvicorn, they export over OTLP/HTTP to a receiver that decodes the protobuf
  messages (``tests/otlp_receiver.py``), write JSON log lines with the trace id, and serve
  ``/metrics`` that prometheus-client's parser, ``promtool check metrics`` and a real
  Prometheus server (scraping both with the config msgen renders) accept;
- the Grafana dashboards msgen renders query only metric names the running services expose.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from msgen.manifests import monitoring
from msgen.workspace import load_workspace
from tests import brokerkit
from tests.conftest import require_service
from tests.otlp_receiver import Receiver, otlp_receiver
from tests.servicekit import BROKER_URL, Server, free_port, install, render, run, uv
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.services]

EVENT = "orders.order_created"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP Span.SpanKind values


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian package prometheus; .ci/run installs it)")
    return found


@dataclass
class Shop:
    root: Path
    orders: Path
    billing: Path
    python: Path
    ports: dict[str, int]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    root = tmp_path_factory.mktemp("observed")
    ports = {"orders": free_port(), "billing": free_port()}
    orders = render(root, "orders", db="sqlite", port=ports["orders"])
    billing = render(root, "billing", db="sqlite", consumes=(EVENT,), port=ports["billing"])
    python = install(orders)
    run([uv(), "pip", "install", "--quiet", "--python", str(python), "-e", str(billing)], cwd=root)
    return Shop(root, orders, billing, python, ports)


def json_lines(server: Server) -> list[dict[str, object]]:
    """The JSON log lines a service has written so far."""
    lines = server.log.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


@dataclass
class System:
    shop: Shop
    orders: Server
    billing: Server
    receiver: Receiver


@pytest.fixture(scope="module")
def system(shop: Shop) -> Iterator[System]:
    name = f"msgen-obs-{uuid.uuid4().hex[:10]}"
    queue = f"{name}.billing"
    with otlp_receiver() as receiver:
        common = {
            "BROKER_EXCHANGE": f"{name}.events",
            "LOG_LEVEL": "INFO",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        processes: list[Server] = []
        try:
            for service, env in (
                ("billing", {"BROKER_QUEUE": queue}),
                ("orders", {}),
            ):
                database = f"sqlite+aiosqlite:///{shop.root / f'{service}-{name}.db'}"
                server = Server(
                    shop.root / service,
                    shop.python,
                    service,
                    {
                        **common,
                        **env,
                        "DATABASE_URL": database,
                        "BROKER_URL": f"{BROKER_URL}?name={name}-{service}",
                    },
                    port=shop.ports[service],
                    access_log=True,
                )
                processes.append(server)
                server.start()
            billing, orders = processes
            wait_for(lambda: brokerkit.consumer_count(shop.python, queue) > 0, timeout=120)
            yield System(shop, orders, billing, receiver)
        finally:
            for process in processes:
                process.stop()
            brokerkit.delete(
                shop.python,
                queues=[queue, f"{queue}.dlq"],
                exchanges=[f"{name}.events", f"{queue}.dlx"],
            )


def exposed(base: str) -> set[str]:
    """Every sample name /metrics can carry, from its families (labelled ones included)."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    names = set()
    for family in text_string_to_metric_families(text):
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_count", "_sum"),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


IN_MEMORY_SCRIPT = """
import asyncio, json, logging, sys, threading

import httpx
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from billing.app import create_app as create_billing
from billing.settings import Settings as BillingSettings
from orders.app import create_app as create_orders
from orders.settings import Settings as OrdersSettings

broker_url, root, run = sys.argv[1:4]


class Connected(logging.Handler):
    def emit(self, record):
        if record.getMessage() == "Connected to the broker":
            connected.set()


connected = threading.Event()


async def main():
    exporter = InMemorySpanExporter()
    common = dict(_env_file=None, broker_url=broker_url, broker_exchange=f"{run}.events")
    orders = create_orders(OrdersSettings(
        **common, database_url=f"sqlite+aiosqlite:///{root}/orders-{run}.db"))
    billing = create_billing(BillingSettings(
        **common, database_url=f"sqlite+aiosqlite:///{root}/billing-{run}.db",
        broker_queue=f"{run}.billing"))
    for app in (orders, billing):
        app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    logging.getLogger("billing.messaging").addHandler(Connected())
    async with billing.router.lifespan_context(billing), orders.router.lifespan_context(orders):
        transports = [httpx.ASGITransport(app=app) for app in (orders, billing)]
        async with httpx.AsyncClient(transport=transports[0], base_url="http://o") as o, \\
                httpx.AsyncClient(transport=transports[1], base_url="http://b") as b:
            for _ in range(600):  # billing's queue is bound once it is connected
                if connected.is_set():
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            created = (await o.post("/orders", json={"name": "traced"})).json()
            for _ in range(600):
                page = (await b.get("/received-events")).json()
                if page["total"]:
                    break
                await asyncio.sleep(0.1)
            assert page["items"][0]["aggregate_id"] == created["id"], page
    spans = [
        {
            "name": span.name,
            "kind": span.kind.name,
            "service": span.resource.attributes["service.name"],
            "trace_id": format(span.context.trace_id, "032x"),
            "span_id": format(span.context.span_id, "016x"),
            "parent": format(span.parent.span_id, "016x") if span.parent else None,
        }
        for span in exporter.get_finished_spans()
    ]
    print(json.dumps(spans))


asyncio.run(main())
"""


def test_a_request_and_the_consumer_work_it_causes_are_one_trace_in_memory(shop: Shop) -> None:
    name = f"msgen-obs-mem-{uuid.uuid4().hex[:10]}"
    script = shop.root / "in_memory_trace.py"
    script.write_text(textwrap.dedent(IN_MEMORY_SCRIPT))
    try:
        output = run(
            [str(shop.python), str(script), BROKER_URL, str(shop.root), name], cwd=shop.root
        ).stdout
    finally:
        brokerkit.delete(
            shop.python,
            queues=[f"{name}.billing", f"{name}.billing.dlq"],
            exchanges=[f"{name}.events", f"{name}.billing.dlx"],
        )
    spans = json.loads(output.strip().splitlines()[-1])
    by_name = {(span["service"], span["name"]): span for span in spans}
    server = by_name[("orders", "POST /orders")]
    producer = by_name[("orders", f"publish {EVENT}")]
    consumer = by_name[("billing", f"process {EVENT}")]
    assert (server["kind"], producer["kind"], consumer["kind"]) == (
        "SERVER",
        "PRODUCER",
        "CONSUMER",
    )
    assert server["trace_id"] == producer["trace_id"] == consumer["trace_id"]
    assert producer["parent"] == server["span_id"]
    assert consumer["parent"] == producer["span_id"]
    # SQLAlchemy's instrumentation: the request's statements are children of its span.
    assert any(span["kind"] == "CLIENT" and span["parent"] == server["span_id"] for span in spans)
    # One server span per request: no receive/send spans, no second layer.
    assert [s["name"] for s in spans if s["kind"] == "SERVER"].count("POST /orders") == 1


def test_otlp_export_links_the_services_across_the_broker(system: System) -> None:
    response = httpx.post(f"{system.orders.base}/orders", json={"name": "exported"}, timeout=10)
    assert response.status_code == 201
    order_id = response.json()["id"]

    def spans_arrived() -> bool:
        # All three of this request's trace: the relay's PRODUCER span ends when the broker
        # confirms, and may reach the collector in a later batch than billing's CONSUMER span.
        spans = system.receiver.snapshot()
        servers = [s for s in spans if s.service == "orders" and s.name == "POST /orders"]
        kinds = {s.kind for s in spans if servers and s.trace_id == servers[0].trace_id}
        return {PRODUCER, CONSUMER} <= kinds

    wait_for(spans_arrived, timeout=120)
    spans = system.receiver.snapshot()
    (server,) = [
        s for s in spans if s.name == "POST /orders" and s.attributes.get("url.path") == "/orders"
    ]
    producer = next(s for s in spans if s.kind == PRODUCER and s.trace_id == server.trace_id)
    consumer = next(s for s in spans if s.kind == CONSUMER and s.trace_id == server.trace_id)
    assert server.service == producer.service == "orders"
    assert consumer.service == "billing"
    assert server.kind == SERVER
    assert server.attributes["http.route"] == "/orders"
    assert server.attributes["http.response.status_code"] == 201
    assert producer.parent_span_id == server.span_id
    assert consumer.parent_span_id == producer.span_id
    received = httpx.get(f"{system.billing.base}/received-events", timeout=10).json()
    assert order_id in {item["aggregate_id"] for item in received["items"]}


def test_metrics_label_requests_by_route_template(system: System) -> None:
    base = system.orders.base

    def histogram_counts() -> dict[tuple[str, str, str], float]:
        text = httpx.get(f"{base}/metrics", timeout=10).text
        (family,) = [
            f
            for f in text_string_to_metric_families(text)
            if f.name == "http_request_duration_seconds"
        ]
        return {
            (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
            for s in family.samples
            if s.name.endswith("_count")
        }

    before = histogram_counts()
    with httpx.Client(base_url=base, timeout=10) as client:
        for number in range(1, 1001):
            client.get(f"/orders/{number}")
        created = client.post("/orders", json={"name": "counted"}).json()
        assert client.get(f"/orders/{created['id']}").status_code == 200
    after = histogram_counts()

    routes = {route for (_, route, _) in after if route.startswith("/orders/")}
    assert routes == {"/orders/{order_id}"}
    key = ("GET", "/orders/{order_id}", "4xx")
    assert after[key] - before.get(key, 0) == 1000
    ok = ("GET", "/orders/{order_id}", "2xx")
    assert after[ok] - before.get(ok, 0) == 1
    assert after[("POST", "/orders", "2xx")] - before.get(("POST", "/orders", "2xx"), 0) == 1


def test_log_lines_are_json_with_the_trace_and_request_ids(system: System) -> None:
    traceparent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    response = httpx.get(
        f"{system.orders.base}/orders",
        headers={"traceparent": traceparent, "X-Request-ID": "req-obs-1"},
        timeout=10,
    )
    assert response.status_code == 200

    def access_line() -> dict[str, object] | None:
        for line in json_lines(system.orders):
            if line.get("request_id") == "req-obs-1":
                return line
        return None

    wait_for(access_line, timeout=30)
    line = access_line()
    assert line is not None
    assert line["logger"] == "uvicorn.access"
    assert line["trace_id"] == TRACE_ID
    assert re.fullmatch(r"[0-9a-f]{16}", str(line["span_id"]))
    assert line["service"] == "orders"
    assert line["level"] == "info"
    assert {"timestamp", "message"} <= set(line)
    # Every line the service wrote (uvicorn's own included) is one JSON object.
    text = system.orders.log.read_text().splitlines()
    assert text and all(entry.startswith("{") for entry in text), text[:5]


def test_promtool_accepts_the_metrics_and_the_rendered_config(
    system: System, tmp_path: Path
) -> None:
    promtool = require_tool("promtool")
    for process in (system.orders, system.billing):
        text = httpx.get(f"{process.base}/metrics", timeout=10).text
        check = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stdout + check.stderr
    workspace = load_workspace(system.shop.root / "msgen.yaml").model
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(monitoring.prometheus_config(workspace)))
    check = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_prometheus_scrapes_both_services(system: System, tmp_path: Path) -> None:
    prometheus = require_tool("prometheus")
    workspace = load_workspace(system.shop.root / "msgen.yaml").model
    config = monitoring.prometheus_config(workspace)
    # The rendered config addresses services by their compose names; here they run locally.
    config["global"]["scrape_interval"] = "1s"
    for job in config["scrape_configs"]:
        job["static_configs"][0]["targets"] = [
            target.replace(f"{job['job_name']}:", "127.0.0.1:")
            for target in job["static_configs"][0]["targets"]
        ]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:

        def up() -> dict[str, str]:
            assert proc.poll() is None, log.read_text()
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/query", params={"query": "up"}, timeout=5
                ).json()
            except httpx.TransportError:
                return {}
            return {r["metric"]["job"]: r["value"][1] for r in answer["data"]["result"]}

        wait_for(lambda: up() == {"orders": "1", "billing": "1"}, timeout=90)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_dashboards_use_only_metrics_the_services_expose(system: System) -> None:
    workspace = load_workspace(system.shop.root / "msgen.yaml").model
    files = {f.path: f for f in monitoring.grafana_files(workspace, regenerate="msgen")}
    live = {"orders": exposed(system.orders.base), "billing": exposed(system.billing.base)}
    for name in workspace.services:
        path = f"{monitoring.GRAFANA_DASHBOARDS_DIR}/{name}.json"
        dashboard = json.loads(files[path].text)
        exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
        assert exprs and all(f'job="{name}"' in expr for expr in exprs)
        used = {
            metric for expr in exprs for metric in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", expr)
        }
        assert used <= live[name], used - live[name]
    billing = json.loads(files[f"{monitoring.GRAFANA_DASHBOARDS_DIR}/billing.json"].text)
    titles = {panel["title"] for panel in billing["panels"]}
    assert {"Messages per second", "Outbox: relay lag and pending events"} <= titles
