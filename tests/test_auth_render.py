"""``auth:`` in ``msgen.yaml``: services verify bearer tokens from the workspace's issuer.

A workspace with ``auth:`` renders each service with a database with ``auth.py`` (token
verification, scopes) and its tests; ``msgen update`` adds or removes it when ``auth:`` is
added or removed. The slow test runs such a service's own suite, whose test_auth.py tries
every kind of bad token against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from msgen.workspace import load_workspace
from tests.clikit import answers, msgen, set_auth
from tests.servicekit import install, ruff_clean, run_own_tests

AUTH = {"provider": "oidc", "issuer": "https://auth.example.com/realms/shop", "audience": "shop"}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    code, out, err = msgen("init", "--name", "shop", "--auth", "none")
    assert code == 0, out + err
    return tmp_path


def test_a_service_of_a_workspace_with_auth_verifies_tokens_from_its_issuer(
    workspace: Path,
) -> None:
    set_auth(workspace, AUTH)

    code, out, err = msgen("new", "service", "orders", "--db", "sqlite")

    assert code == 0, out + err
    service = workspace / "orders"
    recorded = answers(service)
    assert recorded["auth"] is True
    assert recorded["auth_issuer"] == AUTH["issuer"]
    assert recorded["auth_audience"] == "shop"
    settings = (service / "src" / "orders" / "settings.py").read_text()
    assert f'auth_issuer: str = "{AUTH["issuer"]}"' in settings
    assert 'auth_audience: str = "shop"' in settings
    assert (service / "src" / "orders" / "auth.py").is_file()
    assert (service / "tests" / "test_auth.py").is_file()
    assert '"pyjwt[crypto]>=2.13,<3"' in (service / "pyproject.toml").read_text()
    ruff_clean(service)


def test_a_service_without_a_database_has_no_api_to_protect(workspace: Path) -> None:
    set_auth(workspace, AUTH)

    code, out, err = msgen("new", "service", "pinger", "--db", "none")

    assert code == 0, out + err
    assert answers(workspace / "pinger")["auth"] is False
    assert not (workspace / "pinger" / "src" / "pinger" / "auth.py").exists()


def test_update_adds_and_removes_auth_with_the_workspace(workspace: Path) -> None:
    code, out, err = msgen("new", "service", "orders", "--db", "sqlite")
    assert code == 0, out + err
    auth_py = workspace / "orders" / "src" / "orders" / "auth.py"
    assert not auth_py.exists()

    set_auth(workspace, AUTH)
    code, out, err = msgen("update", "orders")
    assert code == 0, out + err
    assert auth_py.is_file()
    assert answers(workspace / "orders")["auth_issuer"] == AUTH["issuer"]

    set_auth(workspace, None)
    code, out, err = msgen("update", "orders")
    assert code == 0, out + err
    assert not auth_py.exists()
    assert (
        "auth_issuer" not in (workspace / "orders" / "src" / "orders" / "settings.py").read_text()
    )


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"issuer": "ftp://example.com"}, "auth.issuer: must be the issuer's http(s) URL"),
        ({"provider": "ldap"}, "auth.provider"),
        ({"audience": "has space"}, "auth.audience"),
        ({"issuer": "https://a.example", "jwks": "x"}, "auth.jwks"),
    ],
)
def test_a_bad_auth_section_is_refused_naming_its_line(
    workspace: Path, auth: dict[str, str], message: str
) -> None:
    set_auth(workspace, auth)

    code, _, err = msgen("list")

    assert code == 2
    assert "Traceback" not in err
    assert f"{workspace / 'msgen.yaml'}:" in err.splitlines()[0]
    assert message in err.splitlines()[0]


def test_the_auth_section_round_trips(workspace: Path) -> None:
    set_auth(workspace, {"audience": "shop"})
    loaded = load_workspace(workspace / "msgen.yaml")
    assert loaded.model.auth is not None
    assert loaded.model.auth.issuer == "http://127.0.0.1:8900"
    loaded.save()
    again = load_workspace(workspace / "msgen.yaml").model.auth
    assert again == loaded.model.auth


@pytest.mark.slow
def test_a_service_with_auth_passes_its_own_tests(workspace: Path) -> None:
    """test_auth.py: no token, forged, expired, not yet valid, wrong audience and issuer,
    alg none, HS256 with the public key, key rotation, scopes; the rest with a token."""
    set_auth(workspace, AUTH)
    code, out, err = msgen("new", "service", "orders", "total:decimal", "--db", "sqlite")
    assert code == 0, out + err
    service = workspace / "orders"
    python = install(service)

    output = run_own_tests(service, python)

    assert " passed" in output
    assert " failed" not in output
