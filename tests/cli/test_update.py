"""``msgen update``: a template change arrives, the user's edits stay, conflicts are reported.

Each test renders ``orders`` with a copy of the templates (``MSGEN_TEMPLATES_DIR``), changes
that copy as a template author would (a new question used in a file, a changed file), and
updates the service.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from msgen.render import templates_dir
from msgen.workspace import load_workspace
from tests.clikit import answers, edit_workspace

runner = CliRunner()

SETTINGS = "src/orders/settings.py"
HEALTH = "src/orders/health.py"
TIMEOUT = "health_check_timeout: float = Field(default={}, gt=0)"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(templates_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("MSGEN_TEMPLATES_DIR", str(copy))
    return copy


@pytest.fixture
def workspace(tmp_path: Path, templates: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace (a git repository) with ``orders`` rendered by the unchanged templates."""
    root = tmp_path / "shop"
    root.mkdir()
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["new", "service", "orders", "--db", "sqlite", "--defaults"])
    assert result.exit_code == 0, result.output
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "orders", cwd=root)
    return root


def change_template(templates: Path) -> None:
    """A new question used in settings.py, a changed timeout, a changed health.py docstring."""
    service = templates / "service"
    copier_yml = service / "copier.yml"
    copier_yml.write_text(
        copier_yml.read_text() + "\ngreeting:\n  type: str\n  help: A greeting\n  default: hello\n"
    )
    settings = service / "template" / "src" / "{{package_name}}" / "settings.py.jinja"
    text = settings.read_text()
    text = text.replace(
        '    service_name: str = "{{ service_name }}"\n',
        '    service_name: str = "{{ service_name }}"\n    greeting: str = "{{ greeting }}"\n',
    )
    settings.write_text(text.replace(TIMEOUT.format("2.0"), TIMEOUT.format("5.0")))
    health = service / "template" / "src" / "{{package_name}}" / "health.py"
    health.write_text(health.read_text().replace('"""Liveness and', '"""Template 2: Liveness and'))


def edit(root: Path, *, conflicting: bool = True, commit: bool = True) -> None:
    """The user's own edits: a note at the end of health.py, maybe the timeout too."""
    service = root / "orders"
    health = service / HEALTH
    health.write_text(health.read_text() + "\n\n# my own note\n")
    if conflicting:
        settings = service / SETTINGS
        settings.write_text(
            settings.read_text().replace(TIMEOUT.format("2.0"), TIMEOUT.format("3.0"))
        )
    if commit:
        git("commit", "-qam", "my edits", cwd=root)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }


def test_update_keeps_edits_brings_template_changes_and_reports_the_conflict(
    workspace: Path, templates: Path
) -> None:
    edit(workspace)
    change_template(templates)
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)["services"][0]
    assert listed["template_outdated"] is True

    result = runner.invoke(app, ["update"], terminal_width=200)

    assert result.exit_code == 1, result.output  # like git merge: conflicts left to resolve
    assert "conflicts" in result.stdout
    assert SETTINGS in result.stdout
    service = workspace / "orders"
    health = (service / HEALTH).read_text()
    assert health.startswith('"""Template 2: Liveness and')  # the template change arrived
    assert health.endswith("# my own note\n")  # and the user's edit survived
    settings = (service / SETTINGS).read_text()
    assert 'greeting: str = "hello"' in settings  # the new setting
    assert "<<<<<<< before updating" in settings
    assert TIMEOUT.format("3.0") in settings
    assert TIMEOUT.format("5.0") in settings
    answers = (service / ".copier-answers.yml").read_text()
    assert "greeting: hello" in answers
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)["services"][0]
    assert listed["template_outdated"] is False
    assert f"msgen_version: {listed['template_version']}" in answers


def test_dry_run_shows_the_diff_and_writes_nothing(workspace: Path, templates: Path) -> None:
    edit(workspace, conflicting=False)
    change_template(templates)
    before = snapshot(workspace)

    result = runner.invoke(app, ["update", "orders", "--dry-run"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert '+    greeting: str = "hello"' in result.stdout
    assert '+"""Template 2: Liveness and' in result.stdout
    assert "nothing written" in result.stdout
    assert snapshot(workspace) == before
    assert git("status", "--porcelain", cwd=workspace) == ""


def test_uncommitted_changes_are_refused_unless_forced(workspace: Path, templates: Path) -> None:
    edit(workspace, conflicting=False, commit=False)
    change_template(templates)
    before = snapshot(workspace)

    refused = runner.invoke(app, ["update"])

    assert refused.exit_code == 2
    assert "orders has uncommitted changes (1 file)" in refused.stderr
    assert "Traceback" not in refused.output
    assert snapshot(workspace) == before

    forced = runner.invoke(app, ["update", "--force"])
    assert forced.exit_code == 0, forced.output
    health = (workspace / "orders" / HEALTH).read_text()
    assert health.startswith('"""Template 2') and health.endswith("# my own note\n")


def test_service_outside_git_updates_with_rej_files(workspace: Path, templates: Path) -> None:
    shutil.rmtree(workspace / ".git")
    edit(workspace, commit=False)
    change_template(templates)

    result = runner.invoke(app, ["update", "--conflict", "rej"], terminal_width=200)

    assert result.exit_code == 1, result.output
    assert f"{SETTINGS}.rej" in result.stdout
    settings = (workspace / "orders" / SETTINGS).read_text()
    assert "<<<<<<<" not in settings
    assert TIMEOUT.format("5.0") in settings  # the template's side; the user's hunk is in .rej
    rejected = (workspace / "orders" / f"{SETTINGS}.rej").read_text()
    assert f"+    {TIMEOUT.format('3.0')}" in rejected


def test_a_second_update_starts_from_the_stored_template(workspace: Path, templates: Path) -> None:
    change_template(templates)
    assert runner.invoke(app, ["update"]).exit_code == 0
    git("commit", "-qam", "update 1", cwd=workspace)
    settings = templates / "service" / "template" / "src" / "{{package_name}}" / "settings.py.jinja"
    settings.write_text(settings.read_text().replace("greeting: str", "salutation: str"))
    shutil.rmtree(templates / "service" / "template" / "wheels")

    result = runner.invoke(app, ["update", "orders"])

    assert result.exit_code == 0, result.output
    assert not (workspace / "orders" / "wheels").exists()  # removed with its directory
    text = (workspace / "orders" / SETTINGS).read_text()
    assert 'salutation: str = "hello"' in text
    assert "greeting" not in text
    assert len(list((workspace / ".msgen-templates").glob("service-*.zip"))) == 3


def test_missing_template_base_is_one_line_with_the_fix(workspace: Path, templates: Path) -> None:
    shutil.rmtree(workspace / ".msgen-templates")
    change_template(templates)

    result = runner.invoke(app, ["update"])

    assert result.exit_code == 1
    assert "is not in the template store" in result.stderr
    assert "hint:" in result.stderr


def test_up_to_date_service_is_left_alone(workspace: Path) -> None:
    result = runner.invoke(app, ["update", "--json"])

    assert result.exit_code == 0, result.output
    [service] = json.loads(result.stdout)["services"]
    assert service["changes"] == []
    assert service["old_version"] == service["new_version"]
    assert git("status", "--porcelain", cwd=workspace) == ""


def test_unknown_service_is_a_usage_error(workspace: Path) -> None:
    result = runner.invoke(app, ["update", "billing"])

    assert result.exit_code == 2
    assert "unknown service 'billing'" in result.stderr


def test_gateway_is_updated_from_its_own_template(workspace: Path, templates: Path) -> None:
    assert runner.invoke(app, ["new", "gateway"]).exit_code == 0
    git("add", "-A", cwd=workspace)
    git("commit", "-qm", "gateway", cwd=workspace)
    readme = templates / "gateway" / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nGateway template 2.\n")

    result = runner.invoke(app, ["update", "gateway", "--json"])

    assert result.exit_code == 0, result.output
    [gateway] = json.loads(result.stdout)["services"]
    assert {"path": "README.md", "status": "modified"} in gateway["changes"]
    assert (workspace / "gateway" / "README.md").read_text().endswith("Gateway template 2.\n")
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)["services"]
    assert [s["template_outdated"] for s in listed] == [False, False]


def _unrouted(root: Path) -> list[str]:
    """What ``msgen list --json`` and ``msgen graph`` say no gateway routes (they must agree)."""
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    mermaid = runner.invoke(app, ["graph", "-f", "mermaid"]).stdout
    flagged = [line.split('"')[1] for line in mermaid.splitlines() if ":::unrouted" in line]
    assert flagged == [f"{name} (not routed)" for name in sorted(listed["unrouted"])]
    return list(listed["unrouted"])


def test_updating_the_gateway_routes_a_service_added_after_it(workspace: Path) -> None:
    assert runner.invoke(app, ["new", "gateway"]).exit_code == 0
    added = runner.invoke(
        app, ["new", "service", "billing", "--db", "none", "--defaults"], terminal_width=200
    )
    assert added.exit_code == 0, added.output
    assert added.stdout.splitlines()[-1] == (
        "gateway does not route billing yet: msgen update gateway"
    )
    git("add", "-A", cwd=workspace)
    git("commit", "-qm", "gateway, billing", cwd=workspace)
    assert _unrouted(workspace) == ["billing"]
    tree = runner.invoke(app, ["graph"], terminal_width=200).stdout
    assert "not routed by a gateway: billing (msgen update gateway)" in tree

    result = runner.invoke(app, ["update", "gateway", "--json"])

    assert result.exit_code == 0, result.output
    [gateway] = json.loads(result.stdout)["services"]
    assert gateway["conflicts"] == []
    assert {"path": "src/gateway/resilience.py", "status": "modified"} in gateway["changes"]
    assert answers(workspace / "gateway")["upstreams"] == {
        "orders": "http://127.0.0.1:8001",
        "billing": "http://127.0.0.1:8002",
    }
    settings = (workspace / "gateway" / "src" / "gateway" / "resilience.py").read_text()
    assert 'upstream_billing_url: str = "http://127.0.0.1:8002"' in settings
    assert '"billing": self.upstream_billing_url,' in settings
    entry = load_workspace(workspace / "msgen.yaml").model.services["gateway"]
    assert entry.upstreams == ["orders", "billing"]
    assert _unrouted(workspace) == []
    assert "not routed" not in runner.invoke(app, ["graph"], terminal_width=200).stdout


def test_updating_the_gateway_drops_a_service_removed_from_the_workspace(
    workspace: Path,
) -> None:
    assert runner.invoke(app, ["new", "service", "billing", "--db", "none"]).exit_code == 0
    assert runner.invoke(app, ["new", "gateway"]).exit_code == 0
    git("add", "-A", cwd=workspace)
    git("commit", "-qm", "billing, gateway", cwd=workspace)

    def remove_billing(document: Any) -> None:
        del document["services"]["billing"]
        document["services"]["gateway"]["upstreams"].remove("billing")

    edit_workspace(workspace, remove_billing)
    dry = runner.invoke(app, ["update", "gateway", "--dry-run"], terminal_width=200)
    assert dry.exit_code == 0, dry.output
    assert '-    upstream_billing_url: str = "http://127.0.0.1:8002"' in dry.stdout

    result = runner.invoke(app, ["update", "gateway"])

    assert result.exit_code == 0, result.output
    assert answers(workspace / "gateway")["upstreams"] == {"orders": "http://127.0.0.1:8001"}
    settings = (workspace / "gateway" / "src" / "gateway" / "resilience.py").read_text()
    assert "billing" not in settings


def test_updating_the_gateway_records_its_routes_msgen_yaml_lost(workspace: Path) -> None:
    assert runner.invoke(app, ["new", "gateway"]).exit_code == 0
    git("add", "-A", cwd=workspace)
    git("commit", "-qm", "gateway", cwd=workspace)
    edit_workspace(workspace, lambda document: document["services"]["gateway"].pop("upstreams"))
    assert _unrouted(workspace) == ["orders"]

    result = runner.invoke(app, ["update", "gateway", "--json"])

    assert result.exit_code == 0, result.output
    [gateway] = json.loads(result.stdout)["services"]
    assert gateway["changes"] == []  # the render already routes orders
    entry = load_workspace(workspace / "msgen.yaml").model.services["gateway"]
    assert entry.upstreams == ["orders"]
    assert _unrouted(workspace) == []
