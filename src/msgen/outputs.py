"""Writing generated files: atomically, and never over a file someone edited.

A file msgen generated carries a hash of its own text in its header. On regeneration a file
is replaced only when it is unchanged since msgen wrote it (or with ``force``); an edited
file, or a file msgen did not write, is kept and reported. ``.env`` holds secrets: it is
created with random passwords, later only gains missing variables, and is git-ignored.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from msgen.errors import OutputError
from msgen.manifests.common import GeneratedFile, is_pristine

__all__ = [
    "EnvResult",
    "Outcome",
    "check_inputs",
    "ensure_env",
    "ensure_gitignored",
    "prune_stale",
    "write_generated",
]

Action = Literal["created", "updated", "unchanged", "kept", "replaced", "removed"]
NEVER_WRITTEN = frozenset({"docker-compose.override.yml", "docker-compose.override.yaml"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one generated file."""

    path: str
    action: Action


@dataclass(frozen=True, slots=True)
class EnvResult:
    """What ``ensure_env`` did: created the file, and which variables it added."""

    path: Path
    created: bool
    added: list[str]


def atomic_write(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it.

    A symbolic link (a ``.env`` kept elsewhere) is written through: the temporary file goes
    beside the file it points at and replaces that, so the link stays a link.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _decide(path: Path, text: str, *, force: bool) -> Action:
    if not path.exists():
        return "created"
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "replaced" if force else "kept"
    if old == text:
        return "unchanged"
    if is_pristine(old):
        return "updated"
    return "replaced" if force else "kept"


def write_generated(root: Path, files: list[GeneratedFile], *, force: bool) -> list[Outcome]:
    """Write ``files`` under ``root``; edited files are kept unless ``force``."""
    outcomes = []
    for generated in files:
        if Path(generated.path).name in NEVER_WRITTEN:
            raise OutputError(f"msgen never writes {generated.path}")
        path = root / generated.path
        action = _decide(path, generated.text, force=force)
        if action in {"created", "updated", "replaced"}:
            atomic_write(path, generated.text)
        outcomes.append(Outcome(path=generated.path, action=action))
    return outcomes


def prune_stale(root: Path, directory: str, keep: set[str]) -> list[Outcome]:
    """Remove files msgen generated under ``directory`` earlier that are no longer generated.

    Only unedited msgen files go (a retired canary's Deployment, a removed service's
    dashboard); anything edited or not written by msgen stays. Emptied directories go too.
    """
    base = root / directory
    if not base.is_dir():
        return []
    outcomes = []
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative in keep:
            continue
        try:
            pristine = is_pristine(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if pristine:
            try:
                path.unlink()
            except OSError as exc:
                raise OutputError(f"cannot remove {path}: {exc.strerror}") from exc
            outcomes.append(Outcome(path=relative, action="removed"))
    for folder in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return outcomes


def _read_optional(path: Path) -> str | None:
    """The text of a file the user edits, None when absent; unreadable text is refused."""
    from msgen.errors import InputFileError
    from msgen.inputs import read_text

    if not path.exists() and not path.is_symlink():
        return None
    return read_text(path, error=InputFileError)


def check_inputs(root: Path) -> None:
    """Refuse an unreadable ``.env`` or ``.gitignore`` before anything is generated.

    Both are read again when they are changed; reading them first means a bad one stops
    ``compose generate`` before it has written half of its files.
    """
    for name in (".gitignore", ".env"):
        _read_optional(root / name)


def _env_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        stripped = line.strip().removeprefix("export ").strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            names.add(stripped.split("=", 1)[0].strip())
    return names


def ensure_env(root: Path, variables: list[tuple[str, bool, str]]) -> EnvResult:
    """Create ``.env`` (mode 600) or add the variables it lacks; never change a value.

    ``variables`` are ``(name, secret, comment)``: secrets get a random value, the others
    an empty one for the user to fill in (compose refuses to start until they do).
    """
    path = root / ".env"
    old = _read_optional(path)
    present = _env_names(old or "")
    lines = []
    added = []
    for name, secret, comment in variables:
        if name in present:
            continue
        value = secrets.token_urlsafe(24) if secret else ""
        lines += [f"# {comment}", f"{name}={value}"]
        added.append(name)
    if old is None:
        header = (
            "# Secrets for docker-compose.yml, written once by msgen. Never commit this file.\n"
        )
        atomic_write(path, header + "\n".join(lines) + ("\n" if lines else ""), mode=0o600)
        return EnvResult(path=path, created=True, added=added)
    if added:
        separator = "" if old.endswith("\n") or not old else "\n"
        mode = path.stat().st_mode & 0o777
        atomic_write(path, old + separator + "\n".join(lines) + "\n", mode=mode)
    return EnvResult(path=path, created=False, added=added)


def ensure_gitignored(root: Path, entry: str = ".env") -> bool:
    """Add ``entry`` to the workspace's ``.gitignore`` unless it is there; True if added."""
    path = root / ".gitignore"
    old = _read_optional(path) or ""
    if entry in {line.strip() for line in old.splitlines()} or f"/{entry}" in old.split():
        return False
    separator = "" if old.endswith("\n") or not old else "\n"
    atomic_write(path, f"{old}{separator}{entry}\n")
    return True
