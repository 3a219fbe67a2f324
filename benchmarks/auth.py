"""Cost of token verification: requests/s of a generated service with auth on vs off.

Renders ``orders`` (SQLite, no broker) in two workspaces made by ``msgen init``: one whose
msgen.yaml has an ``auth:`` section (``provider: oidc``, this benchmark's issuer, audience
``bench``) and one without it, and installs both with uv. Everything else is msgen's
defaults, the same for both (tracing and metrics included).

The issuer is served by this script (standard library, in a thread): the discovery document
and a JWKS with one RSA 2048 key made here. The bearer token is an RS256 JWT minted with
PyJWT (iss, aud, sub, ``scope: orders:read orders:write``, exp a day ahead), so the service
fetches the keys once, at its first authenticated request, and then verifies every request's
token (header, signature, exp/nbf, iss, aud, scope) from its key cache.

The two apps are served one after the other by uvicorn with the same options (one worker,
uvloop and httptools from ``uvicorn[standard]``, no access log, LOG_LEVEL=WARNING). Before
measuring, one order is created with POST (write scope), and the ``on`` app must answer
``GET /orders/{order_id}`` with 401 without a token and with a token signed by another key,
and 200 with the token. wrk then drives ``GET /health/live`` (open in both) and
``GET /orders/{order_id}`` (``Authorization: Bearer ...`` for ``on``); any non-2xx answer
aborts the run. The output is absolute requests/s and the ratio on/off (issue 17's goal:
at least 0.85 for ``GET /orders/{order_id}``).

    python benchmarks/auth.py [--seconds 10] [--connections 50] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from benchmarks.observability import serve, wrk_rps  # noqa: E402 (after the path is set)

# The services get neither this shell's tracing and auth settings nor its Python paths.
STRIP = ("OTEL_", "AUTH_", "VIRTUAL_ENV", "PYTHONPATH")
AUDIENCE = "bench"
KID = "bench-key-1"
GOAL = 0.85


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@contextmanager
def issuer(key: rsa.RSAPrivateKey) -> Iterator[str]:
    """An OpenID Connect issuer with discovery and a JWKS of ``key``; yields its URL."""
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_port}"
            documents = {
                "/.well-known/openid-configuration": {
                    "issuer": base,
                    "jwks_uri": f"{base}/.well-known/jwks.json",
                    "token_endpoint": f"{base}/token",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
                "/.well-known/jwks.json": {"keys": [jwk]},
            }
            document = documents.get(self.path)
            body = json.dumps(document or {"error": "not found"}).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def mint(key: rsa.RSAPrivateKey, issuer_url: str) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer_url,
        "aud": AUDIENCE,
        "sub": "bench-user",
        "scope": "orders:read orders:write",
        "iat": now,
        "exp": now + 24 * 3600,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def render(workspace: Path, issuer_url: str | None) -> Path:
    """``msgen init`` + (``auth:``) + ``msgen new service orders``; returns the service dir."""
    from tests.servicekit import run

    workspace.mkdir()
    msgen = [sys.executable, "-m", "msgen"]
    # run() unsets PYTHONPATH; the auth: section, when wanted, is this script's issuer
    run([*msgen, "init", "--name", "bench", "--auth", "none"], cwd=workspace)
    if issuer_url is not None:
        with (workspace / "msgen.yaml").open("a") as file:
            file.write(f"auth:\n  provider: oidc\n  issuer: {issuer_url}\n  audience: {AUDIENCE}\n")
    run([*msgen, "new", "service", "orders", "--db", "sqlite", "--broker", "none"], cwd=workspace)
    service = workspace / "orders"
    assert (service / "src" / "orders" / "auth.py").exists() == (issuer_url is not None)
    return service


def check_refusals(order_url: str, token: str, issuer_url: str) -> None:
    """The ``on`` app refuses a missing token and a forged one, and accepts the real one."""
    missing = httpx.get(order_url, timeout=10)
    if missing.status_code != 401 or "Bearer" not in missing.headers.get("www-authenticate", ""):
        raise SystemExit(f"without a token: {missing.status_code} {missing.text}")
    forged = mint(rsa_key(), issuer_url)  # same kid and claims, another key
    refused = httpx.get(order_url, headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    if refused.status_code != 401:
        raise SystemExit(f"with a forged token: {refused.status_code} {refused.text}")
    accepted = httpx.get(order_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    if accepted.status_code != 200:
        raise SystemExit(f"with the token: {accepted.status_code} {accepted.text}")
    print(
        "on: GET /orders/{order_id}: no token 401, forged token 401, token 200",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1, help="wrk runs per figure (median)")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not on PATH (apt-get install wrk)")

    from tests.servicekit import install

    key = rsa_key()
    with tempfile.TemporaryDirectory(prefix="msgen-bench-auth-") as scratch, issuer(key) as url:
        root = Path(scratch)
        token = mint(key, url)
        print("rendering and installing orders with and without auth ...", flush=True)
        off = render(root / "off", None)
        on = render(root / "on", url)
        apps = {
            "off": (off, install(off, editable=False), {}),
            "on": (on, install(on, editable=False), {"Authorization": f"Bearer {token}"}),
        }
        results: dict[str, dict[str, float]] = {}
        for label, (service, python, headers) in apps.items():
            env = {"LOG_LEVEL": "WARNING", "DATABASE_URL": f"sqlite+aiosqlite:///{root / label}.db"}
            with serve(service, python, "orders.main", env, strip=STRIP) as base:
                created = httpx.post(
                    f"{base}/orders", json={"name": "bench"}, headers=headers, timeout=10
                )
                if created.status_code != 201:
                    raise SystemExit(f"{label}: POST /orders: {created.status_code} {created.text}")
                order_url = f"{base}/orders/{created.json()['id']}"
                if label == "on":
                    check_refusals(order_url, token, url)
                urls = {
                    "GET /health/live": (f"{base}/health/live", {}),
                    "GET /orders/{order_id}": (order_url, headers),
                }
                results[label] = {}
                for endpoint, (target, target_headers) in urls.items():
                    print(
                        f"{label}: {endpoint}: wrk {args.connections} connections, "
                        f"{args.runs} x {args.seconds:g} s ...",
                        flush=True,
                    )
                    results[label][endpoint] = statistics.median(
                        wrk_rps(
                            wrk,
                            target,
                            seconds=args.seconds,
                            connections=args.connections,
                            headers=target_headers,
                        )
                        for _ in range(args.runs)
                    )
    print()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (1 min)")
    print(f"{'':24}{'off req/s':>11}{'on req/s':>11}{'ratio':>7}")
    for endpoint, base_rps in results["off"].items():
        rps = results["on"][endpoint]
        print(f"{endpoint:24}{base_rps:11.0f}{rps:11.0f}{rps / base_rps:7.2f}")
    ratio = results["on"]["GET /orders/{order_id}"] / results["off"]["GET /orders/{order_id}"]
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"goal: GET /orders/{{order_id}} on/off >= {GOAL}: {verdict} ({ratio:.2f})")


if __name__ == "__main__":
    main()
