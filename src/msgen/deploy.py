"""Generating the deployment files of a workspace, and moving canary traffic.

The CLI calls these; they never print. Each one that writes holds the workspace lock
(:func:`msgen.locking.changes_workspace`). Manifests come from the pure builders in
:mod:`msgen.manifests` and are written by :mod:`msgen.outputs` (atomic, edit-preserving).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from msgen.errors import UsageError
from msgen.locking import changes_workspace
from msgen.manifests.common import GeneratedFile
from msgen.outputs import (
    EnvResult,
    Outcome,
    check_inputs,
    ensure_env,
    ensure_gitignored,
    write_tree,
)
from msgen.workspace import WORKSPACE_FILE, WorkspaceFile

__all__ = [
    "CanaryResult",
    "ComposeResult",
    "compose_is_stale",
    "ensure_issuer_keys",
    "generate_compose",
    "generate_k8s",
    "generate_mesh",
    "mark_fresh",
    "recorded_selection",
    "set_canary",
]

_VERSION = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_VERSION_LENGTH = 20


@dataclass(frozen=True, slots=True)
class ComposeResult:
    """What ``generate_compose`` wrote."""

    outcomes: list[Outcome]
    env: EnvResult
    gitignore_added: bool
    infra: list[str]


@changes_workspace
def generate_compose(
    workspace: WorkspaceFile,
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    force: bool = False,
) -> ComposeResult:
    """Write ``docker-compose.yml``, ``.env.example``, monitoring configs and ``.env``.

    With ``auth.provider: dev`` also the issuer's build context (``deploy/issuer/``) and the
    directory of its keys, ``.msgen/issuer/`` (private, the user's: Compose mounts it; the
    keys themselves are made by ``msgen compose up`` or ``msgen token``).
    """
    from msgen.manifests.compose import (
        INFRA,
        ISSUER_GID_VAR,
        ISSUER_UID_VAR,
        compose_files,
        env_vars,
        select_infra,
    )
    from msgen.manifests.issuer_image import ISSUER_CONTEXT_DIR
    from msgen.manifests.monitoring import MONITORING_DIR

    selection = select_infra(workspace.model, include=include, exclude=exclude)
    files = compose_files(workspace.model, selection)
    variables = [(v.name, v.secret, v.comment) for v in env_vars(workspace.model, selection)]
    check_inputs(workspace.root)
    issuer = [f for f in files if f.path.startswith(f"{ISSUER_CONTEXT_DIR}/")]
    rest = [f for f in files if f not in issuer]
    outcomes = _write(workspace, rest, MONITORING_DIR, force=force)
    outcomes += _write(workspace, issuer, ISSUER_CONTEXT_DIR, force=force)
    if _dev_issuer(workspace):
        from msgen.issuer import issuer_dir

        issuer_dir(workspace.root)
    gitignore_added = ensure_gitignored(workspace.root)  # before .env: its secrets stay ignored
    uid, gid = _issuer_user()
    env = ensure_env(
        workspace.root, variables, values={ISSUER_UID_VAR: str(uid), ISSUER_GID_VAR: str(gid)}
    )
    infra = [piece for piece in INFRA if selection.has(piece)]
    return ComposeResult(outcomes=outcomes, env=env, gitignore_added=gitignore_added, infra=infra)


def _dev_issuer(workspace: WorkspaceFile) -> bool:
    auth = workspace.model.auth
    return auth is not None and auth.provider == "dev"


def _issuer_user() -> tuple[int, int]:
    """The uid and gid the issuer container runs as: this user's, who owns the keys.

    Never root: run as root, msgen names the image's own user (10001), to whom the keys
    must then be given (``chown -R 10001:10001 .msgen/issuer``, see docs/auth.md).
    """
    from msgen.manifests.issuer_image import IMAGE_UID

    uid, gid = os.getuid(), os.getgid()
    return (uid, gid) if uid != 0 else (IMAGE_UID, IMAGE_UID)


def ensure_issuer_keys(workspace: WorkspaceFile) -> bool:
    """Create the development issuer's keys unless they exist (``provider: dev``).

    ``msgen compose up`` calls it: the issuer container reads them from a read-only mount
    and cannot create them. False when the workspace has no development issuer.
    """
    if not _dev_issuer(workspace):
        return False
    from msgen.issuer import load_keys

    load_keys(workspace.root)
    return True


def _write(
    workspace: WorkspaceFile, files: list[GeneratedFile], directory: str, *, force: bool
) -> list[Outcome]:
    """Write ``files``, then remove msgen's earlier files under ``directory`` not among them."""
    return write_tree(workspace.root, directory, files, force=force)


def recorded_selection(root: Path) -> tuple[list[str], list[str]]:
    """The ``--with``/``--without`` the existing compose file was generated with."""
    import yaml

    from msgen.manifests.compose import COMPOSE_FILE

    try:
        data = yaml.safe_load((root / COMPOSE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return [], []
    record = data.get("x-msgen") if isinstance(data, dict) else None
    if not isinstance(record, dict):
        return [], []
    include = [str(x) for x in record.get("with") or []]
    exclude = [str(x) for x in record.get("without") or []]
    return include, exclude


def compose_is_stale(workspace: WorkspaceFile) -> bool:
    """True when the compose file is missing or older than ``msgen.yaml``."""
    from msgen.manifests.compose import COMPOSE_FILE

    compose = workspace.root / COMPOSE_FILE
    if not compose.exists():
        return True
    return (workspace.root / WORKSPACE_FILE).stat().st_mtime > compose.stat().st_mtime


def mark_fresh(workspace: WorkspaceFile) -> None:
    """Note that the compose file matches ``msgen.yaml`` even if regeneration left it as is."""
    import os

    from msgen.manifests.compose import COMPOSE_FILE

    compose = workspace.root / COMPOSE_FILE
    if compose.exists():
        os.utime(compose)


@changes_workspace
def generate_k8s(workspace: WorkspaceFile, *, force: bool = False) -> list[Outcome]:
    """Write the kustomize base under ``deploy/k8s/``."""
    from msgen.manifests.k8s import K8S_DIR, k8s_files

    return _write(workspace, k8s_files(workspace.model), K8S_DIR, force=force)


@changes_workspace
def generate_mesh(workspace: WorkspaceFile, *, force: bool = False) -> list[Outcome]:
    """Write the Istio objects under ``deploy/istio/``."""
    from msgen.manifests.istio import ISTIO_DIR, istio_files

    return _write(workspace, istio_files(workspace.model), ISTIO_DIR, force=force)


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """The weights before and after a canary change."""

    service: str
    before: dict[str, int]
    after: dict[str, int]


def _stable(weights: dict[str, int], exclude: str) -> str | None:
    """The version that carries the most traffic other than ``exclude`` (first on ties)."""
    others = [(weight, -index, v) for index, (v, weight) in enumerate(weights.items())]
    others = [item for item in others if item[2] != exclude]
    return max(others)[2] if others else None


def plan_canary(
    weights: dict[str, int], *, version: str, weight: int | None, promote: bool
) -> dict[str, int]:
    """The new weights: pure, so the rules are easy to test exhaustively."""
    if not _VERSION.match(version) or len(version) > MAX_VERSION_LENGTH:
        raise UsageError(
            f"invalid version {version!r}: use up to {MAX_VERSION_LENGTH} lowercase letters, "
            "digits and hyphens (e.g. v2)"
        )
    current = dict(weights) or {"v1": 100}
    if promote:
        if weight is not None and weight != 100:
            raise UsageError("--promote sends all traffic to the version; drop --weight")
        if version not in current:
            known = ", ".join(current)
            raise UsageError(
                f"unknown version {version!r} (known: {known})",
                hint=f"start a canary first: msgen mesh canary SERVICE --version {version} "
                "--weight 10",
            )
        return {version: 100}
    if weight is None:
        raise UsageError("give --weight 0-100 (or --promote)")
    if not 0 <= weight <= 100:
        raise UsageError(f"invalid weight {weight}: it must be between 0 and 100")
    stable = _stable(current, version)
    if stable is None:
        if weight != 100:
            raise UsageError(
                f"{version!r} is the only version: nothing else can take "
                f"{100 - weight}% of the traffic",
                hint="give a new version, e.g. --version v2",
            )
        return {version: 100}
    result = dict.fromkeys(current, 0)
    result[stable] = 100 - weight
    result[version] = weight
    return result


@changes_workspace
def set_canary(
    workspace: WorkspaceFile,
    service: str,
    *,
    version: str,
    weight: int | None,
    promote: bool,
    force: bool = False,
) -> tuple[CanaryResult, list[Outcome]]:
    """Set new weights for ``service``: write the manifests first, then save ``msgen.yaml``.

    The mesh manifests (and the k8s ones, when ``deploy/k8s`` has been generated) are written
    from the changed model before it is saved, so a failed write leaves ``msgen.yaml`` with
    the old weights and the rerun of the same command completes the change. Weights the k8s
    manifests refuse (a canary of a SQLite service) are refused before any file is written.
    """
    from msgen.manifests.k8s import K8S_DIR, check_versions

    workspace.model.require([service])
    entry = workspace.model.services[service]
    before = dict(entry.versions)
    after = plan_canary(before, version=version, weight=weight, promote=promote)
    workspace.model.services[service] = entry.model_copy(update={"versions": after})
    try:
        k8s = (workspace.root / K8S_DIR / "kustomization.yaml").exists()
        if k8s:
            check_versions(workspace.model)  # refused before any file is written
        outcomes = generate_mesh(workspace, force=force)
        if k8s:
            outcomes += generate_k8s(workspace, force=force)
    except BaseException:
        workspace.model.services[service] = entry
        raise
    workspace.save()
    return CanaryResult(service=service, before=before, after=after), outcomes
