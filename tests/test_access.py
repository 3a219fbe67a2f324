"""A service's own ``auth:`` in ``msgen.yaml``: scopes per entity and operation, forwarding.

The section is checked when the workspace is read (one line naming ``msgen.yaml:LINE``,
nothing written), rendered into the service's ``auth.py`` and settings by ``msgen update``,
and granted to the callers' clients at the development issuer. The slow test runs the
generated service's own suite, whose test_auth.py tries each overridden operation with
and without its scope.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from msgen.access import client_scopes, service_scopes, system_scopes
from msgen.workspace import load_workspace
from tests.clikit import answers, edit_workspace, msgen
from tests.servicekit import install, mypy_clean, ruff_clean, run_own_tests

UPSTREAMS = ("--upstream", "billing", "--upstream", "customers", "--ci", "none")
SCOPES = {
    "Order": {
        "write": "orders:manage",
        "delete": "orders:admin",
        "ship": "orders:ship",
        "get": "orders:peek",
    }
}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """orders (Order with a ship command) calling billing and customers, with auth: dev."""
    monkeypatch.chdir(tmp_path)
    for args in (
        ("init", "--name", "shop"),
        ("new", "service", "billing", "--db", "sqlite", "--ci", "none"),
        ("new", "service", "customers", "--db", "sqlite", "--ci", "none"),
        ("new", "service", "orders", "total:decimal", "status:enum(new, shipped)=new", *UPSTREAMS),
        ("add", "command", "orders", "Order", "ship", "--from", "new", "--to", "shipped"),
    ):
        code, out, err = msgen(*args)
        assert code == 0, out + err
    return tmp_path


def set_service_auth(root: Path, name: str, auth: dict[str, Any] | None) -> None:
    def change(document: Any) -> None:
        if auth is None:
            document["services"][name].pop("auth", None)
        else:
            document["services"][name]["auth"] = auth

    edit_workspace(root, change)


def test_init_makes_a_secure_workspace_unless_told_otherwise(tmp_path: Path) -> None:
    code, out, err = msgen("init", str(tmp_path / "a"), "--name", "a")
    assert code == 0, out + err
    auth = load_workspace(tmp_path / "a" / "msgen.yaml").model.auth
    assert auth is not None
    assert (auth.provider, auth.issuer, auth.audience) == ("dev", "http://127.0.0.1:8900", "msgen")
    assert "msgen token --scope" in out

    code, out, err = msgen("init", str(tmp_path / "b"), "--name", "b", "--auth", "none")
    assert code == 0, out + err
    assert load_workspace(tmp_path / "b" / "msgen.yaml").model.auth is None
    assert "auth:" not in (tmp_path / "b" / "msgen.yaml").read_text()

    issuer = "https://kc.example.com/realms/shop"
    code, out, err = msgen(
        "init", str(tmp_path / "c"), "-n", "c", "--auth", "oidc", "--issuer", issuer
    )
    assert code == 0, out + err
    auth = load_workspace(tmp_path / "c" / "msgen.yaml").model.auth
    assert auth is not None
    assert (auth.provider, auth.issuer) == ("oidc", issuer)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--auth", "oidc"), "--auth oidc needs --issuer URL"),
        (("--auth", "dev", "--issuer", "ftp://x"), "--issuer: must be the issuer's http(s) URL"),
        (("--auth", "none", "--audience", "shop"), "--issuer and --audience need --auth dev"),
        (("--audience", "has space"), "--audience: String should match pattern"),
    ],
)
def test_bad_auth_options_of_init_are_one_line_and_write_nothing(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, err = msgen("init", str(tmp_path / "w"), *args)
    assert code == 2
    assert err.startswith(f"error: {message}"), err
    assert "Traceback" not in err
    assert not (tmp_path / "w" / "msgen.yaml").exists()


def test_a_new_service_in_an_empty_directory_gets_a_secure_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = msgen("new", "service", "orders", "--ci", "none")
    assert code == 0, out + err
    assert "APIs require tokens" in out
    assert load_workspace(tmp_path / "msgen.yaml").model.auth is not None
    assert answers(tmp_path / "orders")["auth"] is True


def test_scopes_and_forwarding_render_into_the_service(workspace: Path) -> None:
    set_service_auth(workspace, "orders", {"scopes": SCOPES, "forward": ["customers"]})

    code, out, err = msgen("update", "orders")

    assert code == 0, out + err
    service = workspace / "orders"
    recorded = answers(service)
    assert recorded["auth_scopes"] == SCOPES
    assert recorded["auth_forward_upstreams"] == ["customers"]
    auth_py = (service / "src" / "orders" / "auth.py").read_text()
    for route, scope in {
        "get_order": "orders:peek",
        "create_order": "orders:manage",
        "update_order": "orders:manage",
        "delete_order": "orders:admin",
        "ship_order": "orders:ship",
    }.items():
        assert f'    "{route}": "{scope}",\n' in auth_py
    assert '"list_orders"' not in auth_py  # reads keep orders:read
    settings = (service / "src" / "orders" / "settings.py").read_text()
    assert 'default_factory=lambda: [\n            "customers",\n' in settings
    assert 'AUTH_FORWARD_UPSTREAMS=["customers"]' in (service / ".env.example").read_text()
    assert (
        "test_each_scope_set_in_msgen_yaml_guards_its_operation"
        in (service / "tests" / "test_auth.py").read_text()
    )
    ruff_clean(service)

    set_service_auth(workspace, "orders", None)
    code, out, err = msgen("update", "orders")
    assert code == 0, out + err
    assert answers(service)["auth_scopes"] == {}
    assert (
        "OPERATION_SCOPES: dict[str, str] = {}"
        in (service / "src" / "orders" / "auth.py").read_text()
    )


def test_the_issuer_grants_callers_every_scope_of_their_upstreams(workspace: Path) -> None:
    set_service_auth(workspace, "orders", {"scopes": SCOPES})
    set_service_auth(workspace, "billing", {"scopes": {"Billing": {"write": "billing:charge"}}})
    model = load_workspace(workspace / "msgen.yaml").model

    orders_scopes = [
        "orders:read",
        "orders:write",
        *(s for m in SCOPES.values() for s in m.values()),
    ]
    assert service_scopes("orders", model.services["orders"]) == orders_scopes
    assert client_scopes(model, "orders") == [
        "billing:read",
        "billing:write",
        "billing:charge",
        "customers:read",
        "customers:write",
    ]
    assert client_scopes(model, "billing") == []
    assert set(system_scopes(model)) == {
        *orders_scopes,
        "billing:read",
        "billing:write",
        "billing:charge",
        "customers:read",
        "customers:write",
    }


@pytest.mark.parametrize(
    ("auth", "key", "message"),
    [
        (
            {"scopes": {"Invoice": {"read": "x:y"}}},
            "auth.scopes.Invoice",
            "Invoice is not an entity",
        ),
        ({"scopes": {"Order": {"erase": "x:y"}}}, "auth.scopes.Order.erase", "'erase' is not an"),
        ({"scopes": {"Order": {"read": "has space"}}}, "auth.scopes.Order.read", "pattern"),
        ({"forward": ["payments"]}, "auth.forward.0", "'payments' is not an upstream"),
        ({"grants": []}, "auth.grants", "unknown key"),
    ],
)
def test_a_bad_service_auth_section_is_refused_naming_its_line(
    workspace: Path, auth: dict[str, Any], key: str, message: str
) -> None:
    set_service_auth(workspace, "orders", auth)
    before = (workspace / "orders" / ".copier-answers.yml").read_text()

    code, _, err = msgen("update", "orders")

    assert code == 2, err
    first = err.splitlines()[0]
    assert f"{workspace / 'msgen.yaml'}:" in first
    assert f"services.orders.{key}" in first
    assert message in first, first
    assert "Traceback" not in err
    assert (workspace / "orders" / ".copier-answers.yml").read_text() == before


def test_a_command_that_only_events_run_has_no_route_to_guard(workspace: Path) -> None:
    def change(document: Any) -> None:
        commands = document["services"]["orders"]["entities"]["Order"].setdefault("commands", {})
        commands["record"] = {"to": "new"}
        document["services"]["orders"]["auth"] = {"scopes": {"Order": {"record": "x:y"}}}

    edit_workspace(workspace, change)
    code, _, err = msgen("list")
    assert code == 2
    assert "Order.record creates from events: it has no route to guard" in err.splitlines()[0]


def test_a_gateway_takes_no_scopes(workspace: Path) -> None:
    code, out, err = msgen("new", "gateway")
    assert code == 0, out + err
    set_service_auth(workspace, "gateway", {"scopes": {"Order": {"read": "x:y"}}})
    code, _, err = msgen("list")
    assert code == 2
    assert "services.gateway.auth.scopes: a gateway checks no scopes" in err.splitlines()[0]


@pytest.mark.slow
def test_a_service_with_scopes_set_in_msgen_yaml_passes_its_own_tests(workspace: Path) -> None:
    """Its test_auth.py refuses each overridden operation without its scope, and lets it
    through with it; the entity tests run with a token carrying every scope."""
    set_service_auth(workspace, "orders", {"scopes": SCOPES, "forward": ["customers"]})
    code, out, err = msgen("update", "orders")
    assert code == 0, out + err
    service = workspace / "orders"
    python = install(service)
    mypy_clean(service, python)

    output = run_own_tests(service, python)

    assert " passed" in output
    assert " failed" not in output
