"""A domain evolves without losing rows, on SQLite and on PostgreSQL.

Render a service from its domain, migrate, write rows through its API; then add a field
(one optional, one required with a default) and an entity that refers to the first, with
``msgen add``; migrate again (the service does it on start) and read every old row back,
with the new defaults filled in, and write through the new entity.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from tests.conftest import require_service
from tests.servicekit import install, render, run, throwaway_database

pytestmark = pytest.mark.slow

FIELDS = (
    "customer_id:uuid",
    "total:decimal",
    "note:text?",
    "status:enum(pending,paid,shipped,cancelled)=pending",
)

# Runs inside the service's virtual environment: start the app (it migrates on start),
# then do what argv[1] says, printing JSON.
CLIENT = """
import asyncio, json, sys
import httpx
from orders.app import create_app
from orders.settings import Settings

async def main() -> None:
    app = create_app(Settings(_env_file=None, broker_url=""))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            if sys.argv[1] == "write":
                for n in range(5):
                    body = {
                        "customer_id": f"00000000-0000-4000-8000-{n:012d}",
                        "total": f"{n}.25",
                        "note": None if n % 2 else f"note {n}",
                    }
                    response = await client.post("/orders", json=body)
                    assert response.status_code == 201, response.text
            page = (await client.get("/orders", params={"limit": 100})).json()
            result = {"orders": page["items"]}
            if sys.argv[1] == "children":
                first = page["items"][0]["id"]
                item = {"order_id": first, "sku": "A-1", "quantity": 2}
                created = await client.post("/order-items", json=item)
                assert created.status_code == 201, created.text
                listed = await client.get(f"/orders/{first}/items")
                result["items"] = listed.json()["items"]
                gone = await client.delete(f"/orders/{first}")
                result["delete_parent"] = gone.status_code
    print(json.dumps(result))

asyncio.run(main())
"""


@contextmanager
def database(kind: str, python: Path, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
        return
    with throwaway_database(python) as url:
        yield url


def client(python: Path, service: Path, url: str, action: str) -> dict[str, object]:
    script = service / "evolution_client.py"
    script.write_text(CLIENT)
    proc = run([str(python), str(script), action], cwd=service, env={"DATABASE_URL": url})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def msgen(root: Path, *args: str) -> str:
    cwd = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_rows_survive_an_added_field_and_entity(tmp_path: Path, kind: str) -> None:
    if kind == "postgres":
        require_service("PostgreSQL", "127.0.0.1", 5432)
    root = tmp_path / "system"
    root.mkdir()
    service = render(root, "orders", fields=FIELDS)
    python = install(service)  # editable: later changes to the service's files take effect
    with database(kind, python, tmp_path) as url:
        before = client(python, service, url, "write")["orders"]
        assert len(before) == 5

        output = msgen(
            root, "add", "field", "orders", "Order", "shipped_on:date?", "priority:int=3"
        )
        assert "add column orders.shipped_on" in output
        item = ("OrderItem", "order:ref(Order)", "sku:str", "quantity:int")
        output = msgen(root, "add", "entity", "orders", *item)
        assert "create table order_items" in output
        versions = sorted(p.name for p in (service / "src/orders/migrations/versions").glob("*.py"))
        assert [name[:4] for name in versions] == ["0001", "0002", "0004", "0005"]
        assert (service / "src/orders/rules/order_item.py").is_file()

        after = client(python, service, url, "children")
    old = {row["id"]: row for row in before}
    assert len(after["orders"]) == 5
    for row in after["orders"]:
        kept = old[row["id"]]
        for key in ("customer_id", "total", "note", "status", "created_at"):
            assert row[key] == kept[key], (key, row, kept)
        assert row["shipped_on"] is None
        assert row["priority"] == 3
    assert [item["sku"] for item in after["items"]] == ["A-1"]
    assert after["delete_parent"] == 409  # ON DELETE RESTRICT: it still has an item
