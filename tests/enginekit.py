"""A real Docker engine for the tests, on a machine without a container registry.

``provide_engine()`` installs Debian's docker.io, debootstrap and docker-compose when they
are missing, uses a running engine at /var/run/docker.sock or else starts its own dockerd
(on a private socket, so a system engine is never touched) and stops only that one. Images
come from Debian packages, never from a registry:

- ``msgen-engine/python:<hash>``: a debootstrap ``minbase`` bookworm with Python 3.11 and
  venv, imported with ``docker import``: the ``BASE_IMAGE`` of the service Dockerfile;
- ``msgen-engine/postgres:<hash>`` and ``msgen-engine/rabbitmq:<hash>``: Debian's
  postgresql-15 and rabbitmq-server on that base (tests/engine/*/Dockerfile), built with
  host networking so apt reaches the mirror; compose uses them through POSTGRES_IMAGE and
  RABBITMQ_IMAGE in ``.env``.

The engine's data root lives in CACHE (/var/cache/msgen-engine, or MSGEN_ENGINE_CACHE), so
the images survive between runs: ``<hash>`` is a digest of the recipe, and images of an
older recipe are removed when a new one is built.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENGINE_FILES = Path(__file__).resolve().parent / "engine"
CACHE = Path(os.environ.get("MSGEN_ENGINE_CACHE", "/var/cache/msgen-engine"))
RUN_DIR = Path("/run/msgen-engine")
SYSTEM_SOCKET = "/var/run/docker.sock"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
# What the engine tests need on the host: command -> Debian package.
HOST_PACKAGES = {
    "dockerd": "docker.io",
    "debootstrap": "debootstrap",
    "docker-compose": "docker-compose",
}
# Flags that work without touching the host's firewall: no iptables rules, no NAT and no
# docker0. Compose's own bridge networks (and their DNS) and published ports still work.
DOCKERD_FLAGS = ("--iptables=false", "--ip-masq=false", "--bridge=none")
# Parts of the root filesystem an image does not need.
_TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man")


class EngineUnavailable(Exception):
    """The engine (or its images) cannot be provided here; the message says why."""


@dataclass
class Engine:
    """A reachable engine: its DOCKER_HOST, and the dockerd process if this module started it."""

    host: str
    process: subprocess.Popen[bytes] | None = None
    storage_driver: str = ""
    images: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def client(self) -> Any:
        import docker

        return docker.DockerClient(base_url=self.host, version="auto", timeout=600)

    def env(self) -> dict[str, str]:
        """The environment for msgen and compose: this engine, no venv leaking in."""
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        env["DOCKER_HOST"] = self.host
        return env


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_host_packages() -> None:
    """apt-get install what is missing; raise EngineUnavailable with apt's words if it fails."""
    missing = [pkg for cmd, pkg in HOST_PACKAGES.items() if shutil.which(cmd) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise EngineUnavailable(
            f"{', '.join(missing)} not installed and no root with apt-get to install them"
        )
    # Another apt may hold the lock for a while (a concurrent install): wait for it.
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", *missing]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = _run(install, env=env)
    if done.returncode != 0:
        _run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-q"], env=env)
        done = _run(install, env=env)
    if done.returncode != 0:
        raise EngineUnavailable(
            f"apt-get install {' '.join(missing)} failed:\n{_tail(done.stderr)}"
        )


def _ping(host: str) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=host, version="auto", timeout=5)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def provide_engine() -> Engine:
    """A running engine: the system's, a leftover of ours, or a dockerd started now."""
    system = Path(SYSTEM_SOCKET).exists() and _ping(f"unix://{SYSTEM_SOCKET}")
    if os.geteuid() == 0:
        ensure_host_packages()
    elif not system:
        raise EngineUnavailable("no engine at /var/run/docker.sock, and starting one needs root")
    if system:
        return Engine(host=f"unix://{SYSTEM_SOCKET}")
    ours = f"unix://{RUN_DIR / 'docker.sock'}"
    if (RUN_DIR / "docker.sock").exists() and _ping(ours):
        # Left running by an interrupted run of these tests: ours to use and to stop.
        pid = int((RUN_DIR / "dockerd.pid").read_text())
        return Engine(host=ours, process=_Adopted(pid))  # type: ignore[arg-type]
    errors = []
    for driver in ("overlay2", "vfs"):
        try:
            return _start_dockerd(driver)
        except EngineUnavailable as exc:
            errors.append(f"{driver}: {exc}")
    raise EngineUnavailable("dockerd did not start:\n" + "\n".join(errors))


class _Adopted:
    """A dockerd this module started in an earlier, interrupted run (only its pid is known)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        return None if Path(f"/proc/{self.pid}").exists() else 0

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["dockerd"], timeout)
            time.sleep(0.2)
        return 0


def _start_dockerd(driver: str) -> Engine:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    data_root = CACHE / f"docker-{driver}"
    data_root.mkdir(parents=True, exist_ok=True)
    sock = RUN_DIR / "docker.sock"
    log_path = CACHE / "dockerd.log"
    argv = [
        "dockerd",
        f"--storage-driver={driver}",
        *DOCKERD_FLAGS,
        f"--data-root={data_root}",
        f"--exec-root={RUN_DIR / 'exec'}",
        f"--pidfile={RUN_DIR / 'dockerd.pid'}",
        f"--host=unix://{sock}",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    host = f"unix://{sock}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            lines = [
                line
                for line in log_path.read_text(errors="replace").splitlines()
                if "level=error" in line or "level=fatal" in line or "failed" in line
            ]
            raise EngineUnavailable(_tail("\n".join(lines), 5) or "dockerd exited")
        if sock.exists() and _ping(host):
            return Engine(host=host, process=process, storage_driver=driver)
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    raise EngineUnavailable(f"dockerd did not answer on {sock} within 60s")


def stop_engine(engine: Engine) -> None:
    """Stop the dockerd this module started (never a system engine); the cache stays."""
    process = engine.process
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    # A dockerd that died hard can leave mounts behind under its roots.
    for root in (RUN_DIR, *CACHE.glob("docker-*")):
        for mount in _mounts_under(root):
            _run(["umount", "--lazy", mount])
    shutil.rmtree(RUN_DIR / "exec", ignore_errors=True)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root) + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True)


# --- images -------------------------------------------------------------------------------


def _digest(*parts: str | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            for path in sorted(p for p in part.rglob("*") if p.is_file()):
                h.update(path.relative_to(part).as_posix().encode())
                h.update(path.read_bytes())
        else:
            h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def base_recipe() -> str:
    return json.dumps(
        {"suite": SUITE, "mirror": MIRROR, "packages": BASE_PACKAGES, "trim": _TRIM, "v": 1}
    )


def _has_image(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def prepare_images(engine: Engine, *, infra: bool) -> dict[str, str]:
    """Tags of the base (and PostgreSQL and RabbitMQ) images, built only when missing."""
    client = engine.client()
    try:
        base_hash = _digest(base_recipe())
        tags = {"python": f"msgen-engine/python:{base_hash}"}
        if infra:
            for name in ("postgres", "rabbitmq"):
                tags[name] = f"msgen-engine/{name}:{_digest(base_hash, ENGINE_FILES / name)}"
        _remove_stale(client, set(tags.values()), keep_kinds=set(tags) if not infra else None)
        if not _has_image(client, tags["python"]):
            started = time.monotonic()
            _import_base(client, tags["python"])
            engine.timings["base image"] = time.monotonic() - started
        for name in ("postgres", "rabbitmq"):
            if name in tags and not _has_image(client, tags[name]):
                started = time.monotonic()
                _build_infra(client, name, tags[name], base=tags["python"])
                engine.timings[f"{name} image"] = time.monotonic() - started
        engine.images.update(tags)
        return tags
    finally:
        client.close()


def _remove_stale(client: Any, current: set[str], keep_kinds: set[str] | None) -> None:
    """Remove msgen-engine images of older recipes (their layers go with them)."""
    for image in client.images.list():
        for tag in image.tags:
            repo = tag.rsplit(":", 1)[0]
            if not repo.startswith("msgen-engine/") or tag in current:
                continue
            kind = repo.removeprefix("msgen-engine/")
            if keep_kinds is not None and kind not in keep_kinds:
                continue  # not needed by this run, but maybe current for another: keep
            with contextlib.suppress(Exception):
                client.images.remove(tag, force=True)


def _import_base(client: Any, tag: str) -> None:
    """debootstrap a minimal bookworm with Python and import it as ``tag``."""
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        raise EngineUnavailable(f"building {tag} needs root and debootstrap")
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=CACHE))
    rootfs = work / "rootfs"
    try:
        done = _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                SUITE,
                str(rootfs),
                MIRROR,
            ]
        )
        if done.returncode != 0:
            raise EngineUnavailable(f"debootstrap failed:\n{_tail(done.stdout + done.stderr)}")
        for part in _TRIM:
            target = rootfs / part
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir()
        tarball = work / "rootfs.tar"
        tar = _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."])
        if tar.returncode != 0:
            raise EngineUnavailable(f"tar of the root filesystem failed: {tar.stderr}")
        repository, image_tag = tag.rsplit(":", 1)
        client.api.import_image_from_file(
            str(tarball),
            repository=repository,
            tag=image_tag,
            changes=["ENV LANG=C.UTF-8", 'CMD ["python3"]'],
        )
        if not _has_image(client, tag):
            raise EngineUnavailable(f"docker import did not create {tag}")
    finally:
        for mount in _mounts_under(work):
            _run(["umount", "--lazy", mount])
        shutil.rmtree(work, ignore_errors=True)


def _build_infra(client: Any, name: str, tag: str, *, base: str) -> None:
    """Build tests/engine/<name> on the base image; host network lets apt reach the mirror."""
    import docker.errors

    try:
        client.images.build(
            path=str(ENGINE_FILES / name),
            tag=tag,
            buildargs={"BASE_IMAGE": base},
            network_mode="host",
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as exc:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
        raise EngineUnavailable(f"building the {name} image failed: {exc}\n{_tail(log)}") from exc


# --- compose projects ---------------------------------------------------------------------


def project_leftovers(engine: Engine, project: str) -> dict[str, list[str]]:
    """Containers, networks and volumes still labelled with compose ``project``."""
    label = {"label": f"com.docker.compose.project={project}"}
    client = engine.client()
    try:
        found = {
            "containers": [c.name for c in client.containers.list(all=True, filters=label)],
            "networks": [n.name for n in client.networks.list(filters=label)],
            "volumes": [v.name for v in client.volumes.list(filters=label)],
        }
        # And by name, in case a compose version does not label something.
        found["networks"] += [
            n.name for n in client.networks.list() if n.name.startswith(f"{project}_")
        ]
        found["volumes"] += [
            v.name for v in client.volumes.list() if v.name.startswith(f"{project}_")
        ]
        return {kind: sorted(set(names)) for kind, names in found.items() if names}
    finally:
        client.close()


def container_health(engine: Engine, project: str) -> dict[str, str]:
    """``{compose service: health status}`` of the project's containers."""
    label = {"label": f"com.docker.compose.project={project}"}
    client = engine.client()
    try:
        result = {}
        for container in client.containers.list(all=True, filters=label):
            state = container.attrs["State"]
            service = container.labels.get("com.docker.compose.service", container.name)
            result[service] = state.get("Health", {}).get("Status", state["Status"])
        return result
    finally:
        client.close()


def force_remove_project(engine: Engine, project: str) -> None:
    """Last-resort cleanup when compose down itself failed."""
    label = {"label": f"com.docker.compose.project={project}"}
    client = engine.client()
    try:
        for container in client.containers.list(all=True, filters=label):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        for network in client.networks.list(filters=label):
            with contextlib.suppress(Exception):
                network.remove()
        for volume in client.volumes.list(filters=label):
            with contextlib.suppress(Exception):
                volume.remove(force=True)
    finally:
        client.close()


def remove_images(engine: Engine, prefix: str) -> None:
    """Remove the service images a test built (tags starting with ``prefix``).

    The builder stage's layers stay as the build cache of the next run (the same wheels and
    sources hit it); dangling layers unused for three days are pruned.
    """
    client = engine.client()
    try:
        for image in client.images.list():
            for tag in image.tags:
                if tag.startswith(prefix):
                    with contextlib.suppress(Exception):
                        client.images.remove(tag, force=True)
        with contextlib.suppress(Exception):
            client.images.prune(filters={"dangling": True, "until": "72h"})
    finally:
        client.close()


def fill_wheelhouse(service: Path) -> None:
    """Every dependency of ``service`` (and its build backend) as wheels in its ``wheels/``.

    Built once per pyproject.toml with this Python (which must be the image's 3.11) and kept
    in CACHE/wheelhouse; wheelhouses unused for a week are removed.
    """
    project = (service / "pyproject.toml").read_bytes()
    key = _digest(project.decode(), sys.version.split()[0], "hatchling", "v1")
    houses = CACHE / "wheelhouse"
    house = houses / key
    if not house.is_dir():
        houses.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="building-", dir=houses))
        try:
            pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(scratch)]
            done = _run([*pip, str(service), "hatchling"], timeout=900)
            if done.returncode != 0:
                raise EngineUnavailable(f"pip wheel failed:\n{_tail(done.stderr)}")
            own = service.name.replace("-", "_")
            for wheel in scratch.glob(f"{own}-*.whl"):
                wheel.unlink()
            scratch.rename(house)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    os.utime(house)
    for wheel in house.glob("*.whl"):
        shutil.copy2(wheel, service / "wheels" / wheel.name)
    week_ago = time.time() - 7 * 24 * 3600
    for old in houses.iterdir():
        if old != house and old.stat().st_mtime < week_ago:
            shutil.rmtree(old, ignore_errors=True)
