"""``docker-compose.yml`` for the whole system, built as typed data from the workspace.

One container per service (built from its Dockerfile), its own PostgreSQL per service with
``db: postgres``, and each infrastructure piece (RabbitMQ, Consul, Jaeger, Prometheus,
Grafana) only when some service needs it or the caller asks for it. Secrets never appear
in the file: they are ``${NAME:?...}`` references to ``.env``.

With ``auth:`` each service that verifies tokens (and the gateway) gets the issuer, the
audience and its own client secret (``<SERVICE>_AUTH_CLIENT_SECRET`` in ``.env``). With
``provider: dev`` the development issuer runs as the container ``issuer``, built from
``deploy/issuer/`` (:mod:`msgen.manifests.issuer_image`): it announces ``auth.issuer``, is
published on that port of 127.0.0.1, reads the workspace's keys from a read-only mount of
``.msgen/issuer`` as the host user (``ISSUER_UID``/``ISSUER_GID`` in ``.env``) and learns
its clients from its environment; the services reach it at ``http://issuer:<port>``.

The RabbitMQ container imports ``deploy/rabbitmq/definitions.json`` (every consumer's
queue, bindings and dead-letter pair, :mod:`msgen.topology`) before it reports healthy, and
the services wait for it to be healthy: no event a publisher sends before its consumer
first started finds no queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msgen.__about__ import __version__
from msgen.errors import UsageError
from msgen.manifests import issuer_image, monitoring
from msgen.manifests.common import (
    GeneratedFile,
    image_name,
    json_file,
    service_image,
    text_file,
    upstream_env,
    verifies_tokens,
    yaml_file,
)
from msgen.manifests.compose_model import Build, ComposeFile, ComposeService, Healthcheck
from msgen.topology import unconsumed_env
from msgen.workspace import AuthSettings, ServiceEntry, Workspace

__all__ = [
    "BUILD_ARGS",
    "COMPOSE_FILE",
    "ENV_EXAMPLE_FILE",
    "IMAGES",
    "IMAGE_VARS",
    "INFRA",
    "ISSUER",
    "ISSUER_CLIENT_PREFIX",
    "ISSUER_GID_VAR",
    "ISSUER_UID_VAR",
    "REGENERATE",
    "EnvVar",
    "Selection",
    "build_compose",
    "client_secret_var",
    "compose_files",
    "dev_issuer_port",
    "env_vars",
    "select_infra",
]

COMPOSE_FILE = "docker-compose.yml"
ENV_EXAMPLE_FILE = ".env.example"
RABBITMQ_DEFINITIONS_FILE = "deploy/rabbitmq/definitions.json"
# The directory is mounted, not the file: msgen replaces the file atomically (a new inode),
# which a single-file bind mount would never show.
_DEFINITIONS_MOUNT = "/etc/msgen/rabbitmq"
_IMPORTED = "/tmp/msgen-imported-definitions.json"
# Healthy once the node answers and the current topology is imported: again whenever
# `msgen compose generate` changed it (a new consumer), else never twice.
_RABBITMQ_HEALTH = (
    "rabbitmq-diagnostics --quiet ping && "
    f"{{ cmp -s {_DEFINITIONS_MOUNT}/definitions.json {_IMPORTED} || "
    f"{{ rabbitmqctl --quiet import_definitions {_DEFINITIONS_MOUNT}/definitions.json && "
    f"cp {_DEFINITIONS_MOUNT}/definitions.json {_IMPORTED}; }}; }}"
)
REGENERATE = "msgen compose generate"
INFRA = ("rabbitmq", "consul", "jaeger", "prometheus", "grafana")

# Pinned, current stable tags. Bump them deliberately (and the snapshots with them).
IMAGES = {
    "postgres": "postgres:17.6-alpine",
    "rabbitmq": "rabbitmq:4.1.4-management-alpine",
    "consul": "hashicorp/consul:1.21.4",
    "jaeger": "jaegertracing/jaeger:2.10.0",
    "prometheus": "prom/prometheus:v3.6.0",
    "grafana": "grafana/grafana:12.2.0",
}
# The .env variable that replaces each image (a mirror, a pinned digest, a local build);
# unset, the pinned tag above is used.
IMAGE_VARS = {name: f"{name.upper()}_IMAGE" for name in IMAGES}
# Build arguments of every service image, from .env with these defaults (the Dockerfile's own):
# BASE_IMAGE is the Python image both stages start from; PIP_INDEX_URL a package index or
# mirror; PIP_NO_INDEX=1 installs from the service's wheels/ directory alone (offline builds).
BUILD_ARGS = {
    "BASE_IMAGE": "python:3.11-slim",
    "PIP_INDEX_URL": "https://pypi.org/simple",
    "PIP_NO_INDEX": "0",
}
# Host ports of the infrastructure UIs, bound to 127.0.0.1 unless a service uses the port.
_UI_PORTS = {
    "rabbitmq": 15672,
    "consul": 8500,
    "jaeger": 16686,
    "prometheus": 9090,
    "grafana": 3000,
}
_RABBITMQ_USER = "msgen"
_RUN_GENERATE = "run msgen compose generate to create .env"
ISSUER = "issuer"
"""The development issuer's container (``auth.provider: dev``): ``http://issuer:<port>``."""
ISSUER_CLIENT_PREFIX = "ISSUER_CLIENT_"
"""The issuer container's ``--client-env``: ``ISSUER_CLIENT_<SERVICE>_ID|_SECRET|_SCOPES``."""
ISSUER_UID_VAR = "ISSUER_UID"
ISSUER_GID_VAR = "ISSUER_GID"
"""The ``.env`` variables of the user the issuer container runs as (the keys' owner)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which infrastructure containers the compose file runs."""

    infra: frozenset[str]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def has(self, name: str) -> bool:
        """True when ``name`` runs as a container in the compose file."""
        return name in self.infra


@dataclass(frozen=True, slots=True)
class EnvVar:
    """A variable the compose file reads from ``.env``."""

    name: str
    secret: bool
    comment: str


def needed_infra(workspace: Workspace) -> set[str]:
    """The infrastructure the services ask for through their workspace fields."""
    services = workspace.services.values()
    needed: set[str] = set()
    if any(s.broker == "rabbitmq" for s in services):
        needed.add("rabbitmq")
    if any(s.discovery == "consul" for s in services):
        needed.add("consul")
    if any("tracing" in s.features for s in services):
        needed.add("jaeger")
    if any("metrics" in s.features for s in services):
        needed |= {"prometheus", "grafana"}
    return needed


def select_infra(
    workspace: Workspace, *, include: list[str] | None = None, exclude: list[str] | None = None
) -> Selection:
    """What the workspace needs, plus ``include``, minus ``exclude``; refuses nonsense."""
    include, exclude = include or [], exclude or []
    for name in [*include, *exclude]:
        if name not in INFRA:
            raise UsageError(
                f"unknown infrastructure {name!r}", hint=f"choose from {', '.join(INFRA)}"
            )
    both = sorted(set(include) & set(exclude))
    if both:
        raise UsageError(f"{both[0]!r} is given to both --with and --without")
    chosen = (needed_infra(workspace) | set(include)) - set(exclude)
    if "grafana" in chosen and "prometheus" not in chosen:
        if "prometheus" in exclude:
            raise UsageError(
                "grafana's dashboards read prometheus, which --without prometheus leaves out",
                hint="add --without grafana as well",
            )
        chosen.add("prometheus")
    return Selection(
        infra=frozenset(chosen), include=tuple(sorted(include)), exclude=tuple(sorted(exclude))
    )


def env_prefix(name: str) -> str:
    """``order-items`` -> ``ORDER_ITEMS``: how a service's variables are named."""
    return name.replace("-", "_").upper()


def _image(name: str) -> str:
    return f"${{{IMAGE_VARS[name]}:-{IMAGES[name]}}}"


def _needed(var: str, why: str) -> str:
    return f"${{{var}:?{why}}}"


def _literal(value: str) -> str:
    """``value`` as Compose must read it: a ``$`` is not the start of a variable."""
    return value.replace("$", "$$")


def _external(var: str, piece: str) -> str:
    return _needed(var, f"set it in .env ({piece} is not in docker-compose.yml)")


def env_vars(workspace: Workspace, selection: Selection) -> list[EnvVar]:
    """Every variable the compose file takes from ``.env``, in a stable order."""
    result: list[EnvVar] = []
    for name, svc in workspace.services.items():
        if _db(svc) == "postgres":
            result.append(
                EnvVar(f"{env_prefix(name)}_DB_PASSWORD", True, f"{name}'s PostgreSQL password")
            )
    services = workspace.services.values()
    if selection.has("rabbitmq"):
        result.append(EnvVar("RABBITMQ_PASSWORD", True, "RabbitMQ password of user msgen"))
    elif any(s.broker == "rabbitmq" for s in services):
        result.append(EnvVar("BROKER_URL", False, "amqp:// URL of your RabbitMQ"))
    if not selection.has("consul") and any(s.discovery == "consul" for s in services):
        result.append(EnvVar("CONSUL_HTTP_ADDR", False, "address of your Consul agent"))
    if not selection.has("jaeger") and any("tracing" in s.features for s in services):
        result.append(
            EnvVar(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                False,
                "OTLP/HTTP endpoint of your trace collector; empty: no traces exported",
            )
        )
    if selection.has("grafana"):
        result.append(EnvVar("GRAFANA_ADMIN_PASSWORD", True, "Grafana password of user admin"))
    return result + _auth_env_vars(workspace)


def _auth_env_vars(workspace: Workspace) -> list[EnvVar]:
    auth = workspace.auth
    if auth is None:
        return []
    dev = auth.provider == "dev"
    result = []
    if dev:
        result += [
            EnvVar(
                ISSUER_UID_VAR,
                False,
                "uid the development issuer's container runs as: the owner of .msgen/issuer "
                "(msgen writes yours; never 0)",
            ),
            EnvVar(ISSUER_GID_VAR, False, "gid the development issuer's container runs as"),
        ]
    else:
        result += [
            EnvVar(
                "AUTH_JWKS_URL",
                False,
                "your issuer's JWKS as the containers reach it; empty: its discovery document's",
            ),
            EnvVar(
                "AUTH_TOKEN_URL",
                False,
                "your issuer's token endpoint as the containers reach it; empty: discovery's",
            ),
        ]
    for name in workspace.services:
        if verifies_tokens(workspace, name):
            where = "the development issuer" if dev else "your issuer"
            result.append(
                EnvVar(client_secret_var(name), dev, f"{name}'s client secret at {where}")
            )
    return result


def _db(svc: ServiceEntry) -> str:
    return "none" if svc.kind == "gateway" else svc.db


def client_secret_var(name: str) -> str:
    """``billing`` -> ``BILLING_AUTH_CLIENT_SECRET``: the ``.env`` variable of its secret."""
    return f"{env_prefix(name)}_AUTH_CLIENT_SECRET"


def dev_issuer_port(workspace: Workspace) -> int:
    """The port of ``auth.issuer``, which the issuer container serves (``provider: dev``).

    As for ``msgen dev up``: ``http://HOST:PORT`` with no path, on a port no service has.
    """
    auth = workspace.auth
    assert auth is not None and auth.provider == "dev"
    port, problem = workspace.dev_issuer_port()
    if problem is not None or port is None:
        raise UsageError(
            f"auth.issuer: {problem} (got {auth.issuer!r})",
            hint="e.g. issuer: http://127.0.0.1:8900, or provider: oidc for another issuer",
        )
    if ISSUER in workspace.services:
        raise UsageError(
            f"the service {ISSUER!r} has the name of the development issuer's container",
            hint="rename the service, or use provider: oidc with your own issuer",
        )
    return port


def _auth_env(workspace: Workspace, name: str) -> tuple[dict[str, str], list[str]]:
    """The AUTH_* variables of a service that verifies tokens, and what it waits for."""
    auth = workspace.auth
    if auth is None or not verifies_tokens(workspace, name):
        return {}, []
    env = {"AUTH_ISSUER": _literal(auth.issuer), "AUTH_AUDIENCE": auth.audience}
    if auth.provider == "dev":
        internal = f"http://{ISSUER}:{dev_issuer_port(workspace)}"
        env["AUTH_JWKS_URL"] = f"{internal}/.well-known/jwks.json"
        env["AUTH_TOKEN_URL"] = f"{internal}/token"
        why = _RUN_GENERATE
    else:
        env["AUTH_JWKS_URL"] = "${AUTH_JWKS_URL:-}"
        env["AUTH_TOKEN_URL"] = "${AUTH_TOKEN_URL:-}"
        why = f"set it in .env: the client secret of {name} at your issuer"
    env["AUTH_CLIENT_ID"] = name
    env["AUTH_CLIENT_SECRET"] = _needed(client_secret_var(name), why)
    return env, [ISSUER] if auth.provider == "dev" else []


def _issuer(workspace: Workspace, auth: AuthSettings) -> ComposeService:
    """The development issuer's container: ``python -m msgen.issuer`` on the host's keys."""
    from msgen.access import client_scopes, system_scopes

    port = dev_issuer_port(workspace)
    root = issuer_image.CONTAINER_ROOT
    env: dict[str, str] = {}
    for name in workspace.services:
        if verifies_tokens(workspace, name):
            key = f"{ISSUER_CLIENT_PREFIX}{env_prefix(name)}"
            env[f"{key}_ID"] = name
            env[f"{key}_SECRET"] = _needed(client_secret_var(name), _RUN_GENERATE)
            env[f"{key}_SCOPES"] = " ".join(client_scopes(workspace, name))
    keys: dict[str, Any] = {
        "type": "bind",
        "source": "./.msgen/issuer",
        "target": f"{root}/.msgen/issuer",
        "read_only": True,
        # A missing directory stops `up` instead of appearing owned by root.
        "bind": {"create_host_path": False},
    }
    probe = (
        "import urllib.request; urllib.request.urlopen("
        f"'http://127.0.0.1:{port}/.well-known/openid-configuration', timeout=4)"
    )
    user = f"{_needed(ISSUER_UID_VAR, _RUN_GENERATE)}:{_needed(ISSUER_GID_VAR, _RUN_GENERATE)}"
    return ComposeService(
        image=image_name(workspace.name, ISSUER, __version__),
        build=Build(
            context=issuer_image.ISSUER_CONTEXT_DIR,
            args={arg: f"${{{arg}:-{BUILD_ARGS[arg]}}}" for arg in ("BASE_IMAGE", "PIP_INDEX_URL")},
        ),
        command=[
            "--root",
            root,
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--issuer",
            _literal(auth.issuer),
            "--audience",
            auth.audience,
            "--client-env",
            ISSUER_CLIENT_PREFIX,
            "--scopes",
            " ".join(system_scopes(workspace)),
            "--read-only",
        ],
        user=user,
        environment=env,
        ports=[f"127.0.0.1:{port}:{port}"],
        volumes=[keys],
        healthcheck=Healthcheck(test=["CMD", "python", "-c", probe]),
        networks=[workspace.name],
    )


def _dev_issuer(workspace: Workspace) -> AuthSettings | None:
    auth = workspace.auth
    return auth if auth is not None and auth.provider == "dev" else None


def _host_ports(workspace: Workspace) -> set[int]:
    """Ports published on 127.0.0.1 by the services and the development issuer."""
    used = workspace.used_ports()
    if _dev_issuer(workspace) is not None:
        used.add(dev_issuer_port(workspace))
    return used


def _python_health(path: str) -> Healthcheck:
    probe = (
        "import os, urllib.request; "
        f"urllib.request.urlopen(f'http://127.0.0.1:{{os.environ[\"PORT\"]}}{path}', timeout=4)"
    )
    return Healthcheck(test=["CMD", "python", "-c", probe])


def _wget_health(url: str) -> Healthcheck:
    return Healthcheck(test=["CMD", "wget", "--quiet", "--spider", url])


def _healthy(*names: str) -> dict[str, dict[str, str]]:
    return {name: {"condition": "service_healthy"} for name in names}


def _upstream_edges(workspace: Workspace) -> dict[str, list[str]]:
    """Startup order from ``upstreams``, leaving out edges that would close a cycle."""
    edges: dict[str, list[str]] = {name: [] for name in workspace.services}

    def reaches(start: str, goal: str) -> bool:
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(edges[node])
        return False

    for name, svc in workspace.services.items():
        for upstream in sorted(set(svc.upstreams)):
            if upstream in edges and upstream != name and not reaches(upstream, name):
                edges[name].append(upstream)
    return edges


def _service_container(
    workspace: Workspace, name: str, selection: Selection, upstreams: list[str]
) -> tuple[ComposeService, list[str]]:
    svc = workspace.services[name]
    prefix = env_prefix(name)
    package = name.replace("-", "_")
    env = {"PORT": str(svc.port), "HOST": "0.0.0.0", "SERVICE_NAME": name}
    env.update(upstream_env(workspace, name))
    depends: list[str] = []
    volumes: list[str | dict[str, Any]] = []
    new_volumes: list[str] = []
    db = _db(svc)
    if db == "postgres":
        password = _needed(f"{prefix}_DB_PASSWORD", _RUN_GENERATE)
        env["DATABASE_URL"] = f"postgresql+asyncpg://{package}:{password}@{name}-db:5432/{package}"
        depends.append(f"{name}-db")
    elif db == "sqlite":
        volumes.append(f"{name}-data:/app")
        new_volumes.append(f"{name}-data")
    if svc.broker == "rabbitmq":
        if selection.has("rabbitmq"):
            password = _needed("RABBITMQ_PASSWORD", _RUN_GENERATE)
            env["BROKER_URL"] = f"amqp://{_RABBITMQ_USER}:{password}@rabbitmq:5672/"
            depends.append("rabbitmq")
        else:
            env["BROKER_URL"] = _external("BROKER_URL", "rabbitmq")
        env.update(unconsumed_env(workspace, name))
    if svc.discovery == "consul":
        if selection.has("consul"):
            env["CONSUL_HTTP_ADDR"] = "http://consul:8500"
            depends.append("consul")
        else:
            env["CONSUL_HTTP_ADDR"] = _external("CONSUL_HTTP_ADDR", "consul")
    if "tracing" in svc.features:
        if selection.has("jaeger"):
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://jaeger:4318"
            depends.append("jaeger")
        else:
            # Optional, unlike the broker or Consul: empty means the service exports nothing.
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
        env["OTEL_SERVICE_NAME"] = name
    auth_env, waits_for = _auth_env(workspace, name)
    env.update(auth_env)
    depends += waits_for
    container = ComposeService(
        image=service_image(workspace, name),
        build=Build(
            context=svc.path,
            args={arg: f"${{{arg}:-{default}}}" for arg, default in BUILD_ARGS.items()},
        ),
        environment=env,
        ports=[f"127.0.0.1:{svc.port}:{svc.port}"],
        volumes=volumes,
        healthcheck=_python_health("/health/ready"),
        depends_on=_healthy(*depends, *upstreams),
        networks=[workspace.name],
    )
    return container, new_volumes


def _postgres(workspace: Workspace, name: str) -> ComposeService:
    package = name.replace("-", "_")
    return ComposeService(
        image=_image("postgres"),
        environment={
            "POSTGRES_DB": package,
            "POSTGRES_USER": package,
            "POSTGRES_PASSWORD": _needed(f"{env_prefix(name)}_DB_PASSWORD", _RUN_GENERATE),
        },
        volumes=[f"{name}-db-data:/var/lib/postgresql/data"],
        healthcheck=Healthcheck(
            test=["CMD-SHELL", "pg_isready --username=$${POSTGRES_USER} --dbname=$${POSTGRES_DB}"]
        ),
        networks=[workspace.name],
    )


def _ui_port(name: str, used: set[int]) -> list[str]:
    port = _UI_PORTS[name]
    return [] if port in used else [f"127.0.0.1:{port}:{port}"]


def _infra(workspace: Workspace, name: str) -> tuple[ComposeService, list[str]]:
    """The container of one infrastructure piece and the named volumes it adds."""
    used = _host_ports(workspace)
    net = [workspace.name]
    if name == "rabbitmq":
        return ComposeService(
            image=_image("rabbitmq"),
            environment={
                "RABBITMQ_DEFAULT_USER": _RABBITMQ_USER,
                "RABBITMQ_DEFAULT_PASS": _needed("RABBITMQ_PASSWORD", _RUN_GENERATE),
            },
            ports=_ui_port(name, used),
            volumes=[
                "rabbitmq-data:/var/lib/rabbitmq",
                f"./{RABBITMQ_DEFINITIONS_FILE.rsplit('/', 1)[0]}:{_DEFINITIONS_MOUNT}:ro",
            ],
            healthcheck=Healthcheck(test=["CMD-SHELL", _RABBITMQ_HEALTH]),
            networks=net,
        ), ["rabbitmq-data"]
    if name == "consul":
        return ComposeService(
            image=_image("consul"),
            command=["agent", "-dev", "-client=0.0.0.0"],
            ports=_ui_port(name, used),
            healthcheck=Healthcheck(test=["CMD", "consul", "members"]),
            networks=net,
        ), []
    if name == "jaeger":
        return ComposeService(
            image=_image("jaeger"),
            ports=_ui_port(name, used),
            healthcheck=_wget_health("http://127.0.0.1:13133/status"),
            networks=net,
        ), []
    if name == "prometheus":
        return ComposeService(
            image=_image("prometheus"),
            command=[
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
            ],
            ports=_ui_port(name, used),
            volumes=[
                f"./{monitoring.PROMETHEUS_FILE}:/etc/prometheus/prometheus.yml:ro",
                "prometheus-data:/prometheus",
            ],
            healthcheck=_wget_health("http://127.0.0.1:9090/-/healthy"),
            networks=net,
        ), ["prometheus-data"]
    return ComposeService(
        image=_image("grafana"),
        environment={
            "GF_SECURITY_ADMIN_USER": "admin",
            "GF_SECURITY_ADMIN_PASSWORD": _needed("GRAFANA_ADMIN_PASSWORD", _RUN_GENERATE),
            "GF_USERS_ALLOW_SIGN_UP": "false",
        },
        ports=_ui_port(name, used),
        volumes=[
            f"./{monitoring.GRAFANA_PROVISIONING_DIR}:/etc/grafana/provisioning:ro",
            f"./{monitoring.GRAFANA_DASHBOARDS_DIR}:{monitoring.GRAFANA_DASHBOARDS_MOUNT}:ro",
            "grafana-data:/var/lib/grafana",
        ],
        healthcheck=_wget_health("http://127.0.0.1:3000/api/health"),
        depends_on=_healthy("prometheus"),
        networks=net,
    ), ["grafana-data"]


def build_compose(workspace: Workspace, selection: Selection) -> ComposeFile:
    """The compose document for ``workspace`` with the infrastructure in ``selection``."""
    services: dict[str, ComposeService] = {}
    volumes: list[str] = []
    edges = _upstream_edges(workspace)
    for name, svc in workspace.services.items():
        container, added = _service_container(workspace, name, selection, edges[name])
        services[name] = container
        volumes += added
        if _db(svc) == "postgres":
            services[f"{name}-db"] = _postgres(workspace, name)
            volumes.append(f"{name}-db-data")
    for piece in INFRA:
        if selection.has(piece):
            services[piece], added = _infra(workspace, piece)
            volumes += added
    auth = _dev_issuer(workspace)
    if auth is not None:
        services[ISSUER] = _issuer(workspace, auth)
    return ComposeFile(
        services=services,
        networks={workspace.name: {"driver": "bridge"}},
        volumes={volume: {"driver": "local"} for volume in volumes},
        x_msgen={"with": list(selection.include), "without": list(selection.exclude)},
    )


def _env_example(workspace: Workspace, selection: Selection) -> str:
    lines = [
        "# The variables docker-compose.yml reads from .env. msgen writes .env with random",
        "# passwords the first time; it is git-ignored and msgen never overwrites it.",
    ]
    for var in env_vars(workspace, selection):
        lines += ["", f"# {var.comment}", f"{var.name}="]
    lines += [
        "",
        "# Optional. Building the service images: the Python base image, a package index or",
        "# mirror, and PIP_NO_INDEX=1 to install from each service's wheels/ directory alone.",
    ]
    lines += [f"# {arg}={default}" for arg, default in BUILD_ARGS.items()]
    used = sorted(_used_images(workspace, selection))
    if used:
        lines += ["", "# Optional. Replace an image (a mirror, a pinned digest, a local build)."]
        lines += [f"# {IMAGE_VARS[name]}={IMAGES[name]}" for name in used]
    return "\n".join(lines) + "\n"


def _used_images(workspace: Workspace, selection: Selection) -> set[str]:
    used = {name for name in INFRA if selection.has(name)}
    if any(_db(svc) == "postgres" for svc in workspace.services.values()):
        used.add("postgres")
    return used


def compose_files(workspace: Workspace, selection: Selection) -> list[GeneratedFile]:
    """``docker-compose.yml``, ``.env.example`` and the configs the file mounts.

    Those are RabbitMQ's definitions and the monitoring configs, when they run.

    With ``auth.provider: dev``, also the issuer's build context (``deploy/issuer/``).
    """
    document = build_compose(workspace, selection).to_data()
    files = [
        yaml_file(COMPOSE_FILE, [document], regenerate=REGENERATE),
        text_file(ENV_EXAMPLE_FILE, _env_example(workspace, selection), regenerate=REGENERATE),
    ]
    if selection.has("rabbitmq"):
        from msgen.topology import definitions, system_topology

        topology = definitions(system_topology(workspace))
        files.append(json_file(RABBITMQ_DEFINITIONS_FILE, topology, regenerate=REGENERATE))
    if selection.has("prometheus"):
        files.append(monitoring.prometheus_file(workspace, regenerate=REGENERATE))
    if selection.has("grafana"):
        files += monitoring.grafana_files(workspace, regenerate=REGENERATE)
    if _dev_issuer(workspace) is not None:
        files += issuer_image.context_files(
            BUILD_ARGS["BASE_IMAGE"], BUILD_ARGS["PIP_INDEX_URL"], regenerate=REGENERATE
        )
    return files
