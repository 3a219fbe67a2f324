"""Pin what the service template renders: the file tree and the key files.

An intended template change updates these snapshots in the same commit:
``python -m pytest tests/test_template_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
from syrupy.assertion import SnapshotAssertion

from msgen.domain.view import template_entities
from msgen.naming import derive_names
from msgen.render import render_template, templates_dir
from msgen.scaffold import finish_service, initial_domain, template_data
from msgen.workspace import Broker, Db

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
    "src/orders/enums.py",
    "src/orders/rules/order.py",
    "tests/conftest.py",
    "tests/entity_samples.py",
    # Written by msgen's migration planner after the render, not by the template.
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


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Render each variant once, as ``msgen new service`` does (first revision, contracts)."""
    trees: dict[str, Path] = {}

    def render(variant: str) -> Path:
        if variant not in trees:
            options = VARIANTS[variant]
            names = derive_names("orders")
            db = cast(Db, options["db"])
            domain = initial_domain(names, (), db=db)
            data = template_data(
                names,
                port=8001,
                system_name="shop",
                entities=template_entities(domain),
                **options,  # type: ignore[arg-type]
            )
            data["msgen_version"] = "0.0.0-snapshot"
            broker = cast(Broker, options.get("broker", "none"))
            target = tmp_path_factory.mktemp(variant) / "orders"
            finish = finish_service(names=names, domain=domain, broker=broker)
            trees[variant] = render_template(
                "service", data=data, target=target, finish=finish
            ).target
        return trees[variant]

    return render


@pytest.mark.parametrize("db", list(VARIANTS))
def test_file_tree(rendered: Callable[[str], Path], db: str, snapshot: SnapshotAssertion) -> None:
    root = rendered(db)
    tree = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert tree == snapshot


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
@pytest.mark.parametrize("name", KEY_FILES)
def test_key_file(
    rendered: Callable[[str], Path], db: str, name: str, snapshot: SnapshotAssertion
) -> None:
    path = rendered(db) / name
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
    rendered: Callable[[str], Path], variant: str, name: str, snapshot: SnapshotAssertion
) -> None:
    path = rendered(variant) / name
    assert path.exists(), f"{name} is a key file of {variant} but is not rendered"
    assert path.read_text() == snapshot
