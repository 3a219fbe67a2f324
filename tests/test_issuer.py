"""msgen's development OpenID issuer: keys on disk, tokens, and its HTTP server over real HTTP."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from msgen.errors import AuthError, PortInUseError, UsageError
from msgen.issuer import (
    ISSUER_DIR,
    Client,
    IssuerServer,
    clients_from_env,
    ensure_client,
    load_clients,
    load_keys,
    mint_token,
    parse_ttl,
    public_jwks,
    read_claims,
    retire_old_keys,
    rotate_keys,
    serve_issuer,
    thumbprint,
)

WORKSPACE = """\
schema: 1
name: shop
auth:
  provider: dev
  audience: shop
services:
  orders:
    path: orders
    port: 8001
"""

# RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint.
RFC_7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
    "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vM"
    "QFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC_7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "msgen.yaml").write_text(WORKSPACE, encoding="utf-8")
    return tmp_path


@pytest.fixture
def serve(root: Path) -> Iterator[Callable[..., IssuerServer]]:
    """Start the issuer for ``root`` on a free port in a thread; stopped after the test."""
    running: list[tuple[IssuerServer, threading.Thread]] = []

    def start(**options: object) -> IssuerServer:
        server = serve_issuer(root, "127.0.0.1", 0, **options)  # type: ignore[arg-type]
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def verify(token: str, jwks_uri: str, *, issuer: str, audience: str = "shop") -> dict:
    """Verify as a service would: the key by ``kid`` from the served JWKS, then the claims."""
    key = jwt.PyJWKClient(jwks_uri, cache_jwk_set=False).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- keys -------------------------------------------------------------------------------


def test_thumbprint_is_rfc_7638() -> None:
    assert thumbprint({"kty": "RSA", "n": RFC_7638_N, "e": "AQAB"}) == RFC_7638_THUMBPRINT


def test_keys_are_created_once_private_and_git_ignored(root: Path) -> None:
    keys = load_keys(root)
    directory = root / ISSUER_DIR
    path = directory / "keys.json"
    assert mode(directory) == 0o700
    assert mode(path) == 0o600
    stored = json.loads(path.read_text())
    [jwk] = stored["keys"]
    assert jwk["kid"] == thumbprint(jwk) == keys.signing.kid
    assert {"d", "p", "q", "dp", "dq", "qi"} <= jwk.keys()
    assert jwk["alg"] == "RS256" and jwk["use"] == "sig"
    # 2048-bit modulus
    n = base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4))
    assert len(n) * 8 == 2048
    assert load_keys(root).kids == keys.kids  # read back, not made again
    assert not list(directory.glob(".*.tmp"))  # the atomic write left nothing behind
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        ignored = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "-q", ".msgen/issuer/keys.json"], check=False
        )
        assert ignored.returncode == 0


def test_an_existing_wide_directory_is_made_private(root: Path) -> None:
    (root / ISSUER_DIR).mkdir(parents=True, mode=0o755)
    (root / ISSUER_DIR).chmod(0o755)
    load_keys(root)
    assert mode(root / ISSUER_DIR) == 0o700


def test_concurrent_first_use_makes_one_key(root: Path) -> None:
    kids: list[str] = []
    threads = [
        threading.Thread(target=lambda: kids.append(load_keys(root).signing.kid)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(kids)) == 1
    assert load_keys(root).kids == kids[:1]


def test_load_without_create_refuses_missing_keys(root: Path) -> None:
    with pytest.raises(AuthError, match="no keys yet"):
        load_keys(root, create=False)
    assert not (root / ISSUER_DIR / "keys.json").exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"keys": {}}', "not a JWKS"),
        ('{"keys": []}', "has no keys"),
        ('{"keys": [{"kty": "EC"}]}', r"keys\[0\] is not an RSA key"),
    ],
)
def test_a_broken_keys_file_is_one_error(root: Path, text: str, problem: str) -> None:
    path = root / ISSUER_DIR / "keys.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(AuthError, match=problem) as caught:
        load_keys(root)
    assert str(path) in caught.value.message
    assert caught.value.hint and "remove" in caught.value.hint


def test_a_kid_that_is_not_the_thumbprint_is_refused(root: Path) -> None:
    load_keys(root)
    path = root / ISSUER_DIR / "keys.json"
    data = json.loads(path.read_text())
    data["keys"][0]["kid"] = "mine"
    path.write_text(json.dumps(data))
    with pytest.raises(AuthError, match="kid is not the key's thumbprint"):
        load_keys(root)


def test_public_jwks_has_only_public_parts(root: Path) -> None:
    keys = load_keys(root)
    [jwk] = public_jwks(keys)["keys"]
    assert jwk == {
        "kty": "RSA",
        "n": keys.signing.jwk["n"],
        "e": "AQAB",
        "kid": keys.signing.kid,
        "alg": "RS256",
        "use": "sig",
    }


# --- tokens -----------------------------------------------------------------------------


def test_mint_token_claims_and_header(root: Path) -> None:
    keys = load_keys(root)
    token = mint_token(
        keys,
        issuer="http://issuer",
        audience="shop",
        subject="alice",
        scopes=["orders:read", "orders:write", "orders:read"],
        ttl_seconds=600,
        client_id="cli",
    )
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] == keys.signing.kid
    key = jwt.PyJWK(public_jwks(keys)["keys"][0]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="shop", issuer="http://issuer")
    assert claims["sub"] == "alice" and claims["client_id"] == "cli"
    assert claims["scope"] == "orders:read orders:write"
    assert claims["exp"] - claims["iat"] == 600 and claims["nbf"] == claims["iat"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", claims["jti"])
    other = mint_token(
        keys, issuer="http://issuer", audience="shop", subject="alice", scopes=[], ttl_seconds=60
    )
    assert read_claims(other)["jti"] != claims["jti"]
    assert "client_id" not in read_claims(other) and read_claims(other)["scope"] == ""


def test_not_before_in_the_future_is_not_valid_yet(root: Path) -> None:
    keys = load_keys(root)
    token = mint_token(
        keys,
        issuer="http://issuer",
        audience="shop",
        subject="alice",
        scopes=["orders:read"],
        ttl_seconds=3600,
        not_before=int(time.time()) + 600,
    )
    key = jwt.PyJWK(public_jwks(keys)["keys"][0]).key
    with pytest.raises(jwt.ImmatureSignatureError):
        jwt.decode(token, key, algorithms=["RS256"], audience="shop")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"scopes": ["orders read"]}, "invalid scope"),
        ({"scopes": ['say"hi']}, "invalid scope"),
        ({"ttl_seconds": 0}, "out of range"),
        ({"ttl_seconds": 86401}, "out of range"),
        ({"subject": ""}, "subject"),
    ],
)
def test_mint_token_refuses_bad_input(root: Path, options: dict, problem: str) -> None:
    arguments = {
        "issuer": "http://issuer",
        "audience": "shop",
        "subject": "alice",
        "scopes": ["orders:read"],
        "ttl_seconds": 60,
        **options,
    }
    with pytest.raises(UsageError, match=problem):
        mint_token(load_keys(root), **arguments)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86400), ("90", 90)]
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["2d", "0s", "25h", "1w", "h", "-1m", "1.5h", ""])
def test_parse_ttl_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_ttl(text)


# --- clients ----------------------------------------------------------------------------


def test_ensure_client_keeps_its_secret_and_takes_new_scopes(root: Path) -> None:
    secret = ensure_client(root, "billing", ["orders:read"])
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) == 32
    path = root / ISSUER_DIR / "clients.json"
    assert mode(path) == 0o600
    assert ensure_client(root, "billing", ["orders:read", "orders:write"]) == secret
    assert load_clients(root)["billing"].scopes == ("orders:read", "orders:write")
    assert ensure_client(root, "shipping", ["orders:read"]) != secret
    assert set(json.loads(path.read_text())) == {"billing", "shipping"}


def test_ensure_client_refuses_bad_names_and_scopes(root: Path) -> None:
    with pytest.raises(UsageError, match="invalid client_id"):
        ensure_client(root, "a:b", ["orders:read"])
    with pytest.raises(UsageError, match="invalid scope"):
        ensure_client(root, "billing", ["orders read"])


# --- the server -------------------------------------------------------------------------


def test_discovery_document(root: Path, serve: Callable[..., IssuerServer]) -> None:
    ensure_client(root, "billing", ["payments:charge"])
    server = serve()
    response = httpx.get(f"{server.url}/.well-known/openid-configuration")
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == server.issuer == server.url
    assert document["jwks_uri"] == f"{server.url}/.well-known/jwks.json"
    assert document["token_endpoint"] == f"{server.url}/token"
    assert document["grant_types_supported"] == ["client_credentials"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["scopes_supported"] == ["orders:read", "orders:write", "payments:charge"]


def test_a_given_issuer_url_is_announced(serve: Callable[..., IssuerServer]) -> None:
    server = serve(issuer="http://issuer.test:8900/")
    document = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert document["issuer"] == "http://issuer.test:8900"
    assert document["token_endpoint"] == "http://issuer.test:8900/token"


def test_token_verifies_against_the_served_jwks(
    root: Path, serve: Callable[..., IssuerServer]
) -> None:
    server = serve()
    discovery = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    token = mint_token(
        load_keys(root),
        issuer=server.issuer,
        audience="shop",
        subject="alice",
        scopes=["orders:write"],
        ttl_seconds=60,
    )
    claims = verify(token, discovery["jwks_uri"], issuer=discovery["issuer"])
    assert claims["sub"] == "alice" and claims["scope"] == "orders:write"
    with pytest.raises(jwt.InvalidAudienceError):
        verify(token, discovery["jwks_uri"], issuer=discovery["issuer"], audience="other")


def test_unknown_paths_and_wrong_methods(serve: Callable[..., IssuerServer]) -> None:
    server = serve()
    assert httpx.get(f"{server.url}/nothing").status_code == 404
    wrong = httpx.get(f"{server.url}/token")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert httpx.post(f"{server.url}/.well-known/jwks.json").status_code == 405


def test_client_credentials_grant(root: Path, serve: Callable[..., IssuerServer]) -> None:
    secret = ensure_client(root, "billing", ["orders:read", "orders:write"])
    server = serve(ttl_seconds=300)
    basic = httpx.post(
        f"{server.url}/token", data={"grant_type": "client_credentials"}, auth=("billing", secret)
    )
    assert basic.status_code == 200, basic.text
    assert basic.headers["cache-control"] == "no-store"
    body = basic.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["scope"] == "orders:read orders:write"  # default: all of the client's scopes
    claims = verify(
        body["access_token"], f"{server.url}/.well-known/jwks.json", issuer=server.issuer
    )
    assert claims["sub"] == claims["client_id"] == "billing"
    assert claims["aud"] == "shop"  # the workspace's auth.audience
    assert claims["scope"] == body["scope"]
    assert claims["exp"] - claims["iat"] == 300

    post = httpx.post(
        f"{server.url}/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "billing",
            "client_secret": secret,
            "scope": "orders:read",
        },
    )
    assert post.status_code == 200, post.text
    assert post.json()["scope"] == "orders:read"
    assert read_claims(post.json()["access_token"])["scope"] == "orders:read"


def test_clients_registered_while_running_are_known_at_once(
    root: Path, serve: Callable[..., IssuerServer]
) -> None:
    server = serve()
    secret = ensure_client(root, "late", ["orders:read"])
    response = httpx.post(
        f"{server.url}/token", data={"grant_type": "client_credentials"}, auth=("late", secret)
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, ("billing", "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, ("nobody", "SECRET"), 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "billing", "client_secret": "wrong"},
            None,
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "scope": "orders:read orders:delete"},
            ("billing", "SECRET"),
            400,
            "invalid_scope",
        ),
        ({"grant_type": "password"}, ("billing", "SECRET"), 400, "unsupported_grant_type"),
        ({}, ("billing", "SECRET"), 400, "invalid_request"),
        (
            {"grant_type": "client_credentials", "client_secret": "SECRET"},
            ("billing", "SECRET"),
            400,
            "invalid_request",
        ),
    ],
)
def test_client_credentials_errors(
    root: Path,
    serve: Callable[..., IssuerServer],
    data: dict,
    auth: tuple[str, str] | None,
    status: int,
    error: str,
) -> None:
    secret = ensure_client(root, "billing", ["orders:read"])
    server = serve()
    data = {k: v.replace("SECRET", secret) for k, v in data.items()}
    if auth is not None:
        auth = (auth[0], auth[1].replace("SECRET", secret))
    response = httpx.post(f"{server.url}/token", data=data, auth=auth)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic ")


def test_token_requests_that_are_not_forms(root: Path, serve: Callable[..., IssuerServer]) -> None:
    secret = ensure_client(root, "billing", ["orders:read"])
    server = serve()
    as_json = httpx.post(
        f"{server.url}/token", json={"grant_type": "client_credentials"}, auth=("billing", secret)
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    twice = httpx.post(
        f"{server.url}/token",
        content="grant_type=client_credentials&grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("billing", secret),
    )
    assert twice.status_code == 400 and "more than once" in twice.json()["error_description"]


def test_rotation_keeps_old_tokens_valid_until_retired(
    root: Path, serve: Callable[..., IssuerServer]
) -> None:
    server = serve()
    jwks_uri = f"{server.url}/.well-known/jwks.json"

    def token() -> str:
        return mint_token(
            load_keys(root),
            issuer=server.issuer,
            audience="shop",
            subject="alice",
            scopes=["orders:read"],
            ttl_seconds=60,
        )

    old_kid = load_keys(root).signing.kid
    old_token = token()
    rotated = rotate_keys(root)
    assert rotated.kids[1] == old_kid and rotated.signing.kid != old_kid
    served = [jwk["kid"] for jwk in httpx.get(jwks_uri).json()["keys"]]
    assert served == rotated.kids  # re-read from disk: the rotation is served at once
    new_token = token()
    assert jwt.get_unverified_header(new_token)["kid"] == rotated.signing.kid
    assert verify(old_token, jwks_uri, issuer=server.issuer)["sub"] == "alice"
    assert verify(new_token, jwks_uri, issuer=server.issuer)["sub"] == "alice"

    retired = retire_old_keys(root)
    assert retired.kids == [rotated.signing.kid]
    assert [jwk["kid"] for jwk in httpx.get(jwks_uri).json()["keys"]] == retired.kids
    with pytest.raises(jwt.PyJWKClientError):
        verify(old_token, jwks_uri, issuer=server.issuer)
    assert verify(new_token, jwks_uri, issuer=server.issuer)["sub"] == "alice"


def test_a_broken_keys_file_is_a_server_error(
    root: Path, serve: Callable[..., IssuerServer]
) -> None:
    server = serve()
    (root / ISSUER_DIR / "keys.json").write_text("{not json")
    response = httpx.get(f"{server.url}/.well-known/jwks.json")
    assert response.status_code == 500 and response.json()["error"] == "server_error"


def test_a_taken_port_is_one_error(root: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port}"):
            serve_issuer(root, "127.0.0.1", port)


def test_runs_as_a_process(root: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "msgen.issuer", "--root", str(root), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        document = httpx.get(f"{match.group(1)}/.well-known/openid-configuration").json()
        assert document["issuer"] == match.group(1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_the_process_reports_a_taken_port(root: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "msgen.issuer", "--root", str(root), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert proc.returncode == 1
    assert f"error: port {port} on 127.0.0.1 is taken" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- in a container: clients from the environment, keys read-only -------------------------

ENV_CLIENTS = {
    "T_BILLING_ID": "billing",
    "T_BILLING_SECRET": "s3cret-billing",
    "T_BILLING_SCOPES": "orders:read  orders:write",
    "T_ORDER_ITEMS_ID": "order-items",
    "T_ORDER_ITEMS_SECRET": "s3cret-items",
    "OTHER": "ignored",
}


def test_clients_from_env() -> None:
    assert clients_from_env("T_", ENV_CLIENTS) == {
        "billing": Client("billing", "s3cret-billing", ("orders:read", "orders:write")),
        "order-items": Client("order-items", "s3cret-items", ()),
    }
    assert clients_from_env("NONE_", ENV_CLIENTS) == {}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"T_BILLING_SCOPE": "x"}, "T_BILLING_SCOPE: a client variable is T_<KEY>_ID"),
        ({"T_ID": "x"}, "T_ID: a client variable is"),
        ({"T_BILLING_SECRET": ""}, "T_BILLING_SECRET is missing or empty"),
        ({"T_PAY_SECRET": "s3cret-pay"}, "T_PAY_ID is missing or empty"),
        ({"T_BILLING_ID": "bad id"}, "T_BILLING_ID: invalid client_id"),
        ({"T_BILLING_SCOPES": 'a"b'}, "T_BILLING_SCOPES: invalid scope"),
        ({"T_PAY_ID": "billing", "T_PAY_SECRET": "x"}, "client 'billing' is given twice"),
    ],
)
def test_clients_from_env_refuses_what_is_not_a_client(change: dict, problem: str) -> None:
    with pytest.raises(AuthError) as caught:
        clients_from_env("T_", {**ENV_CLIENTS, **change})
    assert problem in caught.value.message
    assert "s3cret" not in caught.value.message


def test_clients_from_env_refuses_a_bad_prefix() -> None:
    with pytest.raises(UsageError, match="invalid client variable prefix"):
        clients_from_env("T-", ENV_CLIENTS)


def test_clients_from_env_replace_clients_json(
    root: Path, serve: Callable[..., IssuerServer]
) -> None:
    stored = ensure_client(root, "stored", ["orders:read"])
    server = serve(clients=clients_from_env("T_", ENV_CLIENTS))
    form = {"grant_type": "client_credentials", "scope": "orders:read"}
    token = httpx.post(f"{server.url}/token", data=form, auth=("billing", "s3cret-billing"))
    assert token.status_code == 200, token.text
    assert httpx.post(f"{server.url}/token", data=form, auth=("stored", stored)).status_code == 401
    document = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert "orders:write" in document["scopes_supported"]


def test_given_scopes_are_announced(serve: Callable[..., IssuerServer]) -> None:
    server = serve(scopes=["stock:read", "orders:read"], clients={})
    document = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert document["scopes_supported"] == ["orders:read", "stock:read"]


def test_read_only_serves_the_keys_and_writes_nothing(
    root: Path, serve: Callable[..., IssuerServer]
) -> None:
    keys = load_keys(root)
    state = root / ISSUER_DIR
    before = {p.name: p.read_bytes() for p in state.iterdir()}
    server = serve(read_only=True, clients={})
    assert httpx.get(f"{server.url}/.well-known/jwks.json").json() == public_jwks(keys)
    (state / "keys.json").unlink()  # removed while running: not made again
    response = httpx.get(f"{server.url}/.well-known/jwks.json")
    assert response.status_code == 500 and "no keys yet" in response.json()["error_description"]
    assert sorted(p.name for p in state.iterdir()) == sorted(set(before) - {"keys.json"})


def test_read_only_without_keys_is_one_error(root: Path) -> None:
    with pytest.raises(AuthError, match="has no keys yet") as caught:
        serve_issuer(root, "127.0.0.1", 0, read_only=True)
    assert caught.value.hint is not None and "msgen token" in caught.value.hint
    assert not (root / ".msgen").exists()


def test_the_process_refuses_a_bad_client_environment(root: Path) -> None:
    load_keys(root)
    env = {**os.environ, "T_BILLING_ID": "billing", "T_BILLING_SECRET": "s3cret", "T_X": "y"}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "msgen.issuer", "--root", str(root), "--port", "0"),
            *("--client-env", "T_", "--read-only"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: T_X: a client variable is T_<KEY>_ID")
    assert "Traceback" not in proc.stderr and "s3cret" not in proc.stderr
