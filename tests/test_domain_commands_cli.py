"""``msgen add command`` and ``msgen remove command``: lifecycle commands through the CLI.

One sqlite service (its default entity: ``Order`` with ``status: enum(draft, active,
archived) = active``) is rendered once and copied for each test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from msgen.workspace import ConsumeAction, ServiceEntry, load_workspace
from tests.clikit import msgen

FROM_DRAFT = ("--from", "draft", "--to", "archived")
FROM_ACTIVE = ("--from", "active", "--to", "archived")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        code, out, err = msgen("new", "service", "orders", "--defaults", "--db", "sqlite")
    assert code == 0, out + err
    return root


@pytest.fixture
def workspace(rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    shutil.copytree(rendered, root, symlinks=True)
    monkeypatch.chdir(root)
    yield root


def entities(root: Path) -> dict[str, Any]:
    return load_workspace(root / "msgen.yaml").model.services["orders"].entities


def routes(root: Path) -> str:
    return (root / "orders" / "src" / "orders" / "routes.py").read_text()


def add_consumer(
    root: Path,
    *,
    orders: dict[str, ConsumeAction | None] | None = None,
    payments: list[str] | None = None,
) -> None:
    """A second (unrendered) service, and what each service consumes."""
    ws = load_workspace(root / "msgen.yaml")
    ws.model.services["payments"] = ServiceEntry(
        path="payments", port=8002, db="sqlite", consumes=payments or []
    )
    if orders is not None:
        ws.model.services["orders"].consumes = orders
    ws.save()
    load_workspace(root / "msgen.yaml")  # the starting point is a valid workspace


def assert_refused(root: Path, args: list[str], message: str) -> str:
    before = (root / "msgen.yaml").read_text()
    code, _, err = msgen(*args)
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if not line.startswith("hint:")]
    assert len(errors) == 1, err
    assert message in errors[0], err
    assert (root / "msgen.yaml").read_text() == before
    return errors[0]


def test_add_command_writes_the_short_form_and_renders_the_route(workspace: Path) -> None:
    code, out, err = msgen(
        "add", "command", "orders", "Order", "archive", "--from", "draft", "--from", "active",
        "--to", "archived",
    )  # fmt: skip

    assert code == 0, err
    assert "Added command archive of Order in orders" in out
    assert entities(workspace)["Order"]["commands"] == {
        "archive": {"from": ["draft", "active"], "to": "archived"}
    }
    text = (workspace / "msgen.yaml").read_text()
    assert "from: [draft, active]" in text
    assert "field:" not in text
    assert '"/{order_id}/archive"' in routes(workspace)
    entry = load_workspace(workspace / "msgen.yaml").model.services["orders"]
    assert "orders.order_archived" in entry.publishes
    answers = YAML(typ="safe").load((workspace / "orders" / ".copier-answers.yml").read_text())
    order = next(e for e in answers["entities"] if e["class"] == "Order")
    assert [(c["name"], c["from"], c["to"]) for c in order["commands"]] == [
        ("archive", ["draft", "active"], "archived")
    ]


def test_add_command_without_from_is_a_creation_command(workspace: Path) -> None:
    code, _, err = msgen(
        "add", "command", "orders", "Order", "open", "--to", "draft", "--field", "status"
    )

    assert code == 0, err
    assert entities(workspace)["Order"]["commands"] == {"open": {"to": "draft", "field": "status"}}
    order = load_workspace(workspace / "msgen.yaml").model.services["orders"].domain().entities[0]
    command = order.command("open")
    assert command is not None
    assert command.creates


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Order", "archive", "--from", "draft", "--to", "archived"], "already has a command"),
        (["Ordr", "pay", "--to", "active"], "no entity 'Ordr' (entities: Order)"),
        (
            ["Order", "pay", "--from", "pending", "--to", "active"],
            "--from 'pending' is not a state of Order (status: draft, active, archived)",
        ),
        (["Order", "pay", "--from", "draft", "--to", "paid"], "--to 'paid' is not a state"),
        (
            ["Order", "pay", "--from", "draft", "--to", "active", "--field", "name"],
            "--field 'name' is not an enum field of Order (status)",
        ),
        (["Order", "pay", "--from", "draft"], "needs --to STATE"),
        (["Order", "--from", "draft", "--to", "active"], "takes ENTITY NAME"),
        (["Order", "Pay", "--to", "active"], "snake_case"),
        (["Order", "update", "--from", "draft", "--to", "active"], "one of the CRUD operations"),
    ],
)
def test_add_command_refusals_are_one_line(workspace: Path, args: list[str], message: str) -> None:
    code, _, err = msgen(
        "add", "command", "orders", "Order", "archive", "--from", "draft", "--to", "archived"
    )
    assert code == 0, err

    assert_refused(workspace, ["add", "command", "orders", *args], message)


def test_command_options_belong_to_add_command(workspace: Path) -> None:
    assert_refused(
        workspace,
        ["add", "field", "orders", "Order", "note:text?", "--to", "active"],
        "--from, --to and --field are options of msgen add command",
    )
    assert_refused(
        workspace, ["add", "consul", "orders", "--from", "draft"], "options of msgen add command"
    )


def test_remove_command_drops_it_and_its_route(workspace: Path) -> None:
    assert msgen("add", "command", "orders", "Order", "archive", *FROM_DRAFT)[0] == 0
    assert msgen("add", "command", "orders", "Order", "close", *FROM_ACTIVE)[0] == 0

    code, out, err = msgen("remove", "command", "orders", "Order", "archive")

    assert code == 0, err
    assert "Removed command archive of Order in orders" in out
    assert entities(workspace)["Order"]["commands"] == {
        "close": {"from": ["active"], "to": "archived"}
    }
    assert '"/{order_id}/archive"' not in routes(workspace)
    assert '"/{order_id}/close"' in routes(workspace)

    assert msgen("remove", "command", "orders", "Order", "close")[0] == 0
    assert "commands" not in entities(workspace)["Order"]
    assert "commands:" not in (workspace / "msgen.yaml").read_text()
    assert_refused(
        workspace,
        ["remove", "command", "orders", "Order", "close"],
        "Order.commands: Order has no command 'close' (commands: none)",
    )


def line_of(root: Path, text: str) -> int:
    lines = (root / "msgen.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_removing_a_command_a_consumed_event_runs_is_refused(workspace: Path) -> None:
    args = ["--from", "draft", "--from", "active", "--to", "archived"]
    assert msgen("add", "command", "orders", "Order", "archive", *args)[0] == 0
    action = ConsumeAction(command="Order.archive", id="order_id")
    add_consumer(workspace, orders={"payments.payment_failed": action})
    line = line_of(workspace, "payments.payment_failed")

    error = assert_refused(
        workspace,
        ["remove", "command", "orders", "Order", "archive"],
        "services.orders.consumes.payments.payment_failed: runs Order.archive, which this "
        "change removes",
    )
    assert f"msgen.yaml:{line}:" in error
    # Removing the entity would remove the command too.
    assert_refused(workspace, ["remove", "entity", "orders", "Order"], "runs Order.archive")


def test_removing_a_command_whose_event_is_consumed_is_refused(workspace: Path) -> None:
    assert msgen("add", "command", "orders", "Order", "archive", *FROM_DRAFT)[0] == 0
    assert msgen("add", "command", "orders", "Order", "close", *FROM_ACTIVE)[0] == 0
    add_consumer(workspace, payments=["orders.order_archived"])

    # close still publishes orders.order_archived: archive may go.
    code, _, err = msgen("remove", "command", "orders", "Order", "archive")
    assert code == 0, err

    error = assert_refused(
        workspace,
        ["remove", "command", "orders", "Order", "close"],
        "services.payments.consumes.0: payments consumes orders.order_archived, the event of "
        "Order.close, which this change removes",
    )
    assert f"msgen.yaml:{line_of(workspace, 'consumes: [orders.order_archived]')}:" in error


def test_a_change_that_would_leave_msgen_yaml_invalid_is_refused(workspace: Path) -> None:
    assert msgen("add", "command", "orders", "Order", "open", "--to", "draft")[0] == 0
    action = ConsumeAction(command="Order.open", fields={"name": "title"})
    add_consumer(workspace, orders={"payments.payment_captured": action})

    error = assert_refused(
        workspace,
        ["remove", "field", "orders", "Order", "name"],
        "services.orders.consumes.payments.payment_captured.fields.name: 'name' is not a "
        "field Order.open sets",
    )
    assert "msgen.yaml:" in error
