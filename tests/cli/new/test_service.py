"""``msgen new service`` through the CLI: what it writes, what it refuses."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from msgen.workspace import load_workspace

runner = CliRunner()


def new(*args: str):
    return runner.invoke(app, ["new", "service", *args, "--defaults"], terminal_width=200)


def snapshot_dir(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_outside_workspace_creates_one_and_says_so(in_tmp: Path) -> None:
    result = new("orders")
    assert result.exit_code == 0, result.output
    assert "Created workspace" in result.stdout
    assert "Created service orders" in result.stdout
    # the next steps install into a virtual environment of the service's, as the README does
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[test]'" in result.stdout
    assert ".venv/bin/uvicorn orders.main:app --port 8001" in result.stdout
    assert "\n  pip install" not in result.stdout
    ws = load_workspace(in_tmp / "msgen.yaml")
    entry = ws.model.services["orders"]
    assert (entry.path, entry.port, entry.db, entry.resource) == ("orders", 8001, "sqlite", "Order")
    assert (in_tmp / "orders" / "src" / "orders" / "main.py").is_file()
    assert (in_tmp / "orders" / ".copier-answers.yml").is_file()


def test_second_service_gets_next_port_and_is_found_from_subdirectory(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert new("orders").exit_code == 0
    monkeypatch.chdir(in_tmp / "orders" / "src")
    result = new("billing", "--db", "postgres")
    assert result.exit_code == 0, result.output
    assert "Created workspace" not in result.stdout
    ws = load_workspace(in_tmp / "msgen.yaml")
    assert ws.model.services["billing"].port == 8002
    assert ws.model.services["billing"].db == "postgres"
    assert (in_tmp / "billing" / "pyproject.toml").is_file()


def test_answers_file_records_every_answer(in_tmp: Path) -> None:
    assert new("order-items", "--port", "9100", "--db", "postgres").exit_code == 0
    answers = (in_tmp / "order-items" / ".copier-answers.yml").read_text()
    for line in (
        "service_name: order-items",
        "package_name: order_items",
        "resource_class: OrderItem",
        "resource_path: order-items",
        "port: 9100",
        "db: postgres",
        "msgen_version: ",
    ):
        assert line in answers


def test_resource_and_output_options(in_tmp: Path) -> None:
    result = new("billing", "--resource", "Invoice", "--output", "apps/billing")
    assert result.exit_code == 0, result.output
    ws = load_workspace(in_tmp / "msgen.yaml")
    assert ws.model.services["billing"].path == "apps/billing"
    assert ws.model.services["billing"].resource == "Invoice"
    routes = (in_tmp / "apps" / "billing" / "src" / "billing").rglob("*.py")
    assert any('"/invoices' in p.read_text() for p in routes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Orders"], "invalid service name 'Orders'"),
        (["../x"], "a name is not a path"),
        (["/abs"], "a name is not a path"),
        (["json"], "shadow the standard library"),
        (["orders", "--port", "80"], "outside 1024-65535"),
        (["orders", "--port", "70000"], "outside 1024-65535"),
        (["orders", "--resource", "class"], "invalid resource name"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    in_tmp: Path, args: list[str], message: str
) -> None:
    result = new(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    assert list(in_tmp.iterdir()) == []


def test_bad_db_choice_is_a_usage_error(in_tmp: Path) -> None:
    result = new("orders", "--db", "mysql")
    assert result.exit_code == 2
    assert list(in_tmp.iterdir()) == []


def test_duplicate_name_and_used_port_are_refused(in_tmp: Path) -> None:
    assert new("orders").exit_code == 0
    before = snapshot_dir(in_tmp)
    duplicate = new("orders")
    assert duplicate.exit_code == 2
    assert "already has a service named 'orders'" in duplicate.stderr
    taken = new("billing", "--port", "8001")
    assert taken.exit_code == 2
    assert "port 8001 is already used" in taken.stderr
    assert snapshot_dir(in_tmp) == before


def test_port_another_program_listens_on_is_refused_unless_forced(in_tmp: Path) -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        refused = new("orders", "--port", str(port))
        assert refused.exit_code == 2, refused.output
        assert refused.stderr.startswith(f"error: port {port} is in use on this host")
        assert "not by a service of this workspace" in refused.stderr
        assert "--force" in refused.stderr
        assert list(in_tmp.iterdir()) == []
        forced = new("orders", "--port", str(port), "--force")
        assert forced.exit_code == 0, forced.output
    assert load_workspace(in_tmp / "msgen.yaml").model.services["orders"].port == port


def test_existing_non_empty_directory_needs_force(in_tmp: Path) -> None:
    (in_tmp / "orders").mkdir()
    (in_tmp / "orders" / "notes.txt").write_text("mine")
    result = new("orders")
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.stderr
    assert "--force" in result.stderr
    assert not (in_tmp / "msgen.yaml").exists()
    forced = new("orders", "--force")
    assert forced.exit_code == 0, forced.output
    assert (in_tmp / "orders" / "notes.txt").read_text() == "mine"
    assert (in_tmp / "orders" / "pyproject.toml").is_file()


def test_existing_empty_directory_is_used(in_tmp: Path) -> None:
    (in_tmp / "orders").mkdir()
    assert new("orders").exit_code == 0
    assert (in_tmp / "orders" / "pyproject.toml").is_file()


def test_force_regenerates_a_recorded_service_on_its_port(in_tmp: Path) -> None:
    assert new("orders", "--port", "9001").exit_code == 0
    (in_tmp / "orders" / "README.md").write_text("edited")
    result = new("orders", "--force")
    assert result.exit_code == 0, result.output
    assert (in_tmp / "orders" / "README.md").read_text() != "edited"
    assert load_workspace(in_tmp / "msgen.yaml").model.services["orders"].port == 9001


def test_dry_run_prints_tree_and_writes_nothing(in_tmp: Path) -> None:
    result = new("orders", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "pyproject.toml" in result.stdout
    assert "main.py" in result.stdout
    assert "nothing written" in result.stdout
    assert list(in_tmp.iterdir()) == []


def test_failed_render_leaves_no_directory_and_unchanged_workspace(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert new("orders").exit_code == 0
    before = (in_tmp / "msgen.yaml").read_text()

    from msgen import render

    real_copy = render._copy

    def half_render(source: Path, out: Path, data: dict[str, object]) -> None:
        real_copy(source, out, data)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(render, "_copy", half_render)
    result = new("billing")
    assert result.exit_code == 1
    assert "internal error: RuntimeError: disk on fire" in result.stderr
    assert sorted(p.name for p in in_tmp.iterdir()) == [
        ".msgen",  # the workspace's JSON Schema, written with the first msgen.yaml
        ".msgen-templates",
        "msgen.yaml",
        "orders",
    ]
    assert (in_tmp / "msgen.yaml").read_text() == before


def test_failed_workspace_save_removes_the_render(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert new("orders").exit_code == 0
    (in_tmp / "msgen.yaml").chmod(0o444)
    before = (in_tmp / "msgen.yaml").read_text()

    def no_space(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", no_space)
    result = new("billing")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert not (in_tmp / "billing").exists()
    assert (in_tmp / "msgen.yaml").read_text() == before


def test_upstreams_are_recorded_and_get_url_settings(in_tmp: Path) -> None:
    assert new("orders").exit_code == 0
    assert new("order-items", "--db", "none").exit_code == 0
    result = new("billing", "--upstream", "orders", "--upstream", "order-items")
    assert result.exit_code == 0, result.output
    entry = load_workspace(in_tmp / "msgen.yaml").model.services["billing"]
    assert (entry.discovery, entry.upstreams) == ("static", ["orders", "order-items"])
    settings = (in_tmp / "billing" / "src" / "billing" / "resilience.py").read_text()
    assert 'upstream_orders_url: str = "http://127.0.0.1:8001"' in settings
    assert 'upstream_order_items_url: str = "http://127.0.0.1:8002"' in settings
    assert 'discovery: Discovery = "static"' in settings


def test_dns_discovery_uses_service_names(in_tmp: Path) -> None:
    assert new("orders").exit_code == 0
    result = new("billing", "--discovery", "dns", "--upstream", "orders")
    assert result.exit_code == 0, result.output
    settings = (in_tmp / "billing" / "src" / "billing" / "resilience.py").read_text()
    assert 'upstream_orders_url: str = "http://orders:8001"' in settings
    assert load_workspace(in_tmp / "msgen.yaml").model.services["billing"].discovery == "dns"


def test_unknown_upstream_is_refused_and_nothing_is_written(in_tmp: Path) -> None:
    assert new("orders").exit_code == 0
    before = snapshot_dir(in_tmp)
    result = new("billing", "--upstream", "payments")
    assert result.exit_code == 2
    assert "--upstream 'payments' is not a service of this workspace (known: orders)" in (
        result.stderr
    )
    assert snapshot_dir(in_tmp) == before


def test_unknown_discovery_is_a_usage_error(in_tmp: Path) -> None:
    assert new("billing", "--discovery", "eureka").exit_code == 2


def forget(root: Path, name: str) -> None:
    """What a run killed after its render moved into place, before the save, leaves."""
    workspace = load_workspace(root / "msgen.yaml")
    del workspace.model.services[name]
    workspace.save()


def test_an_unrecorded_complete_render_is_adopted_by_the_same_command(in_tmp: Path) -> None:
    assert new("orders", "--db", "none", "--ci", "none").exit_code == 0
    recorded = (in_tmp / "msgen.yaml").read_text()
    files = snapshot_dir(in_tmp / "orders")
    forget(in_tmp, "orders")
    result = new("orders", "--db", "none", "--ci", "none")
    assert result.exit_code == 0, result.output
    assert "Adopted" in result.stdout
    assert (in_tmp / "msgen.yaml").read_text() == recorded
    assert snapshot_dir(in_tmp / "orders") == files


def test_an_unrecorded_render_with_other_options_is_refused_with_what_to_do(
    in_tmp: Path,
) -> None:
    assert new("orders", "--db", "none", "--ci", "none").exit_code == 0
    forget(in_tmp, "orders")
    result = new("orders", "--db", "sqlite", "--ci", "none")
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "holds a render of 'orders' that msgen.yaml does not record" in message
    assert "made with other options (auth, broker, db, entities)" in message
    assert "rerun with the options it was made with" in message
    assert "orders" not in load_workspace(in_tmp / "msgen.yaml").model.services


def test_a_killed_runs_staging_directory_is_removed_with_one_line(in_tmp: Path) -> None:
    assert new("orders", "--db", "none", "--ci", "none").exit_code == 0
    stale = in_tmp / ".billing.msgen-x1y2z3w4"  # no pid: from an older msgen, so stale
    (stale / "billing").mkdir(parents=True)
    result = new("billing", "--db", "none", "--ci", "none")
    assert result.exit_code == 0, result.output
    assert "recovered: removed 1 leftover(s) of an interrupted msgen run" in result.stderr
    assert not stale.exists()


def test_an_unknown_database_is_refused_in_plain_words(in_tmp: Path) -> None:
    result = new("orders", "--db", "mysql")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--db': 'mysql' is not one of 'sqlite', 'postgres', 'none'."
    )
    assert list(in_tmp.iterdir()) == []
