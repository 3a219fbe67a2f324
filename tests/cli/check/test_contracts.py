"""msgen check contracts on two generated services whose event models are edited.

``orders`` publishes ``orders.order_created``; ``billing`` consumes it. Each case copies the
pair rendered once, edits ``events.py`` on one side, regenerates ``contracts/events.json``
through the service's own ``python -m <package>.contracts`` (it needs only pydantic, so
msgen's interpreter runs it from the source tree: nothing is installed) and checks the
verdict the CLI gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msgen.cli import app
from tests.clikit import system_copy
from tests.servicekit import render

EVENT = "orders.order_created"
CONSUMER_MODEL = "    id: str\n"  # billing's model of the event: the minimal one
ORDER_FIELDS = "    id: uuid.UUID\n    name: str\n"
STATUS_VALUES = '    ACTIVE = "active"\n    ARCHIVED = "archived"\n'

runner = CliRunner()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pair")
    render(root, "orders", db="sqlite")
    render(root, "billing", db="sqlite", consumes=(EVENT,))
    # billing's model is derived from orders' contract; the cases start from the minimal one
    events = root / "billing" / "src" / "billing" / "events.py"
    text = events.read_text()
    start = text.index("    id: uuid.UUID\n", text.index("class OrdersOrderCreated("))
    end = text.index("\n\n\nCONSUMED", start)
    events.write_text(text[:start] + CONSUMER_MODEL.rstrip("\n") + text[end:])
    proc = export(root, "billing")
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def pair(rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return system_copy(rendered, tmp_path, monkeypatch)


def export(root: Path, service: str, *options: str) -> subprocess.CompletedProcess[str]:
    """The service's own mechanism: ``python -m <package>.contracts``, from its directory."""
    env = {**os.environ, "PYTHONPATH": str(root / service / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", f"{service}.contracts", *options],
        cwd=root / service,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def edit(root: Path, service: str, old: str, new: str) -> None:
    """Change the service's events.py (enums.py for enum members); regenerate its contracts."""
    package = root / service / "src" / service
    path = package / "events.py"
    if old == STATUS_VALUES and old not in path.read_text():
        path = package / "enums.py"
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(
        text.replace(old, new, 1).replace(
            "from typing import Annotated",
            "from typing import Literal\nfrom typing import Annotated",
        )
    )
    proc = export(root, service)
    assert proc.returncode == 0, proc.stderr


def consumer_requires(root: Path, fields: str) -> None:
    edit(root, "billing", CONSUMER_MODEL, CONSUMER_MODEL + "\n" + fields)


def check(*args: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["check", "contracts", "--json", *args])
    assert result.stderr == "", result.stderr
    return result.exit_code, json.loads(result.stdout)


def verdict(data: dict[str, object]) -> tuple[str, list[tuple[str, str]]]:
    """The verdict of billing's check of orders.order_created and its (kind, path) problems."""
    checks = data["checks"]
    assert isinstance(checks, list)
    [found] = [c for c in checks if c["consumer"] == "billing" and c["event"] == EVENT]
    return found["verdict"], [(p["kind"], p["path"]) for p in found["problems"]]


def test_the_generated_pair_is_compatible(pair: Path) -> None:
    assert json.loads((pair / "orders" / "contracts" / "events.json").read_text())["publishes"]
    code, data = check()
    assert (code, verdict(data)) == (0, ("compatible", []))
    warned = {(w["publisher"], w["event"]) for w in data["warnings"]}  # type: ignore[union-attr,index]
    assert ("orders", "orders.order_updated") in warned
    assert ("billing", "billing.billing_created") in warned


def test_the_table_shows_verdicts_and_warnings(pair: Path) -> None:
    consumer_requires(pair, "    customer_id: str\n")
    result = runner.invoke(app, ["check", "contracts"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "incompatible" in result.stdout
    assert "customer_id: billing requires it; orders does not send it" in result.stdout
    assert "warning: orders publishes orders.order_updated; no service consumes it" in result.stdout
    assert "0 compatible, 1 failing" in result.stdout


@pytest.mark.parametrize(
    ("service", "old", "new", "expected"),
    [
        pytest.param(
            "billing",
            CONSUMER_MODEL,
            CONSUMER_MODEL + "\n    customer_id: str\n",
            ("incompatible", [("missing-field", "customer_id")]),
            id="consumer-requires-a-field-not-sent",
        ),
        pytest.param(
            "orders",
            ORDER_FIELDS,
            "    id: uuid.UUID\n    name: int\n",
            ("incompatible", [("type", "name")]),
            id="publisher-changes-a-type",
        ),
        pytest.param(
            "orders",
            ORDER_FIELDS,
            "    id: uuid.UUID\n    name: str | None\n",
            ("incompatible", [("type", "name")]),
            id="publisher-makes-a-field-nullable",
        ),
        pytest.param(
            "orders",
            STATUS_VALUES,
            STATUS_VALUES + '    CANCELLED = "cancelled"\n',
            ("incompatible", [("enum", "status")]),
            id="publisher-adds-an-enum-value",
        ),
        pytest.param(
            "orders",
            f'    "{EVENT}": OrderCreated,\n',
            "",
            ("removed", [("removed-event", "")]),
            id="publisher-removes-the-event",
        ),
        pytest.param(
            "orders",
            ORDER_FIELDS,
            ORDER_FIELDS + "    coupon: str | None = None\n",
            ("compatible", []),
            id="publisher-adds-an-optional-field",
        ),
        pytest.param(
            "billing",
            CONSUMER_MODEL,
            CONSUMER_MODEL + "\n    note: str | None = None\n",
            ("compatible", []),
            id="consumer-adds-an-optional-field",
        ),
    ],
)
def test_an_edited_event_model_gives_its_verdict(
    pair: Path, service: str, old: str, new: str, expected: tuple[str, list[tuple[str, str]]]
) -> None:
    # billing relies on name and status, as the generated orders sends them
    consumer_requires(pair, '    name: str\n    status: Literal["draft", "active", "archived"]\n')
    assert verdict(check()[1]) == ("compatible", [])
    edit(pair, service, old, new)
    code, data = check()
    assert verdict(data) == expected
    assert code == (0 if expected[0] == "compatible" else 1)


def test_an_enum_value_the_consumer_does_not_accept(pair: Path) -> None:
    consumer_requires(pair, '    status: Literal["active", "archived"]\n')
    code, data = check()
    assert (code, verdict(data)) == (1, ("incompatible", [("enum", "status")]))


def test_a_widened_enum_on_the_consumer_side_is_compatible(pair: Path) -> None:
    consumer_requires(pair, '    status: Literal["draft", "active", "archived", "cancelled"]\n')
    code, data = check()
    assert (code, verdict(data)) == (0, ("compatible", []))


def test_the_service_own_check_notices_a_stale_contract_file(pair: Path) -> None:
    assert export(pair, "orders", "--check").returncode == 0
    path = pair / "orders" / "src" / "orders" / "events.py"
    path.write_text(path.read_text().replace(ORDER_FIELDS, ORDER_FIELDS + "    total: int\n"))
    stale = export(pair, "orders", "--check")
    assert stale.returncode == 1
    assert "out of date: run python -m orders.contracts" in stale.stderr


def test_only_named_services_are_reported(pair: Path) -> None:
    code, data = check("orders")
    assert (code, data["checks"]) == (0, [])
    result = runner.invoke(app, ["check", "contracts", "nosuch"])
    assert result.exit_code == 2
    assert "unknown service 'nosuch'" in result.stderr


def test_a_missing_contract_file_is_a_one_line_error(pair: Path) -> None:
    (pair / "billing" / "contracts" / "events.json").unlink()
    result = runner.invoke(app, ["check", "contracts"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith("error: billing has no contracts/events.json")
    assert "python -m billing.contracts" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_an_invalid_contract_file_is_a_one_line_error(pair: Path) -> None:
    (pair / "orders" / "contracts" / "events.json").write_text("{oops")
    result = runner.invoke(app, ["check", "contracts", "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "events.json is not valid JSON (line 1, column 2" in result.stderr
