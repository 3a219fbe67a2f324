"""msgen's local development OpenID Connect issuer: signing keys, clients, tokens, a server.

For development only. It signs RS256 access tokens for a workspace whose ``auth:`` says
``provider: dev``; the services verify them against its JWKS like against any other issuer.

State lives beside ``msgen.yaml``, in ``.msgen/issuer/`` (mode 0700, git-ignored):

- ``keys.json``: a JWKS of RSA 2048 *private* keys (mode 0600). The first key signs; the
  others are still published so that tokens they signed keep verifying until retired
  (:func:`rotate_keys`, :func:`retire_old_keys`). Each ``kid`` is the key's RFC 7638
  thumbprint. Created on first use.
- ``clients.json``: the clients of the client-credentials grant (mode 0600),
  ``client_id -> {"secret": ..., "scopes": [...]}`` (:func:`ensure_client`).

Both files are written atomically, under a lock (``.lock``), so a ``msgen token`` and a
running issuer never create two different first keys.

:func:`serve_issuer` binds the HTTP server (standard library, one thread per request):
``GET /.well-known/openid-configuration``, ``GET /.well-known/jwks.json`` (read from disk
on every request, so a rotation is served at once) and ``POST /token`` (the
client-credentials grant, RFC 6749 section 4.4). ``python -m msgen.issuer --root DIR`` runs
it as a process.

In a container (``msgen compose generate`` builds one, ``deploy/issuer/``) the issuer runs
from copies of :data:`STANDALONE_MODULES` alone, with pyjwt[crypto] as its only third-party
package: it then reads the keys from a read-only mount (``read_only``), learns its clients
from the environment (:func:`clients_from_env`) and needs no ``msgen.yaml``. Keep the
imports of this module inside that set (the tests run it so, in a fresh environment).

Like every core module this one never prints and never exits; the server logs through
:mod:`logging` (``msgen.issuer``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import socket
import socketserver
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from msgen.errors import AuthError, MsgenError, PortInUseError, UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "ALGORITHM",
    "CLIENTS_FILE",
    "DEFAULT_TTL_SECONDS",
    "ISSUER_DIR",
    "KEYS_FILE",
    "MAX_TTL_SECONDS",
    "STANDALONE_MODULES",
    "Client",
    "IssuerKey",
    "IssuerKeys",
    "IssuerServer",
    "check_scopes",
    "clients_from_env",
    "discovery_document",
    "ensure_client",
    "issuer_dir",
    "load_clients",
    "load_keys",
    "main",
    "mint_token",
    "parse_ttl",
    "public_jwks",
    "read_claims",
    "retire_old_keys",
    "rotate_keys",
    "serve_issuer",
    "thumbprint",
]

ALGORITHM = "RS256"
ISSUER_DIR = Path(".msgen") / "issuer"
KEYS_FILE = "keys.json"
CLIENTS_FILE = "clients.json"
KEY_SIZE = 2048
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 86400
"""The longest a development token may live (``msgen token --ttl 1d``)."""
STANDALONE_MODULES = ("__init__.py", "__about__.py", "errors.py", "inputs.py", "issuer.py")
"""The msgen modules ``python -m msgen.issuer`` needs when it writes nothing (``read_only``)
and no ``msgen.yaml`` is beside the keys: what the issuer's container image carries."""
CLIENT_ENV_SUFFIXES = ("_ID", "_SECRET", "_SCOPES")
"""``<prefix><KEY>_ID``, ``_SECRET``, ``_SCOPES``: one client in the environment."""

_LOCK_FILE = ".lock"
_GITIGNORE = "# msgen's machine-local state (locks, development issuer keys); never commit it.\n*\n"
_RSA_MEMBERS = ("n", "e", "d", "p", "q", "dp", "dq", "qi")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,200}$")
"""A scope token (RFC 6749 section 3.3): printable ASCII but space, ``"`` and ``\\``."""
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ENV_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_TTL = re.compile(r"^(\d{1,9})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_BODY = 16 * 1024

log = logging.getLogger("msgen.issuer")


# ---------------------------------------------------------------------------------------
# Keys


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """One RSA signing key as its private JWK (with ``kid``, ``alg`` and ``use``)."""

    jwk: Mapping[str, str]

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of the public key."""
        return self.jwk["kid"]

    def public(self) -> dict[str, str]:
        """The public JWK: ``kty``, ``n``, ``e``, ``kid``, ``alg``, ``use``; nothing private."""
        return {
            "kty": "RSA",
            "n": self.jwk["n"],
            "e": self.jwk["e"],
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }

    def private_key(self) -> RSAPrivateKey:
        """The key as a ``cryptography`` object, to sign with."""
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
        from jwt.algorithms import RSAAlgorithm

        key = RSAAlgorithm.from_jwk(dict(self.jwk))
        if not isinstance(key, RSAPrivateKey):  # checked on load; a guard for the type
            raise AuthError(f"the issuer key {self.kid} has no private part")
        return key


@dataclass(frozen=True, slots=True)
class IssuerKeys:
    """The issuer's keys, the signing key first; every one of them is published."""

    keys: tuple[IssuerKey, ...]

    @property
    def signing(self) -> IssuerKey:
        """The key new tokens are signed with."""
        return self.keys[0]

    @property
    def kids(self) -> list[str]:
        """Every published ``kid``, the signing key's first."""
        return [key.kid for key in self.keys]


def thumbprint(jwk: Mapping[str, str]) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA key's public part."""
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issuer_dir(root: Path) -> Path:
    """``<workspace>/.msgen/issuer`` (created 0700, git-ignored, if it is not there)."""
    state = root / ISSUER_DIR.parent
    directory = root / ISSUER_DIR
    try:
        if not root.is_dir():
            raise AuthError(f"cannot keep the development issuer's keys: {root} does not exist")
        state.mkdir(exist_ok=True)
        _write_new(state / ".gitignore", _GITIGNORE)
        directory.mkdir(mode=0o700, exist_ok=True)
        if directory.stat().st_mode & 0o077:
            directory.chmod(0o700)
        _write_new(directory / ".gitignore", _GITIGNORE)
    except OSError as exc:
        raise AuthError(f"cannot create {directory}: {exc.strerror}") from exc
    return directory


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text`` unless it exists."""
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the issuer's own lock (other msgen processes wait for it)."""
    path = directory / _LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise AuthError(f"cannot lock {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_json(path: Path, data: object) -> None:
    from msgen.errors import OutputError
    from msgen.outputs import atomic_write

    try:
        atomic_write(path, json.dumps(data, indent=2) + "\n", mode=0o600)
    except OutputError as exc:
        raise AuthError(exc.message) from exc


def _read_json(path: Path) -> object:
    from msgen.inputs import read_text

    text = read_text(path, error=AuthError)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuthError(
            f"{path}:{exc.lineno}: not JSON ({exc.msg})", hint=_remove_hint(path)
        ) from exc


def _remove_hint(path: Path) -> str:
    return f"remove {path} to start over (tokens signed with its keys stop verifying)"


def _new_key() -> IssuerKey:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    jwk = RSAAlgorithm.to_jwk(private, as_dict=True)
    members = {name: str(jwk[name]) for name in _RSA_MEMBERS}
    return IssuerKey(
        {"kty": "RSA", "kid": thumbprint(members), "alg": ALGORITHM, "use": "sig", **members}
    )


def _parse_keys(path: Path, data: object) -> IssuerKeys:
    def bad(problem: str) -> AuthError:
        return AuthError(f"{path}: {problem}", hint=_remove_hint(path))

    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise bad('not a JWKS (an object with a "keys" list)')
    keys = []
    for index, jwk in enumerate(data["keys"]):
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            raise bad(f"keys[{index}] is not an RSA key")
        for name in _RSA_MEMBERS:
            value = jwk.get(name)
            if not isinstance(value, str) or not _B64URL.match(value):
                raise bad(f"keys[{index}].{name} is missing or not base64url")
        kid = thumbprint(jwk)
        if jwk.get("kid") != kid:
            raise bad(f"keys[{index}].kid is not the key's thumbprint ({kid})")
        members = {name: jwk[name] for name in _RSA_MEMBERS}
        keys.append(
            IssuerKey({"kty": "RSA", "kid": kid, "alg": ALGORITHM, "use": "sig", **members})
        )
    if not keys:
        raise bad("has no keys")
    return IssuerKeys(tuple(keys))


def _save_keys(path: Path, keys: Iterable[IssuerKey]) -> None:
    _write_json(path, {"keys": [dict(key.jwk) for key in keys]})


def _load_or_create(directory: Path, *, create: bool) -> IssuerKeys:
    path = directory / KEYS_FILE
    if path.exists():
        return _parse_keys(path, _read_json(path))
    if not create:
        raise AuthError(
            f"the development issuer has no keys yet ({path})",
            hint="msgen token creates them, and so does starting the issuer",
        )
    keys = IssuerKeys((_new_key(),))
    _save_keys(path, keys.keys)
    return keys


def load_keys(root: Path, create: bool = True) -> IssuerKeys:
    """The issuer's keys in the workspace ``root``; with ``create``, made on first use."""
    if (root / ISSUER_DIR / KEYS_FILE).exists() or not create:
        return _load_or_create(root / ISSUER_DIR, create=False)
    directory = issuer_dir(root)
    with _locked(directory):  # another process may be creating the first key just now
        return _load_or_create(directory, create=True)


def rotate_keys(root: Path) -> IssuerKeys:
    """Add a new signing key; the previous ones stay published until :func:`retire_old_keys`."""
    directory = issuer_dir(root)
    with _locked(directory):
        current = _load_or_create(directory, create=True)
        keys = IssuerKeys((_new_key(), *current.keys))
        _save_keys(directory / KEYS_FILE, keys.keys)
    return keys


def retire_old_keys(root: Path) -> IssuerKeys:
    """Keep only the signing key: tokens signed by the others no longer verify."""
    directory = issuer_dir(root)
    with _locked(directory):
        current = _load_or_create(directory, create=True)
        keys = IssuerKeys((current.signing,))
        if len(current.keys) > 1:
            _save_keys(directory / KEYS_FILE, keys.keys)
    return keys


def public_jwks(keys: IssuerKeys) -> dict[str, list[dict[str, str]]]:
    """The JWKS to publish: the public part of every key, with ``kid``, ``alg`` and ``use``."""
    return {"keys": [key.public() for key in keys.keys]}


# ---------------------------------------------------------------------------------------
# Tokens


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, each checked, duplicates dropped, in their order."""
    checked: list[str] = []
    for scope in scopes:
        if not _SCOPE.match(scope):
            raise UsageError(
                f"invalid scope {scope!r}: a scope is 1-200 printable ASCII characters "
                'without spaces, " or \\',
                hint="for example orders:read or orders:write",
            )
        if scope not in checked:
            checked.append(scope)
    return checked


def parse_ttl(text: str) -> int:
    """``30s``, ``15m``, ``1h``, ``1d`` (or plain seconds) as seconds, 1 s to 1 day."""
    match = _TTL.match(text.strip())
    if match is None:
        raise UsageError(
            f"invalid token lifetime {text!r}",
            hint="use seconds, minutes, hours or days: 30s, 15m, 1h, 1d",
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 1 <= seconds <= MAX_TTL_SECONDS:
        raise UsageError(
            f"token lifetime {text} is out of range: 1s to 1d",
            hint="development tokens live at most a day; mint a new one when it expires",
        )
    return seconds


def mint_token(
    keys: IssuerKeys,
    *,
    issuer: str,
    audience: str,
    subject: str,
    scopes: Iterable[str],
    ttl_seconds: int,
    client_id: str | None = None,
    not_before: int | datetime | None = None,
) -> str:
    """An RS256 access token signed by the signing key (its ``kid`` in the header).

    Claims: ``iss``, ``aud``, ``sub``, ``scope`` (space-separated), ``iat``, ``nbf``
    (``not_before``, default now), ``exp`` (now + ``ttl_seconds``), ``jti`` and, for the
    client-credentials grant, ``client_id``.
    """
    import jwt

    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise UsageError(
            f"token lifetime {ttl_seconds} s is out of range: 1 s to {MAX_TTL_SECONDS} s"
        )
    if not subject:
        raise UsageError("a token needs a subject (sub)")
    now = int(time.time())
    if isinstance(not_before, datetime):
        not_before = int(not_before.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "scope": " ".join(check_scopes(scopes)),
        "iat": now,
        "nbf": now if not_before is None else not_before,
        "exp": now + ttl_seconds,
        "jti": secrets.token_urlsafe(16),
    }
    if client_id is not None:
        claims["client_id"] = client_id
    signing = keys.signing
    return jwt.encode(
        claims,
        signing.private_key(),
        algorithm=ALGORITHM,
        headers={"kid": signing.kid, "typ": "at+jwt"},
    )


def read_claims(token: str) -> dict[str, Any]:
    """The claims of a token, *not* verified (to show what a token says)."""
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise UsageError(f"not a JWT: {exc}") from exc
    return claims


# ---------------------------------------------------------------------------------------
# Clients (client-credentials grant)


@dataclass(frozen=True, slots=True)
class Client:
    """A client of the client-credentials grant: its secret and the scopes it may ask for."""

    client_id: str
    secret: str
    scopes: tuple[str, ...]


def _parse_clients(path: Path, data: object) -> dict[str, Client]:
    def bad(problem: str) -> AuthError:
        return AuthError(
            f"{path}: {problem}", hint=f"remove {path}; msgen dev up registers clients"
        )

    if not isinstance(data, dict):
        raise bad("not an object of client_id -> {secret, scopes}")
    clients = {}
    for client_id, entry in data.items():
        if not _CLIENT_ID.match(client_id):
            raise bad(f"invalid client_id {client_id!r}")
        if not isinstance(entry, dict) or not isinstance(entry.get("secret"), str):
            raise bad(f"{client_id}: no secret")
        scopes = entry.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise bad(f"{client_id}.scopes is not a list of strings")
        try:
            checked = check_scopes(scopes)
        except UsageError as exc:
            raise bad(f"{client_id}.scopes: {exc.message}") from exc
        clients[client_id] = Client(client_id, entry["secret"], tuple(checked))
    return clients


def load_clients(root: Path) -> dict[str, Client]:
    """The registered clients (none before the first :func:`ensure_client`)."""
    path = root / ISSUER_DIR / CLIENTS_FILE
    if not path.exists():
        return {}
    return _parse_clients(path, _read_json(path))


def ensure_client(root: Path, client_id: str, scopes: Iterable[str]) -> str:
    """Register ``client_id`` with exactly ``scopes`` (a new client gets a random secret).

    Returns the client's secret; an existing client keeps its secret and gets the scopes.
    """
    if not _CLIENT_ID.match(client_id):
        raise UsageError(
            f"invalid client_id {client_id!r}: letters, digits, '.', '_' and '-', at most 100"
        )
    wanted = check_scopes(scopes)
    directory = issuer_dir(root)
    with _locked(directory):
        clients = load_clients(root)
        known = clients.get(client_id)
        secret = known.secret if known is not None else secrets.token_urlsafe(32)
        if known is None or list(known.scopes) != wanted:
            clients[client_id] = Client(client_id, secret, tuple(wanted))
            _write_json(
                directory / CLIENTS_FILE,
                {
                    c.client_id: {"secret": c.secret, "scopes": list(c.scopes)}
                    for c in clients.values()
                },
            )
    return secret


def clients_from_env(prefix: str, environ: Mapping[str, str] | None = None) -> dict[str, Client]:
    """The clients the environment names, instead of ``clients.json`` (a container's issuer).

    Each client is three variables sharing a key: ``<prefix><KEY>_ID`` (the client_id),
    ``<prefix><KEY>_SECRET`` (its secret, not empty) and, optionally, ``<prefix><KEY>_SCOPES``
    (the scopes it may ask for, space-separated). ``ISSUER_CLIENT_BILLING_ID=billing``,
    ``ISSUER_CLIENT_BILLING_SECRET=...``, ``ISSUER_CLIENT_BILLING_SCOPES=orders:read`` is
    the client ``billing``. Any other variable starting with ``prefix``, a key without its
    id or secret, an invalid id or scope and a client_id given twice are refused (the
    message never shows a secret).
    """
    if not _ENV_PREFIX.match(prefix):
        raise UsageError(
            f"invalid client variable prefix {prefix!r}: letters, digits and '_'",
            hint="for example ISSUER_CLIENT_",
        )
    environ = os.environ if environ is None else environ
    entries: dict[str, dict[str, str]] = {}
    for name in sorted(environ):
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        suffix = next((s for s in CLIENT_ENV_SUFFIXES if rest.endswith(s)), None)
        if suffix is None or rest == suffix:
            raise AuthError(
                f"{name}: a client variable is {prefix}<KEY>_ID, _SECRET or _SCOPES",
                hint="or choose a --client-env prefix that no other variable starts with",
            )
        entries.setdefault(rest[: -len(suffix)], {})[suffix] = environ[name]
    clients: dict[str, Client] = {}
    for key, entry in entries.items():
        variable = f"{prefix}{key}"
        client_id, secret = entry.get("_ID", ""), entry.get("_SECRET", "")
        if not client_id or not secret:
            missing = "_ID" if not client_id else "_SECRET"
            raise AuthError(f"{variable}{missing} is missing or empty: a client needs both")
        if not _CLIENT_ID.match(client_id):
            raise AuthError(
                f"{variable}_ID: invalid client_id {client_id!r}: letters, digits, '.', '_' "
                "and '-', at most 100"
            )
        try:
            scopes = check_scopes(entry.get("_SCOPES", "").split())
        except UsageError as exc:
            raise AuthError(f"{variable}_SCOPES: {exc.message}") from exc
        if client_id in clients:
            raise AuthError(f"{variable}_ID: client {client_id!r} is given twice")
        clients[client_id] = Client(client_id, secret, tuple(scopes))
    return clients


# ---------------------------------------------------------------------------------------
# The HTTP server


def discovery_document(issuer: str, scopes: Iterable[str]) -> dict[str, Any]:
    """The OpenID Connect discovery document of the issuer at ``issuer``."""
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "token_endpoint": f"{issuer}/token",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "subject_types_supported": ["public"],
        "scopes_supported": sorted(set(scopes)),
    }


class _OAuthError(Exception):
    """An RFC 6749 section 5.2 error response."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class IssuerServer(ThreadingHTTPServer):
    """The development issuer's HTTP server; run :meth:`serve_forever` (in a thread)."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        root: Path,
        issuer: str | None,
        audience: str,
        ttl_seconds: int,
        scopes: Iterable[str] = (),
        clients: Mapping[str, Client] | None = None,
        read_only: bool = False,
    ) -> None:
        super().__init__(address, _Handler)
        self.root = root
        self.fixed_clients = None if clients is None else dict(clients)
        self.read_only = read_only
        host, port = self.server_address[:2]
        shown = "127.0.0.1" if host in {"0.0.0.0", ""} else str(host)
        self.url = f"http://{shown}:{port}"
        self.issuer = (issuer or self.url).rstrip("/")
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self.scopes = tuple(scopes)

    def clients(self) -> dict[str, Client]:
        """The clients given at start, or else ``clients.json`` as it is now."""
        if self.fixed_clients is not None:
            return dict(self.fixed_clients)
        return load_clients(self.root)

    def keys(self) -> IssuerKeys:
        """The keys on disk now (made again if removed, unless ``read_only``)."""
        return load_keys(self.root, create=not self.read_only)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS look-up of the host (it can take seconds)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request that failed unexpectedly is logged, not printed."""
        log.exception("the development issuer failed on a request from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: IssuerServer
    server_version = "msgen-dev-issuer"
    sys_version = ""
    timeout = 10
    _ROUTES: ClassVar[dict[str, str]] = {
        "/.well-known/openid-configuration": "GET",
        "/.well-known/jwks.json": "GET",
        "/token": "POST",
    }

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _send_json(self, status: int, body: object, headers: Mapping[str, str] = {}) -> None:
        data = json.dumps(body, indent=2).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> str | None:
        """The path when ``method`` may be used on it; otherwise the error is sent."""
        path = urlsplit(self.path).path
        allowed = self._ROUTES.get(path)
        if allowed is None:
            self._send_json(404, {"error": "not_found", "error_description": f"no {path} here"})
            return None
        if allowed != method:
            self._send_json(
                405,
                {"error": "method_not_allowed", "error_description": f"use {allowed} on {path}"},
                {"Allow": allowed},
            )
            return None
        return path

    def do_GET(self) -> None:
        path = self._route("GET")
        if path is None:
            return
        try:
            if path == "/.well-known/jwks.json":
                body: object = public_jwks(self.server.keys())
            else:
                scopes = {s for c in self.server.clients().values() for s in c.scopes}
                body = discovery_document(self.server.issuer, {*self.server.scopes, *scopes})
        except MsgenError as exc:
            log.error("%s", exc.message)
            self._send_json(500, {"error": "server_error", "error_description": exc.message})
            return
        self._send_json(200, body, {"Cache-Control": "no-cache"})

    def do_POST(self) -> None:
        if self._route("POST") is None:
            return
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            body = self._token()
        except _OAuthError as exc:
            headers = dict(no_store)
            if exc.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="msgen development issuer"'
            self._send_json(
                exc.status, {"error": exc.error, "error_description": exc.description}, headers
            )
            return
        except MsgenError as exc:
            log.error("%s", exc.message)
            self._send_json(
                500, {"error": "server_error", "error_description": exc.message}, no_store
            )
            return
        self._send_json(200, body, no_store)

    def _form(self) -> dict[str, str]:
        def invalid(description: str) -> _OAuthError:
            return _OAuthError(400, "invalid_request", description)

        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise invalid("the body must be application/x-www-form-urlencoded")
        if self.headers.get("Transfer-Encoding"):
            raise invalid("send the body with a Content-Length")
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > _MAX_BODY:
            raise invalid(f"a Content-Length of at most {_MAX_BODY} bytes is required")
        raw = self.rfile.read(int(length))
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
        except (UnicodeDecodeError, ValueError) as exc:
            raise invalid("the body is not a valid form") from exc
        form: dict[str, str] = {}
        for name, value in pairs:
            if name in form:
                raise invalid(f"{name} is given more than once")
            form[name] = value
        return form

    def _credentials(self, form: Mapping[str, str]) -> tuple[str, str]:
        """The client's id and secret, from HTTP Basic or from the form (never both)."""
        header = self.headers.get("Authorization")
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() != "basic":
                raise _OAuthError(401, "invalid_client", "authenticate with HTTP Basic or the form")
            if "client_secret" in form:
                raise _OAuthError(400, "invalid_request", "use one client authentication method")
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise _OAuthError(
                    401, "invalid_client", "malformed HTTP Basic credentials"
                ) from exc
            client_id, colon, secret = decoded.partition(":")
            if not colon:
                raise _OAuthError(401, "invalid_client", "malformed HTTP Basic credentials")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
            if form.get("client_id", client_id) != client_id:
                raise _OAuthError(400, "invalid_request", "two different client_ids")
            return client_id, secret
        if "client_id" in form and "client_secret" in form:
            return form["client_id"], form["client_secret"]
        raise _OAuthError(401, "invalid_client", "client authentication is required")

    def _token(self) -> dict[str, Any]:
        form = self._form()
        client_id, secret = self._credentials(form)
        client = self.server.clients().get(client_id)
        expected = client.secret if client is not None else secrets.token_urlsafe(32)
        if (
            not hmac.compare_digest(secret.encode("utf-8"), expected.encode("utf-8"))
            or client is None
        ):
            raise _OAuthError(401, "invalid_client", "unknown client or wrong secret")
        grant = form.get("grant_type")
        if grant is None:
            raise _OAuthError(400, "invalid_request", "grant_type is required")
        if grant != "client_credentials":
            raise _OAuthError(400, "unsupported_grant_type", "only client_credentials is supported")
        requested = form.get("scope", "").split()
        unknown = [s for s in requested if s not in client.scopes]
        if unknown:
            raise _OAuthError(
                400, "invalid_scope", f"not granted to {client_id}: {' '.join(unknown)}"
            )
        granted = list(dict.fromkeys(requested)) if requested else list(client.scopes)
        token = mint_token(
            self.server.keys(),
            issuer=self.server.issuer,
            audience=self.server.audience,
            subject=client_id,
            scopes=granted,
            ttl_seconds=self.server.ttl_seconds,
            client_id=client_id,
        )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.server.ttl_seconds,
            "scope": " ".join(granted),
        }


def _workspace_defaults(root: Path) -> tuple[str, list[str]]:
    """The audience of the workspace's ``auth:`` and its services' scopes, if it has them.

    Without a ``msgen.yaml`` in ``root`` (the issuer's container) msgen.workspace, and the
    packages it needs, are not imported.
    """
    path = root / "msgen.yaml"
    if not path.is_file():
        return "msgen", []
    from msgen.workspace import load_workspace

    model = load_workspace(path).model
    audience = model.auth.audience if model.auth is not None else "msgen"
    from msgen.access import system_scopes

    return audience, system_scopes(model)


def serve_issuer(
    root: Path,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    clients: Mapping[str, Client] | None = None,
    read_only: bool = False,
    scopes: Iterable[str] | None = None,
) -> IssuerServer:
    """The issuer's server for the workspace ``root``, bound and ready to serve.

    Run ``server.serve_forever()`` (in a thread if need be); stop it with ``shutdown()``
    then ``server_close()``. ``port`` defaults to 8900 (``DEV_ISSUER_PORT``); 0 picks a free
    one. The issuer URL defaults to the address it listens on (``server.url``), the audience
    to the workspace's ``auth:``. ``clients`` replace ``clients.json`` (:func:`clients_from_env`);
    ``scopes`` (announced with the clients' in the discovery document) the workspace's.
    Keys are created now if there are none, so errors come before the first request; with
    ``read_only`` nothing is written under ``root`` and the keys must exist already.
    """
    if port is None:
        from msgen.workspace import DEV_ISSUER_PORT

        port = DEV_ISSUER_PORT
    if read_only and not (root / ISSUER_DIR / KEYS_FILE).is_file():
        raise AuthError(
            f"the development issuer has no keys yet ({root / ISSUER_DIR / KEYS_FILE})",
            hint="create them where they are mounted from: msgen token (or msgen compose up)",
        )
    load_keys(root, create=not read_only)
    default_audience, workspace_scopes = _workspace_defaults(root)
    scopes = workspace_scopes if scopes is None else check_scopes(scopes)
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise UsageError(
            f"token lifetime {ttl_seconds} s is out of range: 1 s to {MAX_TTL_SECONDS} s"
        )
    try:
        return IssuerServer(
            (host, port),
            root=root,
            issuer=issuer,
            audience=audience or default_audience,
            ttl_seconds=ttl_seconds,
            scopes=scopes,
            clients=clients,
            read_only=read_only,
        )
    except OSError as exc:
        if isinstance(exc, socket.gaierror):
            raise UsageError(f"cannot listen on {host}: {exc.strerror}") from exc
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host} is taken: the development issuer cannot listen there",
                hint="stop what uses it, or move the issuer (auth.issuer in msgen.yaml)",
            ) from exc
        raise AuthError(
            f"the development issuer cannot listen on {host}:{port}: {exc.strerror}"
        ) from exc


# ---------------------------------------------------------------------------------------
# python -m msgen.issuer


def main(argv: list[str] | None = None) -> int:
    """Run the issuer in the foreground until SIGINT/SIGTERM; the exit code."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m msgen.issuer", description="msgen's local development OpenID issuer."
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the workspace directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="the port (default: 8900; 0 picks a free one)")
    parser.add_argument("--issuer", help="the issuer URL (default: http://HOST:PORT)")
    parser.add_argument("--audience", help="the tokens' audience (default: the workspace's)")
    parser.add_argument("--ttl", default="1h", help="lifetime of the tokens /token issues")
    parser.add_argument(
        "--client-env",
        metavar="PREFIX",
        help="take the clients from the environment instead of clients.json: "
        "PREFIX<KEY>_ID, PREFIX<KEY>_SECRET and PREFIX<KEY>_SCOPES (space-separated) per client",
    )
    parser.add_argument(
        "--scopes",
        help="the scopes to announce, space-separated (default: the workspace's services'); "
        "the clients' scopes are announced too",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="write nothing under --root: the keys must exist (a read-only mount of them)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        clients = None if args.client_env is None else clients_from_env(args.client_env)
        server = serve_issuer(
            args.root.resolve(),
            args.host,
            args.port,
            issuer=args.issuer,
            audience=args.audience,
            ttl_seconds=parse_ttl(args.ttl),
            clients=clients,
            read_only=args.read_only,
            scopes=None if args.scopes is None else args.scopes.split(),
        )
    except MsgenError as exc:
        log.error("error: %s", exc.message)
        if exc.hint:
            log.error("hint: %s", exc.hint)
        return exc.exit_code
    log.info("msgen development issuer %s listening on %s", server.issuer, server.url)
    if clients is not None:
        log.info("clients from %s*: %s", args.client_env, ", ".join(sorted(clients)) or "none")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
