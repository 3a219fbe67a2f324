"""``msgen token``: tokens from the development issuer, refused for other issuers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from msgen.cli import app
from msgen.issuer import load_keys, public_jwks, serve_issuer

runner = CliRunner()

WORKSPACE = """\
schema: 1
name: shop
auth:
  provider: dev
  issuer: http://127.0.0.1:8900
  audience: shop
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "msgen.yaml").write_text(WORKSPACE, encoding="utf-8")
    (tmp_path / "orders").mkdir()
    monkeypatch.chdir(tmp_path / "orders")  # the workspace is found from a subdirectory
    return tmp_path


def decode(token: str, root: Path, audience: str = "shop") -> dict:
    [jwk] = public_jwks(load_keys(root, create=False))["keys"]
    return jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=audience,
        issuer="http://127.0.0.1:8900",
    )


def test_prints_a_signed_token(workspace: Path) -> None:
    result = runner.invoke(app, ["token", "--scope", "orders:write", "-s", "orders:read"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == f"{token}\n"  # only the token: $(msgen token ...) works
    claims = decode(token, workspace)
    assert claims["scope"] == "orders:write orders:read"
    assert claims["sub"] == "developer"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(token)["kid"] == load_keys(workspace).signing.kid


def test_subject_lifetime_and_audience(workspace: Path) -> None:
    result = runner.invoke(
        app,
        [
            *("token", "-s", "orders:read orders:write", "--sub", "alice"),
            *("--ttl", "15m", "--audience", "reports"),
        ],
    )
    assert result.exit_code == 0, result.output
    claims = decode(result.stdout.strip(), workspace, audience="reports")
    assert claims["sub"] == "alice"
    assert claims["scope"] == "orders:read orders:write"
    assert claims["exp"] - claims["iat"] == 900


def test_json(workspace: Path) -> None:
    result = runner.invoke(app, ["token", "--scope", "orders:read", "--ttl", "30s", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["token_type"] == "Bearer" and data["expires_in"] == 30
    assert data["scope"] == "orders:read"
    assert data["kid"] == load_keys(workspace).signing.kid
    assert data["claims"] == decode(data["access_token"], workspace)
    assert data["claims"]["aud"] == "shop"


def test_the_running_issuer_publishes_the_key_of_msgen_token(workspace: Path) -> None:
    result = runner.invoke(app, ["token", "-s", "orders:read"])
    assert result.exit_code == 0, result.output
    server = serve_issuer(workspace, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        token = result.stdout.strip()
        key = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json").get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="shop")
        assert claims["scope"] == "orders:read"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


def test_refuses_a_workspace_without_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "msgen.yaml").write_text("schema: 1\nname: shop\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["token", "-s", "orders:read"])
    assert result.exit_code == 2
    assert "no auth: section" in one_line_error(result)
    assert not (tmp_path / ".msgen" / "issuer").exists()


def test_refuses_another_issuer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "msgen.yaml").write_text(
        "schema: 1\nname: shop\nauth:\n  provider: oidc\n"
        "  issuer: https://keycloak.example/realms/shop\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["token", "-s", "orders:read"])
    assert result.exit_code == 2
    assert one_line_error(result) == (
        "error: the workspace's issuer is https://keycloak.example/realms/shop; get tokens from it"
    )
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ttl", "2d"], "out of range"),
        (["--ttl", "soon"], "invalid token lifetime"),
        (["-s", 'orders"read'], "invalid scope"),
        (["--sub", ""], "subject"),
    ],
)
def test_bad_options_exit_2(workspace: Path, argv: list[str], message: str) -> None:
    result = runner.invoke(app, ["token", "-s", "orders:read", *argv])
    assert result.exit_code == 2, result.output
    assert message in one_line_error(result)
    assert not (workspace / ".msgen" / "issuer").exists()  # refused before any key is made


def test_outside_a_workspace(in_tmp: Path) -> None:
    result = runner.invoke(app, ["token", "-s", "orders:read"])
    assert result.exit_code == 1
    assert "no msgen.yaml" in one_line_error(result)


def test_help_does_not_import_the_issuer() -> None:
    probe = (
        "import sys\nfrom msgen.cli import main\nsys.argv = ['msgen', 'token', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = set(proc.stderr.rsplit("MODULES ", 1)[1].split())
    heavy = {"jwt", "cryptography", "msgen.issuer", "msgen.workspace", "http.server"}
    assert sorted(m for m in modules if m in heavy or m.split(".")[0] in heavy) == []
    assert "--scope" in proc.stdout
