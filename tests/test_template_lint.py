"""Every rendered service passes its own ruff configuration, whatever its names.

The slow option matrix (tests/test_generated_service.py) also checks this, with a full
install; this fast check catches lint drift (import order that depends on the package
name, lines ruff format would join) in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servicekit import render, ruff_clean

VARIANTS = [
    # "billing" sorts before the tests' helper module entity_samples, "orders" after it.
    pytest.param({"name": "billing", "db": "postgres", "resource": "Invoice"}, id="billing"),
    pytest.param({"name": "orders", "db": "sqlite"}, id="orders"),
    pytest.param(
        {"name": "ledger", "db": "postgres", "event_sourcing": True, "broker": "none"},
        id="event-sourcing",
    ),
    pytest.param(
        {"name": "aaa", "db": "postgres", "consumes": ("orders.order_created",)},
        id="consumer",
    ),
    pytest.param(
        {
            "name": "shop-items",
            "db": "sqlite",
            "fields": ("sku:str", "price:decimal", "note:text?", "status:enum(new,done)=new"),
        },
        id="fields",
    ),
]


@pytest.mark.parametrize("options", VARIANTS)
def test_rendered_service_passes_ruff_check_and_format(
    tmp_path: Path, options: dict[str, object]
) -> None:
    if options.get("consumes"):
        render(tmp_path, "orders", db="sqlite")  # --consumes names a service msgen knows
    ruff_clean(render(tmp_path, **options))
