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


def rendered(tmp_path: Path, db: str) -> Path:
    data = template_data(derive_names("orders"), port=8001, db=db)  # type: ignore[arg-type]
    data["msgen_version"] = "0.0.0-snapshot"
    return render_template("service", data=data, target=tmp_path / "orders").target


@pytest.mark.parametrize("db", ["sqlite", "postgres", "none"])
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
