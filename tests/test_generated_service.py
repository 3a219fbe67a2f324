"""The generated service, used as its users use it: lint, install, its own tests, HTTP.

The option matrix grows as features add flags: every combination must render, pass
ruff, and pass its own test suite.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_service
from tests.servicekit import (
    BROKER_URL,
    install,
    mypy_clean,
    render,
    ruff_clean,
    run,
    run_own_tests,
    run_own_tests_on_both,
    serve,
    throwaway_database,
)

pytestmark = pytest.mark.slow

MATRIX = [
    pytest.param({"name": "orders", "db": "sqlite"}, id="db-sqlite"),
    pytest.param({"name": "orders", "db": "postgres"}, id="db-postgres"),
    pytest.param({"name": "orders", "db": "sqlite", "broker": "none"}, id="broker-none"),
    pytest.param(
        {"name": "billing", "db": "postgres", "consumes": ("orders.order_created",)},
        id="broker-rabbitmq-consumes",
    ),
    pytest.param(
        {"name": "ledger", "db": "postgres", "broker": "none", "event_sourcing": True},
        id="event-sourcing",
    ),
    pytest.param({"name": "pinger", "db": "none"}, id="db-none"),
    pytest.param({"name": "order-items", "db": "sqlite"}, id="hyphenated-name"),
    pytest.param(
        {"name": "billing", "db": "postgres", "resource": "Invoice", "port": 9300},
        id="custom-resource-and-port",
    ),
    pytest.param(
        {"name": "billing", "db": "none", "discovery": "consul", "upstreams": ("orders",)},
        id="discovery-consul-with-upstream",
    ),
    pytest.param(
        {"name": "shipping", "db": "sqlite", "discovery": "dns", "upstreams": ("orders",)},
        id="discovery-dns-with-upstream",
    ),
    pytest.param(
        {
            "name": "billing",
            "db": "postgres",
            "consumes": ("orders.order_created",),
            "tracing": False,
            "metrics": False,
        },
        id="no-tracing-no-metrics",
    ),
    pytest.param({"name": "orders", "db": "sqlite", "tracing": False}, id="metrics-only"),
    pytest.param(
        {
            "name": "billing",
            "db": "sqlite",
            "consumes": ("orders.order_created",),
            "metrics": False,
        },
        id="tracing-only",
    ),
]


@pytest.mark.parametrize("options", MATRIX)
def test_option_matrix_renders_lints_and_passes_its_own_tests(
    tmp_path: Path, options: dict[str, object]
) -> None:
    for upstream in options.get("upstreams", ()):  # type: ignore[attr-defined]
        render(tmp_path, upstream, db="none")
    # A consumed event's publisher must be in the workspace before its consumer.
    for event in options.get("consumes", ()):  # type: ignore[attr-defined]
        render(tmp_path, str(event).split(".", 1)[0], db="none")
    service = render(tmp_path, **options)  # type: ignore[arg-type]
    ruff_clean(service)
    python = install(service)
    # The type check runs beside the suite (which mostly waits on its databases and broker).
    with ThreadPoolExecutor(1) as pool:
        typed = pool.submit(mypy_clean, service, python)
        if options["db"] != "postgres":
            outputs = [run_own_tests(service, python)]
        else:
            # A service with a broker (the default) also runs its messaging tests on RabbitMQ.
            broker_url = None if options.get("broker") == "none" else BROKER_URL
            outputs = list(run_own_tests_on_both(service, python, broker_url=broker_url))
        typed.result()
    for output in outputs:
        assert " passed" in output
        assert " failed" not in output


def crud_round_trip(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"]["status"] == "pass"
        created = client.post("/orders", json={"name": "first", "description": "one"})
        assert created.status_code == 201, created.text
        order = created.json()
        assert created.headers["location"].endswith(f"/orders/{order['id']}")
        assert client.get(f"/orders/{order['id']}").json()["name"] == "first"
        listing = client.get("/orders", params={"limit": 5}).json()
        assert listing["total"] == 1
        assert [item["id"] for item in listing["items"]] == [order["id"]]
        assert created.headers["etag"] == '"1"'
        patched = client.patch(
            f"/orders/{order['id']}", json={"status": "archived"}, headers={"If-Match": '"1"'}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["status"] == "archived"
        assert patched.json()["name"] == "first"
        assert patched.headers["etag"] == '"2"'
        # Optimistic concurrency: a change made against an older version is refused.
        stale = client.patch(
            f"/orders/{order['id']}", json={"name": "late"}, headers={"If-Match": '"1"'}
        )
        assert stale.status_code == 409
        assert stale.headers["content-type"].startswith("application/problem+json")
        missing = client.get("/orders/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        # The starter entity's rules: name is required and at most 200 characters.
        assert client.post("/orders", json={"description": "no name"}).status_code == 422
        assert client.post("/orders", json={"name": "x" * 201}).status_code == 422
        assert client.post("/orders", json={"name": "x", "status": "gone"}).status_code == 422
        assert client.delete(f"/orders/{order['id']}").status_code == 204
        assert client.get(f"/orders/{order['id']}").status_code == 404


def test_end_to_end_sqlite_and_postgres_over_real_http(tmp_path: Path) -> None:
    """Install like a user, run its suite on SQLite and PostgreSQL, serve it, call it."""
    service = render(tmp_path / "shop", "orders")
    python = install(service, editable=False)
    assert " passed" in run_own_tests(service, python)

    # Served from another directory: the installed package carries its migrations.
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    with serve(service, python, "orders", {"DATABASE_URL": sqlite_url}, cwd=elsewhere) as base:
        crud_round_trip(base)

    require_service("PostgreSQL", "127.0.0.1", 5432)
    with throwaway_database(python) as url:
        assert " passed" in run_own_tests(service, python, database_url=url)
    with throwaway_database(python) as url:
        with serve(service, python, "orders", {"DATABASE_URL": url}, cwd=elsewhere) as base:
            crud_round_trip(base)
        run([str(python), "-m", "alembic", "current"], cwd=service, env={"DATABASE_URL": url})


def test_readiness_fails_with_503_naming_the_database(tmp_path: Path) -> None:
    service = render(tmp_path, "orders")
    python = install(service)
    env = {
        "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        "DB_MIGRATE_ON_START": "false",
    }
    with serve(service, python, "orders", env) as base:
        response = httpx.get(f"{base}/health/ready", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "fail"


RICH_FIELDS = (
    "title:str",
    "price:decimal",
    "stock:int=0",
    "weight:float?",
    "big:bigint=5",
    "active:bool=true",
    "released:date?",
    "seen_at:datetime?",
    "attrs:json?",
    "external_ref:uuid?",
    "summary:text?",
    "kind:enum(book,film,game)=book",
)


def test_a_domain_of_every_type_passes_its_own_tests_with_the_full_api_fuzz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every field type, the service's schemathesis run at its default size, SQLite and PG."""
    monkeypatch.setenv("API_FUZZ_EXAMPLES", "25")
    service = render(tmp_path, "catalog", fields=RICH_FIELDS, event_sourcing=True)
    ruff_clean(service)
    python = install(service)
    mypy_clean(service, python)
    for output in run_own_tests_on_both(service, python):
        assert " passed" in output
        assert " failed" not in output
