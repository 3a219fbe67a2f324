"""Identity and access in Compose and Kubernetes (``auth:`` in ``msgen.yaml``).

Compose with ``provider: dev`` runs msgen's development issuer as a container built from
``deploy/issuer/``: the compose file validates against both Compose Specification schemas,
holds no secret, and wires every service that verifies tokens to the issuer (the internal
JWKS and token URLs, its client secret from ``.env``, ``depends_on`` healthy). The build
context is self-sufficient: a fresh virtual environment with only its requirements runs a
copy of it with the compose file's command and environment, serves the host's keys and the
clients of ``.env``, and accepts a token ``msgen token`` would mint on the host. With
``provider: oidc`` nothing of the issuer is there. Kubernetes: ``AUTH_CLIENT_SECRET`` is a
Secret key, the issuer and audience are in the ConfigMap, and ``k8s generate`` warns once
about the development issuer.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from msgen.cli import app
from msgen.deploy import ensure_issuer_keys, generate_compose
from msgen.devrun import DevOptions, plan
from msgen.errors import UsageError
from msgen.issuer import STANDALONE_MODULES, load_keys, mint_token, public_jwks
from msgen.manifests.compose import (
    BUILD_ARGS,
    ISSUER_CLIENT_PREFIX,
    compose_files,
    env_prefix,
    select_infra,
)
from msgen.manifests.issuer_image import ISSUER_CONTEXT_DIR, REQUIREMENTS
from msgen.manifests.k8s import SUPPORTED_VERSIONS, k8s_files
from msgen.workspace import AuthSettings, Workspace, load_workspace
from tests.manifestkit import THREE_SERVICES, compose_errors, k8s_errors, yaml_documents
from tests.servicekit import run, uv
from tests.test_manifest_properties import workspaces

runner = CliRunner()
ISSUER_URL = "http://127.0.0.1:8900"
OIDC_URL = "https://auth.example.com/realms/shop"
VERIFYING = ("orders", "billing", "gateway")
"""THREE_SERVICES' services that verify tokens: both have a database, and the gateway."""
REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(?::[?-][^}]*)?\}")


def workspace_text(**auth: str) -> str:
    data = yaml.safe_load(THREE_SERVICES)
    if auth:
        data["auth"] = auth
    return yaml.safe_dump(data, sort_keys=False)


def model(**auth: str) -> Workspace:
    return Workspace.model_validate(yaml.safe_load(workspace_text(**auth)))


def dev() -> Workspace:
    return model(provider="dev", issuer=ISSUER_URL, audience="shop")


def oidc() -> Workspace:
    return model(provider="oidc", issuer=OIDC_URL, audience="shop")


def files_of(workspace: Workspace) -> dict[str, str]:
    return {f.path: f.text for f in compose_files(workspace, select_infra(workspace))}


def compose_of(workspace: Workspace) -> dict[str, Any]:
    return yaml.safe_load(files_of(workspace)["docker-compose.yml"])


def body(text: str) -> str:
    """A generated file's text without msgen's two header lines."""
    return text.split("\n", 2)[2]


def dotenv(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name: value for name, value in pairs if not name.startswith("#")}


def interpolate(value: str, env: dict[str, str]) -> str:
    """What Compose makes of a value, given ``.env``; a missing variable fails the test."""

    def one(match: re.Match[str]) -> str:
        assert env.get(match.group(1)), f"{match.group(1)} is not set in .env"
        return env[match.group(1)]

    return REFERENCE.sub(one, value).replace("$$", "$")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A workspace on disk with ``auth: {provider: dev}``, generated as ``compose generate``."""
    (tmp_path / "msgen.yaml").write_text(
        workspace_text(provider="dev", issuer=ISSUER_URL, audience="shop")
    )
    generate_compose(load_workspace(tmp_path / "msgen.yaml"))
    return tmp_path


# --- the compose file -----------------------------------------------------------------


@pytest.mark.parametrize("make", [dev, oidc], ids=["dev", "oidc"])
def test_compose_file_with_auth_validates_against_both_schemas(make) -> None:
    assert compose_errors(compose_of(make())) == []


def test_the_issuer_container(tmp_path: Path) -> None:
    issuer = compose_of(dev())["services"]["issuer"]
    assert issuer["build"]["context"] == ISSUER_CONTEXT_DIR
    assert issuer["build"]["args"]["BASE_IMAGE"] == "${BASE_IMAGE:-python:3.11-slim}"
    # It announces auth.issuer, listens on its port, and is published on 127.0.0.1 only.
    command = issuer["command"]
    assert command[command.index("--issuer") + 1] == ISSUER_URL
    assert command[command.index("--port") + 1] == "8900"
    assert command[command.index("--audience") + 1] == "shop"
    assert command[command.index("--client-env") + 1] == ISSUER_CLIENT_PREFIX
    assert "--read-only" in command
    assert issuer["ports"] == ["127.0.0.1:8900:8900"]
    # The host's keys, read-only, as the host user from .env (never the image's root).
    assert issuer["user"].startswith("${ISSUER_UID:?") and ":${ISSUER_GID:?" in issuer["user"]
    assert issuer["volumes"] == [
        {
            "type": "bind",
            "source": "./.msgen/issuer",
            "target": "/workspace/.msgen/issuer",
            "read_only": True,
            "bind": {"create_host_path": False},
        }
    ]
    assert "/.well-known/openid-configuration" in issuer["healthcheck"]["test"][-1]


def test_each_verifying_service_is_wired_to_the_issuer() -> None:
    services = compose_of(dev())["services"]
    for name in VERIFYING:
        env = services[name]["environment"]
        assert env["AUTH_ISSUER"] == ISSUER_URL and env["AUTH_AUDIENCE"] == "shop"
        assert env["AUTH_JWKS_URL"] == "http://issuer:8900/.well-known/jwks.json"
        assert env["AUTH_TOKEN_URL"] == "http://issuer:8900/token"
        assert env["AUTH_CLIENT_ID"] == name
        secret = f"{env_prefix(name)}_AUTH_CLIENT_SECRET"
        assert env["AUTH_CLIENT_SECRET"].startswith(f"${{{secret}:?")
        assert services[name]["depends_on"]["issuer"] == {"condition": "service_healthy"}
        # The issuer knows the same client, with the same secret reference.
        key = f"{ISSUER_CLIENT_PREFIX}{env_prefix(name)}"
        issuer_env = services["issuer"]["environment"]
        assert issuer_env[f"{key}_ID"] == name
        assert issuer_env[f"{key}_SECRET"] == env["AUTH_CLIENT_SECRET"]


def test_a_service_without_a_database_is_no_client() -> None:
    data = yaml.safe_load(workspace_text(provider="dev", issuer=ISSUER_URL, audience="shop"))
    data["services"]["stock"] = {"path": "stock", "port": 8003, "db": "none"}
    services = compose_of(Workspace.model_validate(data))["services"]
    assert not any(key.startswith("AUTH_") for key in services["stock"]["environment"])
    assert "issuer" not in services["stock"].get("depends_on", {})
    assert not any("STOCK" in key for key in services["issuer"]["environment"])


def test_client_scopes_are_the_ones_dev_up_registers(shop: Path) -> None:
    issuer_env = yaml.safe_load((shop / "docker-compose.yml").read_text())["services"]["issuer"][
        "environment"
    ]
    specs = plan(load_workspace(shop / "msgen.yaml"), DevOptions())
    registered = {spec.name: spec for spec in specs if spec.client_scopes is not None}
    clients = {
        key.removeprefix(ISSUER_CLIENT_PREFIX).removesuffix("_ID"): value
        for key, value in issuer_env.items()
        if key.endswith("_ID")
    }
    assert sorted(clients.values()) == sorted(registered) == sorted(VERIFYING)
    for key, name in clients.items():
        scopes = issuer_env[f"{ISSUER_CLIENT_PREFIX}{key}_SCOPES"].split()
        assert scopes == list(registered[name].client_scopes or ()), name
    assert issuer_env[f"{ISSUER_CLIENT_PREFIX}BILLING_SCOPES"] == "orders:read orders:write"


def test_oidc_has_no_issuer_container_and_secrets_to_fill_in(tmp_path: Path) -> None:
    files = files_of(oidc())
    assert not any(path.startswith(f"{ISSUER_CONTEXT_DIR}/") for path in files)
    services = yaml.safe_load(files["docker-compose.yml"])["services"]
    assert "issuer" not in services
    for name in VERIFYING:
        env = services[name]["environment"]
        assert env["AUTH_ISSUER"] == OIDC_URL and env["AUTH_AUDIENCE"] == "shop"
        assert env["AUTH_JWKS_URL"] == "${AUTH_JWKS_URL:-}"  # empty: discovery
        assert env["AUTH_CLIENT_SECRET"].startswith(f"${{{env_prefix(name)}_AUTH_CLIENT_SECRET:?")
        assert "issuer" not in services[name].get("depends_on", {})
    # .env gets the variables empty: the secrets are the issuer's (Keycloak's), not msgen's.
    (tmp_path / "msgen.yaml").write_text(
        workspace_text(provider="oidc", issuer=OIDC_URL, audience="shop")
    )
    generate_compose(load_workspace(tmp_path / "msgen.yaml"))
    env = dotenv(tmp_path / ".env")
    assert env["BILLING_AUTH_CLIENT_SECRET"] == "" and env["AUTH_JWKS_URL"] == ""
    assert "ISSUER_UID" not in env
    assert not (tmp_path / ISSUER_CONTEXT_DIR).exists()


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("https://127.0.0.1:8900", "serves plain HTTP"),
        ("http://127.0.0.1", "name the development issuer's port"),
        ("http://127.0.0.1:8900/realms/shop", "at the root of its URL"),
        ("http://127.0.0.1:8001", "also the port of orders"),
    ],
)
def test_an_issuer_url_the_container_cannot_serve_is_refused(issuer: str, problem: str) -> None:
    workspace = model(provider="dev", issuer=issuer, audience="shop")
    with pytest.raises(UsageError, match=problem):
        compose_files(workspace, select_infra(workspace))


def test_a_service_named_issuer_is_refused_with_the_dev_issuer() -> None:
    data = yaml.safe_load(workspace_text(provider="dev", issuer=ISSUER_URL, audience="shop"))
    data["services"]["issuer"] = {"path": "issuer", "port": 8003}
    workspace = Workspace.model_validate(data)
    with pytest.raises(UsageError, match="name of the development issuer's container"):
        compose_files(workspace, select_infra(workspace))


def test_an_infrastructure_ui_leaves_the_issuer_port_alone() -> None:
    workspace = model(provider="dev", issuer="http://127.0.0.1:3000", audience="shop")
    services = compose_of(workspace)["services"]
    assert services["issuer"]["ports"] == ["127.0.0.1:3000:3000"]
    assert "ports" not in services["grafana"]


# --- the files on disk: .env, the build context ----------------------------------------


def test_env_holds_the_client_secrets_and_the_host_user(shop: Path) -> None:
    env = dotenv(shop / ".env")
    secrets = [env[f"{env_prefix(name)}_AUTH_CLIENT_SECRET"] for name in VERIFYING]
    assert all(len(secret) >= 32 for secret in secrets) and len(set(secrets)) == 3
    uid = os.getuid() or 10001  # never root
    gid = os.getgid() if os.getuid() else 10001
    assert (env["ISSUER_UID"], env["ISSUER_GID"]) == (str(uid), str(gid))
    example = (shop / ".env.example").read_text()
    for name in (
        "ISSUER_UID",
        "ISSUER_GID",
        *(f"{n.upper()}_AUTH_CLIENT_SECRET" for n in VERIFYING),
    ):
        assert f"\n{name}=\n" in example
    compose = (shop / "docker-compose.yml").read_text()
    assert not any(secret in compose for secret in secrets)
    assert stat.S_IMODE((shop / ".env").stat().st_mode) == 0o600


def test_the_keys_directory_is_made_private_and_the_keys_by_compose_up(shop: Path) -> None:
    directory = shop / ".msgen" / "issuer"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert not (directory / "keys.json").exists()  # generate stays deterministic
    assert ensure_issuer_keys(load_workspace(shop / "msgen.yaml")) is True
    assert stat.S_IMODE((directory / "keys.json").stat().st_mode) == 0o600


def test_the_build_context_carries_exactly_the_issuer_modules(shop: Path) -> None:
    import msgen

    context = shop / ISSUER_CONTEXT_DIR
    copied = sorted(p.name for p in (context / "msgen").iterdir())
    assert copied == sorted(STANDALONE_MODULES)
    source = Path(msgen.__file__).parent
    for name in STANDALONE_MODULES:
        assert body((context / "msgen" / name).read_text()) == (source / name).read_text()
    assert sorted(p.name for p in context.iterdir()) == [
        ".msgen-outputs.json",
        "Dockerfile",
        "msgen",
        "requirements.txt",
    ]


def test_the_dockerfile_is_slim_pinned_and_non_root(shop: Path) -> None:
    dockerfile = (shop / ISSUER_CONTEXT_DIR / "Dockerfile").read_text()
    assert f"ARG BASE_IMAGE={BUILD_ARGS['BASE_IMAGE']}\nFROM ${{BASE_IMAGE}}\n" in dockerfile
    assert "pip install --no-cache-dir --requirement /opt/issuer/requirements.txt" in dockerfile
    assert "COPY msgen/ /opt/issuer/msgen/" in dockerfile and "PYTHONPATH=/opt/issuer" in dockerfile
    users = re.findall(r"^USER (.+)$", dockerfile, re.MULTILINE)
    assert users == ["10001:10001"]
    assert dockerfile.rstrip().endswith(
        'ENTRYPOINT ["python", "-m", "msgen.issuer"]\n'
        'CMD ["--root", "/workspace", "--host", "0.0.0.0", "--read-only"]'
    )
    requirements = body((shop / ISSUER_CONTEXT_DIR / "requirements.txt").read_text()).split()
    assert requirements == list(REQUIREMENTS)
    for requirement in requirements:
        assert re.search(r">=[\d.]+,<\d+$", requirement), requirement


def test_removing_auth_removes_the_issuer(shop: Path) -> None:
    (shop / "msgen.yaml").write_text(THREE_SERVICES)
    generate_compose(load_workspace(shop / "msgen.yaml"))
    left = [p.name for p in (shop / ISSUER_CONTEXT_DIR).rglob("*")]
    assert left == [".msgen-outputs.json"]  # msgen's record of what it wrote, now empty
    assert "issuer" not in yaml.safe_load((shop / "docker-compose.yml").read_text())["services"]


# --- the build context runs on its own ---------------------------------------------------


@pytest.fixture(scope="module")
def issuer_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding only the build context's requirements."""
    home = tmp_path_factory.mktemp("issuer-venv")
    requirements = home / "requirements.txt"
    requirements.write_text("".join(f"{line}\n" for line in REQUIREMENTS))
    venv = home / "venv"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=home)
    python = venv / "bin" / "python"
    run(
        [uv(), "pip", "install", "--quiet", "--python", str(python), "-r", str(requirements)],
        cwd=home,
    )
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def container(tmp_path: Path, shop: Path) -> tuple[Path, Path]:
    """The image's file tree: the context's msgen/ in /opt/issuer, the keys mounted."""
    app_dir = tmp_path / "opt-issuer"
    shutil.copytree(shop / ISSUER_CONTEXT_DIR / "msgen", app_dir / "msgen")
    root = tmp_path / "workspace"
    (root / ".msgen").mkdir(parents=True)
    (root / ".msgen" / "issuer").symlink_to(shop / ".msgen" / "issuer")  # the bind mount
    return app_dir, root


def container_env(app_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """What the image sets (PYTHONPATH) and what Compose adds; nothing from this process."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(app_dir),
        "PYTHONUNBUFFERED": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }


def test_the_build_context_serves_the_host_keys_and_the_env_clients(
    tmp_path: Path, shop: Path, issuer_python: Path
) -> None:
    workspace = load_workspace(shop / "msgen.yaml")
    ensure_issuer_keys(workspace)  # what `msgen compose up` does first
    state = shop / ".msgen" / "issuer"
    before = {p.name: p.read_bytes() for p in state.iterdir()}
    app_dir, root = container(tmp_path, shop)
    service = yaml.safe_load((shop / "docker-compose.yml").read_text())["services"]["issuer"]
    dotenv_values = dotenv(shop / ".env")
    env = {
        name: interpolate(value, dotenv_values) for name, value in service["environment"].items()
    }
    port = free_port()
    args = [interpolate(arg, dotenv_values) for arg in service["command"]]
    args[args.index("--root") + 1] = str(root)
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    proc = subprocess.Popen(
        [str(issuer_python), "-m", "msgen.issuer", *args],
        cwd=root,
        env=container_env(app_dir, env),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"msgen development issuer {ISSUER_URL} listening on" in line, (
            line + proc.stderr.read()
        )
        assert "clients from ISSUER_CLIENT_*: billing, gateway, orders" in proc.stderr.readline()
        url = f"http://127.0.0.1:{port}"
        discovery = httpx.get(f"{url}/.well-known/openid-configuration").json()
        assert discovery["issuer"] == ISSUER_URL
        assert discovery["token_endpoint"] == f"{ISSUER_URL}/token"
        # The scopes of every service's API, as `msgen dev up`'s issuer announces them.
        assert discovery["scopes_supported"] == sorted(
            ["orders:read", "orders:write", "billing:read", "billing:write"]
        )
        keys = load_keys(shop)
        assert httpx.get(f"{url}/.well-known/jwks.json").json() == public_jwks(keys)

        def verify(token: str) -> dict[str, Any]:
            jwks = jwt.PyJWKClient(f"{url}/.well-known/jwks.json", cache_jwk_set=False)
            key = jwks.get_signing_key_from_jwt(token).key
            return jwt.decode(token, key, algorithms=["RS256"], audience="shop", issuer=ISSUER_URL)

        # A client of .env gets a token for its scopes, and only with its secret.
        secret = dotenv_values["BILLING_AUTH_CLIENT_SECRET"]
        form = {"grant_type": "client_credentials", "scope": "orders:read"}
        response = httpx.post(f"{url}/token", data=form, auth=("billing", secret))
        assert response.status_code == 200, response.text
        claims = verify(response.json()["access_token"])
        assert (claims["sub"], claims["scope"]) == ("billing", "orders:read")
        refused = httpx.post(f"{url}/token", data=form, auth=("billing", secret + "x"))
        assert refused.status_code == 401
        more = {**form, "scope": "billing:write"}
        assert httpx.post(f"{url}/token", data=more, auth=("billing", secret)).status_code == 400
        # A token minted on the host (msgen token) verifies against the container's JWKS.
        host_token = mint_token(
            keys,
            issuer=workspace.model.auth.issuer,  # type: ignore[union-attr]
            audience="shop",
            subject="developer",
            scopes=["orders:write"],
            ttl_seconds=300,
        )
        assert verify(host_token)["scope"] == "orders:write"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()  # type: ignore[union-attr]
    # It wrote nothing beside the keys (no clients.json): the mount is read-only.
    assert {p.name: p.read_bytes() for p in state.iterdir()} == before


def test_the_build_context_without_keys_is_one_error(
    tmp_path: Path, shop: Path, issuer_python: Path
) -> None:
    app_dir, root = container(tmp_path, shop)
    proc = subprocess.run(
        [
            *(str(issuer_python), "-m", "msgen.issuer", "--root", str(root), "--port", "0"),
            *("--read-only", "--client-env", ISSUER_CLIENT_PREFIX),
        ],
        cwd=root,
        env=container_env(app_dir, {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "error: the development issuer has no keys yet" in proc.stderr
    assert "hint: create them where they are mounted from: msgen token" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (shop / ".msgen" / "issuer" / "keys.json").exists()


# --- Kubernetes ---------------------------------------------------------------------------


def by_path(workspace: Workspace) -> dict[str, dict[str, Any]]:
    return {f.path: yaml.safe_load(f.text) for f in k8s_files(workspace) if "kustom" not in f.path}


@pytest.mark.parametrize("make", [dev, oidc], ids=["dev", "oidc"])
def test_k8s_services_expect_their_client_secret(make) -> None:
    workspace = make()
    files = by_path(workspace)
    for name in VERIFYING:
        deployment = files[f"deploy/k8s/{name}/deployment-v1.yaml"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert "AUTH_CLIENT_SECRET" in annotations["msgen.dev/secret-keys"].split(",")
        env_from = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"secretRef": {"name": f"{name}-env", "optional": False}} in env_from
        config = files[f"deploy/k8s/{name}/configmap.yaml"]["data"]
        assert config["AUTH_ISSUER"] == workspace.auth.issuer  # type: ignore[union-attr]
        assert config["AUTH_AUDIENCE"] == "shop"
        assert "AUTH_CLIENT_SECRET" not in config


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_k8s_objects_with_auth_validate_strictly(version: str) -> None:
    docs = [doc for f in k8s_files(oidc()) for doc in yaml_documents(f.text)]
    docs = [doc for doc in docs if doc["kind"] != "Kustomization"]
    assert [e for doc in docs for e in k8s_errors(doc, version)] == []


def test_k8s_without_auth_has_no_client_secret() -> None:
    for path, document in by_path(model()).items():
        assert "AUTH_" not in yaml.safe_dump(document), path


@pytest.mark.parametrize(
    ("auth", "warned"),
    [
        ({"provider": "dev", "issuer": ISSUER_URL, "audience": "shop"}, True),
        ({"provider": "oidc", "issuer": OIDC_URL, "audience": "shop"}, False),
        ({}, False),
    ],
)
def test_k8s_generate_warns_once_about_the_development_issuer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auth: dict[str, str], warned: bool
) -> None:
    (tmp_path / "msgen.yaml").write_text(workspace_text(**auth))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["k8s", "generate"], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "development issuer" in line]
    if warned:
        assert lines == [
            f"warning: the development issuer ({ISSUER_URL}) is not deployed in Kubernetes: "
            "use an OIDC issuer there (auth.provider: oidc, see docs/auth.md)"
        ]
    else:
        assert lines == []


# --- any workspace ------------------------------------------------------------------------


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(workspace=workspaces(), provider=st.sampled_from(["dev", "oidc"]))
def test_every_workspace_with_auth_validates(workspace: Workspace, provider: str) -> None:
    assume(all(svc.port != 8900 for svc in workspace.services.values()))
    issuer = ISSUER_URL if provider == "dev" else OIDC_URL
    auth = AuthSettings(provider=provider, issuer=issuer)  # type: ignore[arg-type]
    workspace = workspace.model_copy(update={"auth": auth})
    document = yaml.safe_load(compose_files(workspace, select_infra(workspace))[0].text)
    assert compose_errors(document) == []
    for name, service in document["services"].items():
        secret = service.get("environment", {}).get("AUTH_CLIENT_SECRET")
        assert secret is None or REFERENCE.fullmatch(secret), name
    for generated in k8s_files(workspace):
        for doc in yaml_documents(generated.text):
            if doc["kind"] in {"Deployment", "ConfigMap"}:
                assert k8s_errors(doc, SUPPORTED_VERSIONS[-1]) == []
