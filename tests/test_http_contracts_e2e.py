"""Two generated services, ``orders`` calling ``billing``: ``msgen check contracts`` on HTTP.

billing is installed and exports its OpenAPI document as its own tests do; orders gets the
copy its client is built from with ``msgen update orders``. billing's API is then changed
the ways a team changes it (through msgen.yaml and by hand in its routes) and each change
gets its verdict; ``msgen update orders`` takes the new API as the client's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.clikit import edit_workspace, msgen
from tests.servicekit import install, render, run

pytestmark = pytest.mark.slow


def check(ws: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = msgen("check", "contracts", "--json")
    assert code in (0, 1), err
    return code, json.loads(out)["http"]


def export(billing: Path, python: Path) -> None:
    run([str(python), "-m", "billing.openapi"], cwd=billing)


def set_field(ws: Path, name: str, spec: str | None) -> None:
    def change(document: Any) -> None:
        fields = document["services"]["billing"]["entities"]["Billing"]["fields"]
        if spec is None:
            del fields[name]
        else:
            fields[name] = spec

    edit_workspace(ws, change)


def test_a_caller_learns_which_change_of_its_upstreams_api_breaks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path
    billing = render(ws, "billing", broker="none")
    orders = render(ws, "orders", broker="none", upstreams=("billing",))
    monkeypatch.chdir(ws)
    # billing has exported nothing yet: nothing to check, and nothing fails
    code, report = check(ws)
    assert code == 0
    assert [c["verdict"] for c in report["checks"]] == ["unexported"]

    python = install(billing)
    # billing's own test writes contracts/openapi.json on its first run, then holds it
    own_test = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_openapi_contract.py"]
    run([str(python), *own_test], cwd=billing)
    run([str(python), "-m", "billing.openapi", "--check"], cwd=billing)
    code, report = check(ws)
    assert (code, report["checks"][0]["verdict"]) == (0, "unbuilt")
    code, out, err = msgen("update", "orders")
    assert code == 0, err
    snapshot = orders / "contracts" / "upstreams" / "billing.json"
    assert snapshot.read_text() == (billing / "contracts" / "openapi.json").read_text()
    code, report = check(ws)
    assert (code, report["checks"][0]["verdict"]) == (0, "compatible")
    assert report["checks"][0]["operations"] > 5

    # compatible: a new optional field
    set_field(ws, "amount", "int = 0")
    assert msgen("update", "billing")[0] == 0
    export(billing, python)
    code, report = check(ws)
    assert (code, report["checks"][0]["verdict"]) == (0, "compatible")

    # breaking: a narrowed enum (the client may send "archived")
    set_field(ws, "status", "enum(draft, active) = active")
    assert msgen("update", "billing")[0] == 0
    export(billing, python)
    code, report = check(ws)
    assert code == 1
    problems = report["checks"][0]["problems"]
    assert {(p["kind"], p["operation"], p["where"]) for p in problems} >= {
        ("enum", "POST /billings", "request body: status"),
        ("enum", "GET /billings", "query parameter status"),
    }
    code, out, _ = msgen("check", "contracts")
    assert code == 1
    assert "incompatible" in out
    assert "orders may send" in out

    # the caller takes the new API: its snapshot (and client) follow, and it passes again
    assert msgen("update", "orders")[0] == 0
    code, report = check(ws)
    assert (code, report["checks"][0]["verdict"]) == (0, "compatible")

    # breaking, by hand: a removed field the client reads, and a changed status code
    set_field(ws, "description", None)
    assert msgen("update", "billing")[0] == 0
    routes = billing / "src" / "billing" / "routes.py"
    text = routes.read_text()
    assert '@billing_router.post("", status_code=201' in text
    routes.write_text(text.replace('post("", status_code=201', 'post("", status_code=200'))
    export(billing, python)
    code, report = check(ws)
    assert code == 1
    found = {(p["kind"], p["operation"], p["where"]) for p in report["checks"][0]["problems"]}
    assert ("status-code", "POST /billings", "response 200") in found
    assert ("missing-field", "GET /billings/{billing_id}", "response 200: description") in found
