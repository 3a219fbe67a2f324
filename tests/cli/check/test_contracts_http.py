"""msgen check contracts on HTTP: two rendered services, documents written as FastAPI does.

Nothing is installed: billing's ``contracts/openapi.json`` is the document of the FastAPI
app in tests/test_http_contracts.py (``api()``), as billing's export would write it; the
copy in orders comes from ``msgen new``/``msgen update``. tests/test_http_contracts_e2e.py
does the same with billing installed and exporting its own document.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clikit import msgen, system_copy
from tests.servicekit import render
from tests.test_http_contracts import api


def write(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("callers")
    render(root, "billing", db="sqlite", broker="none")
    write(root / "billing" / "contracts" / "openapi.json", api())
    render(root, "orders", db="sqlite", broker="none", upstreams=("billing",))
    render(root, "shipping", db="sqlite", broker="none", upstreams=("billing", "orders"))
    return root


@pytest.fixture
def system(rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return system_copy(rendered, tmp_path, monkeypatch)


def http_checks(*args: str) -> tuple[int, list[dict[str, object]]]:
    code, out, err = msgen("check", "contracts", "--json", *args)
    assert code in (0, 1), err
    return code, json.loads(out)["http"]["checks"]


def test_new_service_copies_its_upstreams_documents(system: Path) -> None:
    copy = system / "orders" / "contracts" / "upstreams" / "billing.json"
    assert json.loads(copy.read_text()) == api()
    # orders had exported nothing when shipping was rendered
    assert not (system / "shipping" / "contracts" / "upstreams" / "orders.json").exists()
    # each copy has its typed client; no copy, no client
    clients = system / "shipping" / "src" / "shipping" / "clients"
    assert sorted(p.name for p in clients.glob("*.py")) == [
        "__init__.py",
        "billing.py",
        "billing_models.py",
    ]
    assert "class BillingClient:" in (system / "orders/src/orders/clients/billing.py").read_text()
    code, checks = http_checks()
    assert code == 0
    verdicts = {(c["caller"], c["upstream"]): c["verdict"] for c in checks}
    assert verdicts == {
        ("orders", "billing"): "compatible",
        ("shipping", "billing"): "compatible",
        ("shipping", "orders"): "unexported",
    }


def test_new_service_says_which_upstream_has_no_document(
    system: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = msgen("new", "service", "returns", "--broker", "none", "--upstream", "orders")
    assert code == 0
    assert "orders has no contracts/openapi.json yet: run its tests, then msgen update returns" in (
        " ".join(out.split())
    )


def test_a_breaking_change_fails_for_each_caller_and_the_update_takes_it(system: Path) -> None:
    write(system / "billing" / "contracts" / "openapi.json", api("new-required-field"))
    code, checks = http_checks()
    assert code == 1
    failing = {c["caller"] for c in checks if c["verdict"] == "incompatible"}
    assert failing == {"orders", "shipping"}
    problem = next(c for c in checks if c["caller"] == "orders")["problems"][0]
    assert problem == {
        "kind": "missing-field",
        "operation": "POST /invoices",
        "where": "request body: currency",
        "message": "billing requires it; orders does not send it",
    }
    code, out, _ = msgen("check", "contracts")
    assert code == 1
    assert "POST /invoices" in out
    assert "currency" in out
    assert "0 compatible, 2 failing, 1 not checked yet" in out
    # limited to orders (as caller or upstream): shipping's break with billing is not reported
    code, checks = http_checks("orders")
    assert [(c["caller"], c["upstream"], c["verdict"]) for c in checks] == [
        ("orders", "billing", "incompatible"),
        ("shipping", "orders", "unexported"),
    ]

    # a dry run says what it would write and writes nothing
    copy = system / "orders" / "contracts" / "upstreams" / "billing.json"
    models = system / "orders" / "src" / "orders" / "clients" / "billing_models.py"
    before, models_before = copy.read_text(), models.read_text()
    code, out, err = msgen("update", "orders", "--dry-run", "--json")
    assert code == 0, err
    [update] = json.loads(out)["services"]
    assert {c["path"]: c["status"] for c in update["changes"]} == {
        "contracts/upstreams/billing.json": "modified",
        "src/orders/clients/billing_models.py": "modified",
    }
    assert (copy.read_text(), models.read_text()) == (before, models_before)
    code, out, err = msgen("update", "orders")
    assert code == 0, err
    assert json.loads(copy.read_text()) == api("new-required-field")
    assert "    currency: " in models.read_text()  # the client sends what billing requires now
    code, checks = http_checks()
    assert {c["caller"]: c["verdict"] for c in checks if c["upstream"] == "billing"} == {
        "orders": "compatible",
        "shipping": "incompatible",
    }
    # the update took what there was to take: a second one changes nothing
    code, out, err = msgen("update", "orders", "--json")
    assert code == 0, err
    assert json.loads(out)["services"][0]["changes"] == []


def test_a_compatible_change_passes(system: Path) -> None:
    write(system / "billing" / "contracts" / "openapi.json", api("new-operation"))
    assert http_checks()[0] == 0


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        ("orders/contracts/upstreams/billing.json", "{not json", "is not valid JSON (line 1"),
        ("billing/contracts/openapi.json", '{"paths": []}', "is not an OpenAPI document"),
        ("billing/contracts/openapi.json", "[1, 2]", "is not an OpenAPI document of billing"),
        ("billing/contracts/openapi.json", b"\xff\xfe", "cannot read"),
    ],
)
def test_a_malformed_document_stops_the_check_with_one_line(
    system: Path, where: str, text: str | bytes, message: str
) -> None:
    path = system / where
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    code, out, err = msgen("check", "contracts")
    assert code == 1
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3  # the error, its hint
