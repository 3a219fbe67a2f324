"""Docker: is the engine reachable, which Compose is installed, and running it.

The engine check uses the Docker SDK (imported only here, when a command needs it). Compose
v2 (``docker compose``) is preferred and v1 (``docker-compose``) is the fallback. Compose
runs with the workspace root as its working directory, so it reads ``docker-compose.yml``,
``docker-compose.override.yml`` and ``.env`` itself; its output streams straight to the
terminal and its exit code is returned unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from msgen.errors import ComposeNotFoundError, DockerError, DockerUnavailableError

__all__ = ["check_engine", "find_compose", "run_compose"]

_INSTALL_HINT = "install Docker Compose v2 (the docker-compose-plugin package) or docker-compose"


def check_engine(*, timeout: float = 5.0) -> None:
    """Raise DockerUnavailableError unless the engine answers a ping."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:
        raise DockerError(
            "the Docker SDK for Python is not installed", hint="pip install docker"
        ) from exc
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    hint = "start Docker (or point DOCKER_HOST at a running engine) and try again"
    socket_path = _unix_socket(os.environ.get("DOCKER_HOST"))
    if socket_path is not None and not _accepts(socket_path, timeout):
        raise DockerUnavailableError(f"the Docker engine is not reachable at {where}", hint=hint)
    try:
        # A fixed API version skips the SDK's version negotiation; the unversioned /_ping
        # answers on every engine whatever API versions it supports.
        client = docker.APIClient(
            version=docker.constants.DEFAULT_DOCKER_API_VERSION,
            timeout=int(timeout),
            **docker.utils.kwargs_from_env(),
        )
    except DockerException as exc:
        raise DockerUnavailableError(f"cannot use DOCKER_HOST={where}: {exc}", hint=hint) from exc
    try:
        response = client.get(f"{client.base_url}/_ping", timeout=timeout)
        response.raise_for_status()
    except (DockerException, OSError) as exc:
        raise DockerUnavailableError(
            f"the Docker engine is not reachable at {where}", hint=hint
        ) from exc
    finally:
        client.close()


def _unix_socket(docker_host: str | None) -> str | None:
    if not docker_host:
        return "/var/run/docker.sock"
    return docker_host.removeprefix("unix://") if docker_host.startswith("unix://") else None


def _accepts(path: str, timeout: float) -> bool:
    """Connect to a Unix socket ourselves: the SDK leaks the socket when this fails."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError:
            return False
    return True


def find_compose() -> list[str]:
    """The command that runs Compose: ``docker compose`` (v2), else ``docker-compose`` (v1)."""
    docker_cli = shutil.which("docker")
    if docker_cli is not None:
        try:
            probe = subprocess.run(
                [docker_cli, "compose", "version"],
                capture_output=True,
                check=False,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            probe = None
        if probe is not None and probe.returncode == 0:
            return [docker_cli, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is not None:
        return [legacy]
    raise ComposeNotFoundError(
        "neither `docker compose` (v2) nor `docker-compose` (v1) is installed",
        hint=_INSTALL_HINT,
    )


def run_compose(command: list[str], args: list[str], *, cwd: Path) -> int:
    """Run Compose with ``args`` in ``cwd``; output streams through, the exit code returns."""
    try:
        return subprocess.run([*command, *args], cwd=cwd, check=False).returncode
    except OSError as exc:
        raise ComposeNotFoundError(
            f"cannot run {' '.join(command)}: {exc.strerror}", hint=_INSTALL_HINT
        ) from exc
