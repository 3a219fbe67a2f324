"""``auth:`` in ``msgen.yaml``: the gateway lets only valid bearer tokens through.

A workspace with ``auth:`` renders the gateway with ``auth.py`` (token verification, no
scopes) and its tests; ``msgen update`` adds or removes it when ``auth:`` is added or
removed. The slow test puts a generated gateway and service behind msgen's development
issuer under uvicorn: the gateway refuses what has no valid token, forwards the token, and
the service verifies it again and checks its scopes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from msgen.issuer import load_keys, mint_token, serve_issuer
from msgen.render import templates_dir
from tests.clikit import answers, msgen, set_auth
from tests.servicekit import free_port, install, ruff_clean, run_own_tests, serve

AUTH = {"provider": "oidc", "issuer": "https://auth.example.com/realms/shop", "audience": "shop"}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    code, out, err = msgen("init", "--name", "shop", "--auth", "none")
    assert code == 0, out + err
    return tmp_path


def test_the_gateway_of_a_workspace_with_auth_verifies_tokens(workspace: Path) -> None:
    set_auth(workspace, AUTH)

    code, out, err = msgen("new", "gateway")

    assert code == 0, out + err
    gateway = workspace / "gateway"
    recorded = answers(gateway)
    assert recorded["auth"] is True
    assert recorded["auth_issuer"] == AUTH["issuer"]
    assert recorded["auth_audience"] == "shop"
    assert "db" not in recorded  # a constant of the template, not an answer
    settings = (gateway / "src" / "gateway" / "settings.py").read_text()
    assert f'auth_issuer: str = "{AUTH["issuer"]}"' in settings
    assert 'auth_audience: str = "shop"' in settings
    assert (gateway / "src" / "gateway" / "auth.py").is_file()
    assert (gateway / "tests" / "test_auth.py").is_file()
    assert '"pyjwt[crypto]>=2.13,<3"' in (gateway / "pyproject.toml").read_text()
    app_py = (gateway / "src" / "gateway" / "app.py").read_text()
    assert "app.include_router(proxy.router, dependencies=[Depends(authenticate)])" in app_py
    # The gateway forwards the caller's token itself: no client-credentials machinery.
    assert "credentials" not in (gateway / "src" / "gateway" / "resilience.py").read_text()
    ruff_clean(gateway)


def test_without_auth_the_gateway_checks_no_token(workspace: Path) -> None:
    code, out, err = msgen("new", "gateway")

    assert code == 0, out + err
    gateway = workspace / "gateway"
    assert answers(gateway)["auth"] is False
    assert not (gateway / "src" / "gateway" / "auth.py").exists()
    assert not (gateway / "tests" / "tokens.py").exists()
    assert "auth_" not in (gateway / "src" / "gateway" / "settings.py").read_text()
    assert "pyjwt" not in (gateway / "pyproject.toml").read_text()


def test_update_adds_and_removes_auth_of_the_gateway(workspace: Path) -> None:
    code, out, err = msgen("new", "gateway")
    assert code == 0, out + err
    auth_py = workspace / "gateway" / "src" / "gateway" / "auth.py"
    assert not auth_py.exists()

    set_auth(workspace, AUTH)
    code, out, err = msgen("update", "gateway")
    assert code == 0, out + err
    assert auth_py.is_file()
    assert answers(workspace / "gateway")["auth_issuer"] == AUTH["issuer"]

    set_auth(workspace, {**AUTH, "audience": "store"})
    code, out, err = msgen("update", "gateway")
    assert code == 0, out + err
    settings = workspace / "gateway" / "src" / "gateway" / "settings.py"
    assert 'auth_audience: str = "store"' in settings.read_text()

    set_auth(workspace, None)
    code, out, err = msgen("update", "gateway")
    assert code == 0, out + err
    assert not auth_py.exists()
    assert "auth_issuer" not in settings.read_text()


def top_level(source: str, name: str) -> str:
    """The top-level statement of ``source`` that defines ``name``, decorators included."""
    lines = source.splitlines()
    pattern = re.compile(rf"((async )?def|class) {re.escape(name)}\b|{re.escape(name)} = ")
    starts = [number for number, line in enumerate(lines) if pattern.match(line)]
    assert len(starts) == 1, f"{name} is defined {len(starts)} times"
    start = end = starts[0]
    while start > 0 and lines[start - 1].startswith("@"):
        start -= 1
    end += 1
    while end < len(lines) and (not lines[end] or lines[end][0] in " )]}"):
        end += 1
    return "\n".join(lines[start:end]).rstrip()


# What the gateway and the services must do alike: verify a token, and test that they do.
SAME_AS_THE_SERVICES = {
    "src/{{package_name}}/{% if auth %}auth.py{% endif %}.jinja": (
        "src/{{package_name}}/{% if auth and db != 'none' %}auth.py{% endif %}.jinja",
        ["ALGORITHMS", "InvalidToken", "Principal", "KeySet", "Verifier", "_challenge"],
    ),
    "tests/{% if auth %}test_auth.py{% endif %}.jinja": (
        "tests/{% if auth and db != 'none' %}test_auth.py{% endif %}.jinja",
        ["forged", "hs256_with_the_public_key", "without_subject", "BAD_TOKENS"],
    ),
    "tests/{% if auth %}tokens.py{% endif %}.jinja": (
        "tests/{% if auth and db != 'none' %}tokens.py{% endif %}.jinja",
        ["ISSUER", "unsigned", "bearer"],
    ),
}


@pytest.mark.parametrize(
    ("gateway_path", "service_path", "name"),
    [
        (gateway_path, service_path, name)
        for gateway_path, (service_path, names) in SAME_AS_THE_SERVICES.items()
        for name in names
    ],
)
def test_the_gateway_verifies_tokens_as_the_services_do(
    gateway_path: str, service_path: str, name: str
) -> None:
    root = templates_dir()
    gateway = (root / "gateway" / "template" / gateway_path).read_text()
    service = (root / "service" / "template" / service_path).read_text()
    assert top_level(gateway, name) == top_level(service, name)


@pytest.fixture
def issuer_url(workspace: Path) -> Iterator[str]:
    """msgen's development issuer for the workspace, on a free port, in a thread."""
    url = f"http://127.0.0.1:{free_port()}"
    set_auth(workspace, {"provider": "dev", "issuer": url, "audience": "shop"})
    server = serve_issuer(workspace, "127.0.0.1", int(url.rsplit(":", 1)[1]))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.slow
def test_the_gateway_lets_valid_tokens_through_and_the_service_checks_scopes(
    workspace: Path, issuer_url: str
) -> None:
    code, out, err = msgen("new", "service", "orders", "--db", "sqlite", "--broker", "none")
    assert code == 0, out + err
    code, out, err = msgen("new", "gateway")
    assert code == 0, out + err
    orders, gateway = workspace / "orders", workspace / "gateway"
    ruff_clean(gateway)
    gateway_python = install(gateway)
    output = run_own_tests(gateway, gateway_python)
    assert " passed" in output
    assert " failed" not in output
    orders_python = install(orders)
    keys = load_keys(workspace)

    def token(*scopes: str, audience: str = "shop") -> dict[str, str]:
        minted = mint_token(
            keys,
            issuer=issuer_url,
            audience=audience,
            subject="alice",
            scopes=scopes,
            ttl_seconds=300,
        )
        return {"Authorization": f"Bearer {minted}"}

    orders_env = {"DATABASE_URL": f"sqlite+aiosqlite:///{workspace / 'orders.db'}"}
    with (
        serve(orders, orders_python, "orders", orders_env) as orders_url,
        serve(gateway, gateway_python, "gateway", {"UPSTREAM_ORDERS_URL": orders_url}) as gw,
        httpx.Client(base_url=gw, timeout=15) as client,
    ):
        assert client.get("/health/ready").status_code == 200  # the probes need no token

        refused = client.get("/orders/orders")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="gateway"'
        elsewhere = client.get("/orders/orders", headers=token("orders:read", audience="other"))
        assert elsewhere.status_code == 401
        assert 'realm="gateway", error="invalid_token"' in elsewhere.headers["www-authenticate"]

        # The gateway lets a reader's token through; the service refuses it a change.
        reader = token("orders:read")
        assert client.get("/orders/orders", headers=reader).status_code == 200
        denied = client.post("/orders/orders", json={"name": "a"}, headers=reader)
        assert denied.status_code == 403, denied.text
        assert 'realm="orders", error="insufficient_scope"' in denied.headers["www-authenticate"]
        writer = token("orders:read", "orders:write")
        created = client.post("/orders/orders", json={"name": "a"}, headers=writer)
        assert created.status_code == 201, created.text
        no_scope = client.get("/orders/orders", headers=token())
        assert no_scope.status_code == 403  # valid at the gateway, not enough at the service

        # Zero trust: the service verifies the token itself, with or without the gateway.
        assert httpx.get(f"{orders_url}/orders", timeout=15).status_code == 401
        direct = httpx.get(f"{orders_url}/orders", headers=reader, timeout=15)
        assert direct.json()["total"] == 1
