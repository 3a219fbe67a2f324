"""Pin what the service template renders: the file tree and the key files.

An intended template change updates these snapshots in the same commit:
``python -m pytest tests/test_template_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from msgen.naming import derive_names
from msgen.render import render_template, templates_dir
from msgen.scaffold import template_data

KEY_FILES = [
    ".copier-answers.yml",
    "pyproject.toml",
    "Dockerfile",
    ".env.example",
    "alembic.ini",
    "src/orders/main.py",
    "src/orders/app.py",
    "src/orders/settings.py",
    "src/orders/db.py",
    "src/orders/models.py",
    "src/orders/health.py",
    "src/orders/resilience.py",
    "src/orders/http_client.py",
    "src/orders/breaker.py",
    "src/orders/discovery.py",
    "src/orders/registration.py",
    "src/orders/routes.py",
    "src/orders/schemas.py",
    "tests/conftest.py",
    "src/orders/migrations/versions/0001_create_orders.py",
]


# The files the messaging options add or change.
MESSAGING_FILES = [
    ".env.example",
    "pyproject.toml",
    "src/orders/app.py",
    "src/orders/settings.py",
    "src/orders/models.py",
    "src/orders/repository.py",
    "src/orders/outbox.py",
    "src/orders/messaging.py",
    "src/orders/events.py",
    "src/orders/contracts.py",
    "src/orders/migrations/versions/0002_messaging.py",
    "tests/conftest.py",
    "tests/test_contracts.py",
]
CONSUMER_FILES = [
    *MESSAGING_FILES,
    "src/orders/consumer.py",
    "src/orders/handlers.py",
]

# Renders by name: the database variants have no broker (as msgen renders --broker none).
VARIANTS: dict[str, dict[str, object]] = {
    "sqlite": {"db": "sqlite"},
    "postgres": {"db": "postgres"},
    "none": {"db": "none"},
    "broker-rabbitmq": {"db": "postgres", "broker": "rabbitmq"},
    "consumes": {
        "db": "postgres",
        "broker": "rabbitmq",
        "consumes": ["payments.payment_made", "customers.customer_deleted"],
    },
    "event-sourcing": {"db": "postgres", "broker": "rabbitmq", "event_sourcing": True},
}
EVENT_SOURCING_FILES = [
    ".env.example",
    "src/orders/settings.py",
    "src/orders/models.py",
    "src/orders/repository.py",
    "src/orders/routes.py",
    "src/orders/eventstore.py",
    "src/orders/migrations/versions/0003_event_store.py",
]


def rendered(tmp_path: Path, variant: str) -> Path:
    data = template_data(derive_names("orders"), port=8001, system_name="shop", **VARIANTS[variant])  # type: ignore[arg-type]
    data["msgen_version"] = "0.0.0-snapshot"
    return render_template("service", data=data, target=tmp_path / "orders").target


@pytest.mark.parametrize("db", list(VARIANTS))
def test_file_tree(tmp_path: Path, db: str, snapshot: SnapshotAssertion) -> None:
    root = rendered(tmp_path, db)
    tree = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert tree == snapshot


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
@pytest.mark.parametrize("name", KEY_FILES)
def test_key_file(tmp_path: Path, db: str, name: str, snapshot: SnapshotAssertion) -> None:
    path = rendered(tmp_path, db) / name
    if not path.exists():
        pytest.fail(f"{name} is a key file but the template no longer renders it")
    text = path.read_text().replace(str(templates_dir()), "<templates>")
    assert text == snapshot


@pytest.mark.parametrize(
    ("variant", "name"),
    [("broker-rabbitmq", name) for name in MESSAGING_FILES]
    + [("consumes", name) for name in CONSUMER_FILES]
    + [("event-sourcing", name) for name in EVENT_SOURCING_FILES],
)
def test_messaging_file(
    tmp_path: Path, variant: str, name: str, snapshot: SnapshotAssertion
) -> None:
    path = rendered(tmp_path, variant) / name
    assert path.exists(), f"{name} is a key file of {variant} but is not rendered"
    assert path.read_text() == snapshot
