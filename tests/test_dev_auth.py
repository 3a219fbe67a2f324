"""``msgen dev up`` in a workspace with ``auth: {provider: dev}``: the development issuer.

The issuer runs first as one of the dev processes (pid file, log, ``dev ps``, ``dev down``),
each service that verifies tokens is a client of it with its upstreams' scopes, and the
services accept its tokens: the slow tests bring such a system up with real processes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import msgen as msgen_package
from msgen import devrun
from msgen.cli import app
from msgen.devrun import ISSUER, DevOptions, ProcessSpec, plan, register_clients, to_start
from msgen.errors import DevRunError, UsageError, WorkspaceInvalidError
from msgen.issuer import ensure_client, load_clients
from msgen.workspace import load_workspace
from tests.servicekit import free_port, render

WORKSPACE = """\
schema: 1
name: shop
auth:
  provider: {provider}
  issuer: {issuer}
  audience: shop
services:
  orders:
    path: orders
    port: {orders}
  billing:
    path: billing
    port: {billing}
    upstreams: [orders]
  edge:
    kind: gateway
    path: edge
    port: {edge}
    db: none
"""


def write_workspace(root: Path, *, provider: str = "dev", issuer: str | None = None) -> Path:
    ports = {"orders": free_port(), "billing": free_port(), "edge": free_port()}
    issuer = issuer or f"http://127.0.0.1:{free_port()}"
    root.mkdir(parents=True, exist_ok=True)
    text = WORKSPACE.format(provider=provider, issuer=issuer, **ports)
    (root / "msgen.yaml").write_text(text, encoding="utf-8")
    return root / "msgen.yaml"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split(") ", 1)[1][0] != "Z"


def refuses(url: str) -> bool:
    try:
        httpx.get(url, timeout=2, trust_env=False)
    except httpx.ConnectError:
        return True
    return False


# --- plan, clients, ports: no service processes ---------------------------------------


def test_plan_puts_the_issuer_first_on_the_port_of_auth_issuer(tmp_path: Path) -> None:
    port = free_port()
    workspace = load_workspace(write_workspace(tmp_path, issuer=f"http://127.0.0.1:{port}"))

    specs = {spec.name: spec for spec in plan(workspace, DevOptions())}

    assert list(specs) == [ISSUER, "orders", "billing", "edge"]
    issuer = specs[ISSUER]
    assert issuer.argv() == [
        sys.executable,
        "-m",
        "msgen.issuer",
        "--root",
        str(tmp_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--issuer",
        f"http://127.0.0.1:{port}",
        "--audience",
        "shop",
    ]
    assert issuer.venv is None and issuer.stage < specs["orders"].stage
    assert issuer.url == f"http://127.0.0.1:{port}"
    assert issuer.health_path == "/.well-known/openid-configuration"
    assert issuer.env["PYTHONPATH"] == str(Path(msgen_package.__file__).resolve().parents[1])
    # Services that verify tokens become clients with their upstreams' scopes; a gateway,
    # which forwards its callers' tokens, does not.
    assert specs["billing"].client_scopes == ("orders:read", "orders:write")
    assert specs["orders"].client_scopes == ()
    assert specs["edge"].client_scopes == ()  # a gateway's client: readiness checks only
    assert specs["billing"].env["AUTH_ISSUER"] == f"http://127.0.0.1:{port}"
    assert specs["billing"].env["AUTH_AUDIENCE"] == "shop"
    # plan has no side effects: no client, no secret yet.
    assert "AUTH_CLIENT_SECRET" not in specs["billing"].env
    assert not (tmp_path / ".msgen").exists()


def test_plan_runs_no_issuer_for_an_external_one(tmp_path: Path) -> None:
    path = write_workspace(tmp_path, provider="oidc", issuer="https://auth.example.com/realms/x")

    specs = plan(load_workspace(path), DevOptions())

    assert [spec.name for spec in specs] == ["orders", "billing", "edge"]
    assert all(spec.client_scopes is None for spec in specs)
    assert specs[1].env["AUTH_ISSUER"] == "https://auth.example.com/realms/x"
    assert register_clients(load_workspace(path), specs) == specs
    assert not (tmp_path / ".msgen").exists()


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("https://127.0.0.1:8900", "serves plain HTTP"),
        ("http://127.0.0.1", "name the development issuer's port"),
        ("http://127.0.0.1:8900/realms/shop", "at the root of its URL"),
        ("http://127.0.0.1:8900/", "at the root of its URL"),
        ("http://127.0.0.1:{orders}", "is also the port of orders"),
    ],
)
def test_an_issuer_url_the_dev_issuer_cannot_serve_is_refused_with_its_line(
    tmp_path: Path, issuer: str, problem: str
) -> None:
    path = write_workspace(tmp_path)
    model = load_workspace(path).model
    assert model.auth is not None
    wanted = issuer.format(orders=model.services["orders"].port)
    path.write_text(path.read_text().replace(model.auth.issuer, wanted))

    with pytest.raises(WorkspaceInvalidError) as caught:
        plan(load_workspace(path), DevOptions())

    assert caught.value.message.startswith(f"{path}:5: auth.issuer: ")
    assert problem in caught.value.message


def test_register_clients_gives_each_service_its_secret_in_its_env_only(tmp_path: Path) -> None:
    path = write_workspace(tmp_path)
    before = path.read_text()
    workspace = load_workspace(path)

    specs = {s.name: s for s in register_clients(workspace, plan(workspace, DevOptions()))}

    clients = load_clients(tmp_path)
    assert clients["billing"].scopes == ("orders:read", "orders:write")
    assert clients["orders"].scopes == ()
    assert clients["edge"].scopes == ()
    assert set(clients) == {"orders", "billing", "edge"}
    assert specs["billing"].env["AUTH_CLIENT_SECRET"] == clients["billing"].secret
    assert specs["orders"].env["AUTH_CLIENT_SECRET"] == clients["orders"].secret
    assert specs["edge"].env["AUTH_CLIENT_SECRET"] == clients["edge"].secret
    assert "AUTH_CLIENT_SECRET" not in specs[ISSUER].env
    clients_file = tmp_path / ".msgen" / "issuer" / "clients.json"
    assert stat.S_IMODE(clients_file.stat().st_mode) == 0o600
    assert path.read_text() == before
    # Again (the next dev up): the same secret.
    again = {s.name: s for s in register_clients(workspace, plan(workspace, DevOptions()))}
    assert again["billing"].env["AUTH_CLIENT_SECRET"] == clients["billing"].secret


def test_a_running_issuer_is_used_and_a_running_service_refused(tmp_path: Path) -> None:
    workspace = load_workspace(write_workspace(tmp_path))
    specs = plan(workspace, DevOptions(services=("orders",)))
    issuer = next(spec for spec in specs if spec.name == ISSUER)
    run = tmp_path / ".msgen" / "run"
    run.mkdir(parents=True)
    record = {"name": ISSUER, "pid": os.getpid(), "port": issuer.port, "url": issuer.url}
    (run / f"{ISSUER}.pid").write_text(json.dumps(record))

    starting, reused = to_start(workspace, specs)

    assert [spec.name for spec in starting] == ["orders"]
    assert [(r.name, r.pid) for r in reused] == [(ISSUER, os.getpid())]

    (run / "orders.pid").write_text(
        json.dumps({"name": "orders", "pid": os.getpid(), "port": 1, "url": "http://x"})
    )
    with pytest.raises(UsageError, match=f"orders is already running \\(pid {os.getpid()}\\)"):
        to_start(workspace, specs)
    # An issuer recorded at another URL (auth.issuer changed) is not silently reused.
    (run / "orders.pid").unlink()
    record["url"] = "http://127.0.0.1:1"
    (run / f"{ISSUER}.pid").write_text(json.dumps(record))
    with pytest.raises(UsageError, match=f"{ISSUER} is already running"):
        to_start(workspace, specs)


def test_dev_up_refuses_when_another_program_holds_the_issuer_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    write_workspace(tmp_path, issuer=f"http://127.0.0.1:{port}")
    monkeypatch.chdir(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = CliRunner().invoke(app, ["dev", "up", "--detach"], terminal_width=200)

    assert result.exit_code == 1, result.output
    comm = Path("/proc/self/comm").read_text().strip()
    assert result.stderr.splitlines() == [
        f"error: port {port} of {ISSUER} is already in use by pid {os.getpid()} ({comm})",
        "hint: stop that process, or change auth.issuer in msgen.yaml",
    ]
    assert not (tmp_path / ".msgen" / "run").exists()
    assert not (tmp_path / ".msgen" / "issuer").exists()  # refused before any client


def test_the_issuer_stage_is_ready_before_the_next_stage_starts(tmp_path: Path) -> None:
    workspace = load_workspace(write_workspace(tmp_path))
    issuer = plan(workspace, DevOptions())[0]
    static_port = free_port()
    static = ProcessSpec(
        name="static",
        directory=tmp_path,
        args=("-m", "http.server", str(static_port), "--bind", "127.0.0.1"),
        env={},
        port=static_port,
        host="127.0.0.1",
        port_setting="-",
        health_path="/",
    )
    discovery = f"{issuer.url}/.well-known/openid-configuration"
    seen: dict[str, bool] = {}

    def launch(spec: ProcessSpec) -> devrun.Running:
        seen[spec.name] = not refuses(discovery)
        with devrun.log_file(workspace, spec.name) as log:
            return devrun.start(spec, log=log, on_line=None)

    started: list[devrun.Running] = []
    try:
        devrun.start_in_stages([static, issuer], launch, started, timeout=30)
        assert [r.spec.name for r in started] == [ISSUER, "static"]
        assert seen == {ISSUER: False, "static": True}
        document = httpx.get(discovery, trust_env=False).json()
        assert document["issuer"] == issuer.url
    finally:
        devrun.terminate(started, grace=5)
    assert all(r.process.poll() is not None for r in started)


def test_an_issuer_that_cannot_listen_is_reported_by_name(tmp_path: Path) -> None:
    workspace = load_workspace(write_workspace(tmp_path))
    issuer = plan(workspace, DevOptions())[0]

    def launch(spec: ProcessSpec) -> devrun.Running:
        with devrun.log_file(workspace, spec.name) as log:
            return devrun.start(spec, log=log, on_line=None)

    started: list[devrun.Running] = []
    with socket.socket() as holder:  # taken after check_ports: the issuer exits
        holder.bind(("127.0.0.1", issuer.port))
        holder.listen()
        try:
            with pytest.raises(DevRunError, match=f"{ISSUER} exited with code 1 before"):
                devrun.start_in_stages([issuer], launch, started, timeout=30)
        finally:
            devrun.terminate(started, grace=5)
    log = (tmp_path / ".msgen" / "logs" / f"{ISSUER}.log").read_text()
    assert f"error: port {issuer.port} on 127.0.0.1 is taken" in log


# --- real processes ---------------------------------------------------------------------


def msgen_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(Path(msgen_package.__file__).resolve().parents[1])
    return env


def msgen(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "msgen", *args],
        cwd=cwd,
        env=msgen_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token(root: Path, *scopes: str) -> str:
    result = msgen("token", *(arg for scope in scopes for arg in ("--scope", scope)), cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def client_token(issuer: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """orders (sqlite) and billing (an upstream: orders), with the development issuer."""
    root = tmp_path / "shop"
    root.mkdir()
    issuer = f"http://127.0.0.1:{free_port()}"
    (root / "msgen.yaml").write_text(
        f"schema: 1\nname: shop\nauth:\n  provider: dev\n  issuer: {issuer}\n  audience: shop\n",
        encoding="utf-8",
    )
    render(root, "orders", db="sqlite", broker="none", port=free_port())
    render(root, "billing", db="sqlite", broker="none", upstreams=("orders",), port=free_port())
    made = msgen("new", "gateway", "--port", str(free_port()), "--ci", "none", cwd=root)
    assert made.returncode == 0, made.stdout + made.stderr
    return root


@pytest.mark.slow
def test_detached_system_with_the_development_issuer(shop: Path) -> None:
    root = shop
    model = load_workspace(root / "msgen.yaml").model
    assert model.auth is not None
    issuer = model.auth.issuer
    orders = f"http://127.0.0.1:{model.services['orders'].port}/orders"
    workspace_text = (root / "msgen.yaml").read_text()

    up = msgen("dev", "up", "--detach", cwd=root)
    assert up.returncode == 0, up.stdout + up.stderr
    pids: dict[str, int] = {}
    try:
        rows = json.loads(msgen("dev", "ps", "--json", cwd=root).stdout)
        pids = {row["service"]: row["pid"] for row in rows}
        assert set(pids) == {ISSUER, "orders", "billing", "gateway"}
        assert all(row["running"] for row in rows)
        assert {row["service"]: row["url"] for row in rows}[ISSUER] == issuer
        assert (
            (root / ".msgen" / "logs" / f"{ISSUER}.log")
            .read_text()
            .startswith(f"msgen development issuer {issuer} listening on {issuer}")
        )

        anonymous = httpx.get(orders, trust_env=False)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        reader = token(root, "orders:read")
        assert httpx.get(orders, headers=bearer(reader), trust_env=False).status_code == 200
        created = httpx.post(orders, json={"name": "x"}, headers=bearer(reader), trust_env=False)
        assert created.status_code == 403, created.text
        writer = token(root, "orders:write")
        created = httpx.post(orders, json={"name": "x"}, headers=bearer(writer), trust_env=False)
        assert created.status_code == 201, created.text
        ready = httpx.get(orders.replace("/orders", "/health/ready"), trust_env=False)
        assert ready.status_code == 200

        # CRUD through the gateway with a token; without one, 401 everywhere but health.
        gateway = f"http://127.0.0.1:{model.services['gateway'].port}"
        crud = bearer(token(root, "orders:read", "orders:write"))
        with httpx.Client(base_url=gateway, trust_env=False, timeout=15) as via:
            made = via.post("/orders/orders", json={"name": "g"}, headers=crud)
            assert made.status_code == 201, made.text
            one = f"/orders/orders/{made.json()['id']}"
            assert via.get(one, headers=crud).json()["name"] == "g"
            changed = via.patch(one, json={"name": "h"}, headers=crud)
            assert changed.status_code == 200, changed.text
            for method, path in [("GET", "/orders/orders"), ("GET", one), ("PATCH", one)]:
                assert via.request(method, path, json={}).status_code == 401, (method, path)
            assert via.request("DELETE", one).status_code == 401
            assert via.delete(one, headers=crud).status_code == 204
            assert via.get(one, headers=crud).status_code == 404
            # The gateway's readiness checks carry its own client-credentials token.
            assert via.get("/health/ready").status_code == 200

        # billing is a client with orders' scopes; its secret is in its environment only.
        clients_file = root / ".msgen" / "issuer" / "clients.json"
        assert stat.S_IMODE(clients_file.stat().st_mode) == 0o600
        clients = json.loads(clients_file.read_text())
        assert clients["billing"]["scopes"] == ["orders:read", "orders:write"]
        assert clients["gateway"]["scopes"] == []
        gateway_environ = Path(f"/proc/{pids['gateway']}/environ").read_bytes().split(b"\0")
        gateway_secret = clients["gateway"]["secret"]
        assert f"AUTH_CLIENT_SECRET={gateway_secret}".encode() in gateway_environ
        secret = clients["billing"]["secret"]
        environ = Path(f"/proc/{pids['billing']}/environ").read_bytes().split(b"\0")
        assert f"AUTH_CLIENT_SECRET={secret}".encode() in environ
        assert (root / "msgen.yaml").read_text() == workspace_text
        outside = [
            path
            for path in root.rglob("*")
            if path.is_file() and ".msgen" not in path.relative_to(root).parts
        ]
        assert outside and not any(secret.encode() in path.read_bytes() for path in outside)

        # A client-credentials token of billing is accepted by orders; other scopes are not.
        as_billing = bearer(client_token(issuer, "billing", secret))
        assert httpx.get(orders, headers=as_billing, trust_env=False).status_code == 200
        other = bearer(client_token(issuer, "other", ensure_client(root, "other", ["other:read"])))
        assert httpx.get(orders, headers=other, trust_env=False).status_code == 403

        # Another dev up uses the running issuer.
        assert msgen("dev", "down", "orders", cwd=root).returncode == 0
        again = msgen("dev", "up", "--detach", "orders", cwd=root)
        assert again.returncode == 0, again.stdout + again.stderr
        rows = json.loads(msgen("dev", "ps", "--json", cwd=root).stdout)
        assert {row["service"]: row["pid"] for row in rows}[ISSUER] == pids[ISSUER]
        pids.update({row["service"]: row["pid"] for row in rows})
        assert httpx.get(orders, headers=as_billing, trust_env=False).status_code == 200
    finally:
        down = msgen("dev", "down", cwd=root)
        assert down.returncode == 0, down.stderr
    assert f"{ISSUER} (pid {pids[ISSUER]}): stopped" in down.stdout
    assert not any(alive(pid) for pid in pids.values())
    assert msgen("dev", "ps", "--json", cwd=root).stdout.strip() == "[]"
    assert refuses(f"{issuer}/.well-known/openid-configuration") and refuses(orders)


@pytest.mark.slow
def test_foreground_starts_the_issuer_first_and_sigterm_stops_it(shop: Path) -> None:
    root = shop
    model = load_workspace(root / "msgen.yaml").model
    assert model.auth is not None
    issuer = model.auth.issuer
    orders = f"http://127.0.0.1:{model.services['orders'].port}/orders"
    proc = subprocess.Popen(
        [sys.executable, "-m", "msgen", "dev", "up", "orders"],
        cwd=root,
        env=msgen_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops every service" in line:
                break
        reader = token(root, "orders:read")
        assert httpx.get(orders, headers=bearer(reader), trust_env=False).status_code == 200
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
        lines.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    output = "".join(lines)
    assert proc.returncode == 0, output
    prefixed = [line.split(" | ", 1)[0].strip() for line in output.splitlines() if " | " in line]
    assert prefixed[0] == ISSUER and "orders" in prefixed
    assert f"{ISSUER} | msgen development issuer {issuer} listening on {issuer}" in output
    assert "billing" not in prefixed  # only what was asked for, and the issuer
    assert refuses(f"{issuer}/.well-known/openid-configuration") and refuses(orders)
