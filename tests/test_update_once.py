"""``msgen add field`` does its slow steps once: msgen.yaml parsed once, the migration planned once,
the contract export's Python started before the answers are read.

What the quick path writes is checked against copier in test_quick_update.py; these tests check
that the work is not done twice, and that reusing it is refused when its inputs differ.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from msgen import inputs, update
from msgen.cli import app
from msgen.domain import generate
from msgen.domain.generate import plan_inputs, rules_path
from msgen.domain.syntax import parse_entities
from msgen.warm_export import WarmExport
from msgen.workspace import load_workspace

runner = CliRunner()


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git workspace with ``orders`` (Order: customer_id, status) and a broker."""
    root = tmp_path / "shop"
    root.mkdir()
    monkeypatch.chdir(root)
    args = ["new", "service", "orders", "customer_id:uuid", "status:enum(new,paid)=new"]
    result = runner.invoke(app, [*args, "--db", "sqlite", "--broker", "rabbitmq", "--defaults"])
    assert result.exit_code == 0, result.output
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "orders", cwd=root)
    return root


def counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    """Calls of ``owner.name`` (still made), one entry each."""
    calls: list[object] = []
    real = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_add_field_parses_msgen_yaml_once_and_plans_once(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = counting(monkeypatch, inputs, "_load_ruamel")
    plans = counting(monkeypatch, generate, "plan_change")
    result = runner.invoke(app, ["add", "field", "orders", "Order", "note:text?"])
    assert result.exit_code == 0, result.output
    # recovery's load is the command's; the locks' refreshes find the file as it was
    assert len(parses) == 1
    assert plans == [workspace / "orders"]  # the service, not the sandbox again
    revision = next((workspace / "orders/src/orders/migrations/versions").glob("0004_*.py"))
    assert "note" in revision.read_text()


def test_a_changed_msgen_yaml_is_read_again_under_the_lock(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_workspace(workspace / "msgen.yaml")
    text = (workspace / "msgen.yaml").read_text()
    (workspace / "msgen.yaml").write_text(text.replace("port: 8001", "port: 8011"))
    parses = counting(monkeypatch, inputs, "_load_ruamel")
    loaded.refresh()
    assert len(parses) == 1
    assert loaded.model.services["orders"].port == 8011
    loaded.refresh()  # as it was read: nothing to parse
    assert len(parses) == 1


def versions_of(service: Path) -> Path:
    return service / "src/orders/migrations/versions"


def test_the_plan_is_reused_only_where_planning_reads_the_same(workspace: Path) -> None:
    service = workspace / "orders"
    twin = workspace / "twin"
    shutil.copytree(service, twin)
    old = parse_entities({"Order": {"fields": {"status": "str"}}})
    new = parse_entities(
        {"Order": {"fields": {"status": "str"}}, "Item": {"fields": {"sku": "str"}}}
    )

    def inputs_of(directory: Path) -> object:
        return plan_inputs(directory, package="orders", old=old, new=new)

    assert inputs_of(service) == inputs_of(twin)
    first = sorted(versions_of(twin).glob("*.py"))[0]
    first.write_text(first.read_text() + "\n# edited\n")
    assert inputs_of(service) != inputs_of(twin)
    shutil.rmtree(twin)
    shutil.copytree(service, twin)
    rules = twin / rules_path("orders", "Item")
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text("# the user's rules\n")
    assert inputs_of(service) != inputs_of(twin)
    (versions_of(twin) / "odd.py").mkdir()  # unreadable: never equal, so planned again
    assert inputs_of(twin) != inputs_of(twin)


def test_the_sandbox_plans_again_when_the_merge_changed_its_revisions(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = update._quick_path

    def quick_path(project: Path, *args: Any, **kwargs: Any) -> Any:
        # a revision written into the sandbox before the domain step: the next id moves on
        (versions_of(project) / "0009_other.py").write_text(
            'revision = "0009"\ndown_revision = None\n'
        )
        return real(project, *args, **kwargs)

    monkeypatch.setattr(update, "_quick_path", quick_path)
    plans = counting(monkeypatch, generate, "plan_change")
    result = runner.invoke(app, ["add", "field", "orders", "Order", "note:text?"])
    assert result.exit_code == 0, result.output
    assert len(plans) == 2
    assert list(versions_of(workspace / "orders").glob("0010_*.py"))


def test_a_domain_change_starts_the_export_before_reading_the_answers(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    for owner, name in ((WarmExport, "__init__"), (WarmExport, "start"), (update, "read_answers")):
        monkeypatch.setattr(owner, name, _recording(getattr(owner, name), events, name))
    result = runner.invoke(app, ["add", "field", "orders", "Order", "note:text?"])
    assert result.exit_code == 0, result.output
    assert events == ["__init__", "read_answers", "start"]
    assert "note" in (workspace / "orders/contracts/events.json").read_text()


def _recording(function: Any, events: list[str], label: str) -> Any:
    def recorded(*args: Any, **kwargs: Any) -> Any:
        events.append(label)
        return function(*args, **kwargs)

    return recorded


def test_an_export_started_ahead_is_stopped_when_the_update_needs_none(workspace: Path) -> None:
    loaded = load_workspace(workspace / "msgen.yaml")
    with update.export_ahead(loaded, "orders", conflict="inline") as warm:
        assert warm is not None
        process = warm._process
        assert process is not None
        result = update.update_service(loaded, "orders", warm=warm)  # no domain change
        assert result.changes == ()
        assert warm._process is None
        assert process.poll() is not None  # stopped, not left to the end of the command
    with update.export_ahead(loaded, "orders", conflict="rej") as warm:
        assert warm is None  # copier's update: it exports in its own time
