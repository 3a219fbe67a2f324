"""The quick update: a domain change at the current template version, without copier.

The renderer must write what ``copier copy`` writes, byte for byte; the merge must leave what
copier's update leaves: hand edits kept, conflicts marked (exit 1), the same trees.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from msgen import update
from msgen.cli import app
from msgen.domain.syntax import parse_entities
from msgen.domain.view import template_entities
from msgen.naming import derive_names
from msgen.scaffold import template_data
from msgen.template_render import load_template
from msgen.template_versions import template_source

runner = CliRunner()
MODELS = "orders/src/orders/models.py"
SCHEMAS = "orders/src/orders/schemas.py"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled templates go to the test's own cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


DOMAIN = {
    "Order": {
        "fields": {
            "customer_id": "uuid",
            "total": {"type": "decimal", "min": 0},
            "note": "text?",
            "status": "enum(pending, paid, shipped) = pending",
            "placed_on": "date?",
        }
    },
    "OrderItem": {
        "fields": {
            "order": "ref(Order)",
            "sku": {"type": "str", "max_length": 40, "unique": True},
            "quantity": "int",
            "extra": "json?",
        }
    },
}

VARIANTS: dict[str, dict[str, Any]] = {
    "starter-sqlite": {"db": "sqlite"},
    "domain-rabbitmq-postgres": {
        "db": "postgres",
        "broker": "rabbitmq",
        "entities": DOMAIN,
        "discovery": "consul",
        "ci": "gitlab",
    },
    "event-sourcing-consumer": {
        "db": "sqlite",
        "broker": "rabbitmq",
        "event_sourcing": True,
        "consumes": ["payments.payment_settled"],
        "upstreams": {"payments": "http://payments:8002"},
        "tracing": False,
        "metrics": False,
    },
    "no-database": {"db": "none", "ci": "none"},
}


def answers_of(variant: dict[str, Any]) -> dict[str, Any]:
    features = dict(variant)
    db = features.pop("db")
    domain = features.pop("entities", None)
    names = derive_names("orders")
    entities: list[dict[str, Any]] = []
    if db != "none":
        from msgen.domain.view import starter_domain

        parsed = parse_entities(domain) if domain else starter_domain(names.resource_class)
        entities = template_entities(parsed)
    return template_data(names, port=8001, db=db, entities=entities, **features)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_renderer_writes_what_copier_copy_writes_byte_for_byte(
    variant: str, tmp_path: Path
) -> None:
    from copier import run_copy

    source = template_source("service")
    answers = answers_of(VARIANTS[variant])
    out = tmp_path / "orders"
    run_copy(
        str(source),
        out,
        data=answers,
        defaults=True,
        overwrite=True,
        quiet=True,
        unsafe=False,
        skip_tasks=True,
    )
    template = load_template(source)
    assert template is not None
    context = template.context(answers, src_path=str(source), dst_name=out.name)
    rendered = template.render(context)
    assert sorted(rendered) == sorted(tree(out))
    for name, content in rendered.items():
        assert content == (out / name).read_bytes(), name


def test_a_template_with_settings_the_renderer_lacks_is_left_to_copier(tmp_path: Path) -> None:
    copy = tmp_path / "service"
    shutil.copytree(template_source("service"), copy)
    (copy / "copier.yml").write_text(
        (copy / "copier.yml").read_text() + "\n_tasks:\n  - echo hello\n"
    )
    assert load_template(copy) is None
    assert load_template(template_source("service")) is not None


def test_a_question_without_a_type_is_left_to_copier(tmp_path: Path) -> None:
    copy = tmp_path / "service"
    shutil.copytree(template_source("service"), copy)
    (copy / "copier.yml").write_text(
        (copy / "copier.yml").read_text() + "\nreplicas:\n  default: 2\n"
    )
    assert load_template(copy) is None


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git workspace with ``orders`` (Order: customer_id, total, status) and a broker."""
    root = tmp_path / "shop"
    root.mkdir()
    monkeypatch.chdir(root)
    result = runner.invoke(
        app,
        [
            "new",
            "service",
            "orders",
            "customer_id:uuid",
            "total:decimal",
            "status:enum(pending,paid,shipped)=pending",
            "--db",
            "sqlite",
            "--broker",
            "rabbitmq",
            "--defaults",
        ],
    )
    assert result.exit_code == 0, result.output
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "orders", cwd=root)
    return root


@pytest.fixture
def no_copier(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copier's update must not run: the quick path does the work."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("copier's update ran")

    monkeypatch.setattr(update, "_copier_update", refuse)


def hand_edit(root: Path) -> None:
    """A comment at the top of models.py, far from the columns; committed."""
    models = root / MODELS
    models.write_text("# kept: the user's note\n" + models.read_text())
    git("commit", "-qam", "hand edit", cwd=root)


@pytest.mark.usefixtures("no_copier")
def test_add_field_keeps_a_hand_edit_in_a_generated_file(workspace: Path) -> None:
    hand_edit(workspace)
    result = runner.invoke(app, ["add", "field", "orders", "Order", "note:text?"])
    assert result.exit_code == 0, result.output
    models = (workspace / MODELS).read_text()
    assert models.startswith("# kept: the user's note\n")
    assert "note:" in models
    assert "note" in (workspace / SCHEMAS).read_text()
    assert "name: note\n" in (workspace / "orders/.copier-answers.yml").read_text()
    assert "note" in (workspace / "orders/contracts/events.json").read_text()
    revisions = sorted((workspace / "orders/src/orders/migrations/versions").glob("0004_*.py"))
    assert len(revisions) == 1
    assert "add column orders.note" in result.output
    assert "note: text?" in (workspace / "msgen.yaml").read_text()


def conflicting_edit(root: Path) -> None:
    """A line after the status column, where ``note`` goes: both sides add lines there."""
    models = root / MODELS
    text = models.read_text()
    end_of_status = '        server_default="pending",\n    )\n'
    assert end_of_status in text
    models.write_text(text.replace(end_of_status, end_of_status + "    # the user's status\n", 1))
    git("commit", "-qam", "a line after the status column", cwd=root)


@pytest.mark.usefixtures("no_copier")
def test_a_conflicting_hand_edit_gets_copier_markers_and_exit_1(workspace: Path) -> None:
    models = workspace / MODELS
    conflicting_edit(workspace)
    result = runner.invoke(app, ["add", "field", "orders", "Order", "note:text?"])
    assert result.exit_code == 1, result.output
    merged = models.read_text()
    assert "<<<<<<< before updating" in merged
    assert ">>>>>>> after updating" in merged
    assert "# the user's status" in merged
    assert "conflicts" in result.output


@pytest.mark.usefixtures("no_copier")
def test_dry_run_shows_the_diff_and_the_migration_and_writes_nothing(workspace: Path) -> None:
    before = tree(workspace)
    result = runner.invoke(app, ["add", "field", "orders", "Order", "note:text?", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "+++ b/src/orders/models.py" in result.output
    assert "add column orders.note" in result.output
    assert tree(workspace) == before


@pytest.mark.parametrize(
    ("args", "edit", "code"),
    [
        (["add", "field", "orders", "Order", "note:text?", "placed_on:date?"], hand_edit, 0),
        (
            ["add", "entity", "orders", "OrderItem", "order:ref(Order)", "sku:str", "quantity:int"],
            hand_edit,
            0,
        ),
        (["remove", "field", "orders", "Order", "total"], hand_edit, 0),
        (["add", "field", "orders", "Order", "note:text?"], conflicting_edit, 1),
    ],
    ids=["add-fields", "add-entity", "remove-field", "conflict"],
)
def test_quick_path_leaves_the_same_trees_as_copier(
    args: list[str],
    edit: Callable[[Path], None],
    code: int,
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edit(workspace)
    twin = tmp_path / "twin"
    shutil.copytree(workspace, twin, symlinks=True)
    quick = runner.invoke(app, args)
    assert quick.exit_code == code, quick.output
    monkeypatch.chdir(twin)
    monkeypatch.setattr(update, "_quick_template", lambda *_a, **_k: None)
    slow = runner.invoke(app, args)
    assert slow.exit_code == code, slow.output
    assert tree(workspace) == tree(twin)


def test_quick_path_is_only_for_a_domain_change_at_the_current_version() -> None:
    entities: dict[str, Any] = {"entities": []}
    assert update._quick_template("service", old="1", new="1", answers=entities, conflict="inline")
    assert not update._quick_template(
        "service", old="0", new="1", answers=entities, conflict="inline"
    )
    assert not update._quick_template("service", old="1", new="1", answers=entities, conflict="rej")
    features = {**entities, "discovery": "consul"}
    assert not update._quick_template(
        "service", old="1", new="1", answers=features, conflict="inline"
    )


@pytest.mark.usefixtures("no_copier")
def test_update_after_a_hand_edited_domain_takes_the_quick_path(workspace: Path) -> None:
    manifest = workspace / "msgen.yaml"
    status = "          status: enum(pending, paid, shipped) = pending\n"
    assert status in manifest.read_text()
    manifest.write_text(manifest.read_text().replace(status, status + "          note: text?\n"))
    git("commit", "-qam", "a field by hand", cwd=workspace)
    result = runner.invoke(app, ["update", "orders"])
    assert result.exit_code == 0, result.output
    assert "note: Mapped[str | None]" in (workspace / MODELS).read_text()
    assert len(list((workspace / "orders/src/orders/migrations/versions").glob("0004_*.py"))) == 1


def test_an_unusable_template_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    template = load_template(template_source("service"))
    assert template is not None
    answers = answers_of(VARIANTS["starter-sqlite"])
    context = template.context(answers, src_path="/templates/service", dst_name="orders")
    assert "src/orders/models.py" in template.render(context)


def test_warm_export_runs_the_module_as_python_m_would(tmp_path: Path) -> None:
    from msgen.warm_export import WarmExport

    package = tmp_path / "src" / "shop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "contracts.py").write_text(
        "import json, os, sys\n"
        "from pathlib import Path\n"
        "Path('contracts').mkdir()\n"
        "Path('contracts/events.json').write_text(json.dumps(\n"
        "    [__name__, os.getcwd(), sys.path[0], sys.path[1], sys.argv[1:]]))\n"
    )
    with WarmExport() as warm:
        warm.start(tmp_path, package="shop")
        warm.wait()
    written = (tmp_path / "contracts" / "events.json").read_text()
    assert json.loads(written) == [
        "__main__",
        str(tmp_path),
        str(tmp_path),
        str(tmp_path / "src"),
        [],
    ]


def test_a_failing_warm_export_is_one_contract_error(tmp_path: Path) -> None:
    from msgen.errors import ContractError
    from msgen.warm_export import WarmExport

    package = tmp_path / "src" / "shop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "contracts.py").write_text("raise SystemExit('events.py does not import')\n")
    with WarmExport() as warm:
        warm.start(tmp_path, package="shop")
        with pytest.raises(ContractError, match=r"events\.py does not import"):
            warm.wait()
