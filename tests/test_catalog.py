"""msgen docs build|serve: the system catalog of a workspace of rendered services.

billing exports the OpenAPI document of tests/clients_upstream.py's app (as its own export
would); orders calls billing and consumes its events; shipping calls orders, which has
exported nothing. The site is read as HTML here, and in a real headless Chromium (Debian's
``chromium``) where it is installed: pages render, Swagger UI shows the operations, links
between caller and upstream lead to the right pages, and a screenshot of the index is kept
in ``MSGEN_TEST_ARTIFACTS`` (default ``test-artifacts/`` in the checkout).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from msgen.catalog import MARKER, build_catalog, serve_catalog
from msgen.workspace import load_workspace
from tests.clients_upstream import billing_app
from tests.clikit import msgen, system_copy
from tests.servicekit import render

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("MSGEN_TEST_ARTIFACTS") or REPO / "test-artifacts")


class Page(HTMLParser):
    """The links, ids and text of one page."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.ids: set[str] = set()
        self._href: str | None = None
        self._text: list[str] = []
        self.text = ""
        self.feed(path.read_text(encoding="utf-8"))
        self.text = " ".join(" ".join(self._text).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a":
            self._href = values.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._href is not None and data.strip():
            self.links.append((self._href, data.strip()))


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    render(root, "billing", db="sqlite", broker="rabbitmq")
    (root / "billing" / "contracts" / "openapi.json").write_text(
        json.dumps(billing_app().openapi())
    )
    render(
        root,
        "orders",
        db="sqlite",
        broker="rabbitmq",
        upstreams=("billing",),
        consumes=("billing.billing_created",),
    )
    render(root, "shipping", db="sqlite", broker="none", upstreams=("orders",))
    text = (root / "msgen.yaml").read_text()
    text = text.replace("  billing:\n", "  billing:\n    owner: team-payments (#payments)\n", 1)
    (root / "msgen.yaml").write_text(text)
    return root


@pytest.fixture
def workspace(system: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return system_copy(system, tmp_path, monkeypatch)


def test_the_index_lists_every_service_with_its_owner_and_links(workspace: Path) -> None:
    code, out, err = msgen("docs", "build", "--json")
    assert code == 0, err
    result = json.loads(out)
    site = workspace / "catalog"
    assert result["output"] == str(site)
    assert sorted(result["pages"]) == [
        "index.html",
        "services/billing.html",
        "services/orders.html",
        "services/shipping.html",
    ]
    assert result["failing"] == 0
    assert (site / MARKER).is_file()
    assert (site / "assets/swagger-ui/swagger-ui-bundle.js").is_file()
    index = Page(site / "index.html")
    services = {text: href for href, text in index.links if href.startswith("services/")}
    assert services["billing"] == "services/billing.html"
    assert {"billing", "orders", "shipping"} <= set(services)
    for href in services.values():
        assert (site / href).is_file()
    assert "team-payments (#payments)" in index.text
    assert {"graph", "services", "contracts"} <= index.ids
    assert "orders -> billing compatible" in index.text
    # shipping calls orders, which has exported nothing yet
    assert "shipping -> orders unexported" in index.text


def test_a_service_page_shows_its_operations_events_and_neighbours(workspace: Path) -> None:
    assert msgen("docs", "build")[0] == 0
    site = workspace / "catalog" / "services"
    billing = Page(site / "billing.html")
    assert "Owner: team-payments (#payments)" in billing.text
    assert ("orders.html", "orders") in billing.links  # called by orders
    for operation in ("POST /invoices", "GET /invoices/{invoice_id}", "DELETE /invoices/"):
        method, path = operation.split(" ", 1)
        assert re.search(rf"{method} {re.escape(path)}", billing.text), operation
    assert "billing.billing_created" in billing.text
    assert re.search(r"billing\.billing_created orders", billing.text)  # consumed by orders
    orders = Page(site / "orders.html")
    assert ("billing.html", "billing") in orders.links  # its upstream
    assert ("shipping.html", "shipping") in orders.links  # its caller
    assert "no contracts/openapi.json yet" in orders.text
    api = (site / "billing.html").read_text()
    embedded = re.search(r'<script id="openapi" type="application/json">(.*?)</script>', api, re.S)
    assert embedded is not None
    assert json.loads(embedded.group(1)) == json.loads(json.dumps(billing_app().openapi()))


def test_a_broken_contract_shows_as_failing(workspace: Path) -> None:
    edited = billing_app("removed-operation").openapi()
    (workspace / "billing/contracts/openapi.json").write_text(json.dumps(edited))
    code, out, err = msgen("docs", "build")
    assert code == 0, err
    assert "1 contract(s) failing" in " ".join(out.split())
    index = Page(workspace / "catalog/index.html")
    assert "orders -> billing incompatible" in index.text
    assert "DELETE /invoices/{invoice_id}" in index.text


def test_an_existing_directory_is_replaced_only_when_it_is_a_catalog(workspace: Path) -> None:
    mine = workspace / "site"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    code, _, err = msgen("docs", "build", "--output", "site")
    assert code == 1
    assert "holds files that are not a catalog" in err
    assert "Traceback" not in err
    assert (mine / "notes.txt").read_text() == "mine"
    assert msgen("docs", "build", "--output", "site", "--force")[0] == 0
    assert not (mine / "notes.txt").exists()
    assert (mine / "index.html").is_file()
    # a catalog is replaced whole by the next build, without --force
    (mine / "services" / "gone.html").write_text("stale")
    assert msgen("docs", "build", "--output", "site")[0] == 0
    assert not (mine / "services" / "gone.html").exists()
    assert [p.name for p in workspace.iterdir() if p.name.startswith(".site")] == []


def test_without_graphviz_the_graph_is_its_mermaid_text(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(workspace / "no-tools"))
    result = build_catalog(load_workspace(workspace / "msgen.yaml"), workspace / "catalog")
    assert result.graph == "mermaid"
    html = (workspace / "catalog/index.html").read_text()
    assert '<pre class="mermaid">' in html
    assert "Graphviz (<code>dot</code>) is not installed" in html


def test_serve_rebuilds_when_the_workspace_changes(workspace: Path) -> None:
    stop = threading.Event()
    urls: list[str] = []
    builds: list[str] = []
    server = threading.Thread(
        target=serve_catalog,
        args=(workspace, workspace / "catalog"),
        kwargs={
            "host": "127.0.0.1",
            "port": 0,
            "force": False,
            "interval": 0.1,
            "on_build": lambda result, reason: builds.append(reason),
            "on_listen": urls.append,
            "stop": stop,
        },
    )
    server.start()
    try:
        deadline = time.monotonic() + 60
        while not urls and time.monotonic() < deadline:
            time.sleep(0.05)
        [url] = urls
        page = httpx.get(url.replace("index.html", "services/orders.html"), timeout=10)
        assert page.status_code == 200
        assert "Owner: <strong>not set" in page.text
        version = httpx.get(url.replace("index.html", "version.txt"), timeout=10).text
        assert "location.reload()" in page.text  # served pages reload after a rebuild
        text = (workspace / "msgen.yaml").read_text()
        text = text.replace("  orders:\n", "  orders:\n    owner: team-orders\n", 1)
        (workspace / "msgen.yaml").write_text(text)
        while builds.count("rebuilt") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        page = httpx.get(url.replace("index.html", "services/orders.html"), timeout=10)
        assert "team-orders" in page.text
        assert httpx.get(url.replace("index.html", "version.txt"), timeout=10).text != version
    finally:
        stop.set()
        server.join(timeout=30)
    assert builds[0] == "built"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str) -> str:
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=10000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt install chromium)")
def test_the_site_in_a_real_browser(workspace: Path) -> None:
    assert msgen("docs", "build")[0] == 0
    site = workspace / "catalog"
    index = chromium("--dump-dom", (site / "index.html").as_uri())
    for name in ("billing", "orders", "shipping"):
        assert f'href="services/{name}.html"' in index
    assert "<svg" in index or 'class="mermaid"' in index
    # Swagger UI ran from disk and drew every operation of billing's document
    billing = chromium("--dump-dom", (site / "services/billing.html").as_uri())
    drawn = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', billing))
    assert drawn == set(billing_app().openapi()["paths"])
    assert "billing.billing_created" in billing
    # the link from orders to its upstream leads to billing's page
    orders = chromium("--dump-dom", (site / "services/orders.html").as_uri())
    [href] = re.findall(r'<a class="upstream" href="([^"]+)"', orders)
    linked = chromium("--dump-dom", (site / "services" / href).resolve().as_uri())
    assert '<h1 id="service">billing</h1>' in linked
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "catalog-index.png"
    chromium(
        "--hide-scrollbars",
        "--window-size=1280,1000",
        f"--screenshot={shot}",
        (site / "index.html").as_uri(),
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000
