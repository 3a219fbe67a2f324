"""Writing generated files: atomically, and never over a file someone edited.

A file msgen generated carries a hash of its own text in its header. On regeneration a file
is replaced only when it is unchanged since msgen wrote it (or with ``force``); an edited
file, or a file msgen did not write, is kept and reported. ``.env`` holds secrets: it is
created with random passwords, later only gains missing variables, and is git-ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from msgen.errors import OutputError
from msgen.faults import checkpoint
from msgen.manifests.common import GeneratedFile, is_pristine

__all__ = [
    "RECORD_FILE",
    "EnvResult",
    "Outcome",
    "check_inputs",
    "ensure_env",
    "ensure_gitignored",
    "prune_stale",
    "write_generated",
    "write_tree",
]

Action = Literal["created", "updated", "unchanged", "kept", "replaced", "removed", "left"]
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
        checkpoint("output.write")
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.msgen-{os.getpid()}-", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        checkpoint("output.rename")
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


RECORD_FILE = ".msgen-outputs.json"
Record = dict[str, list[str]]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_record(path: Path) -> Record:
    """What msgen wrote under a directory: path -> sha256 of each text it wrote there."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {
        str(name): [str(h) for h in hashes]
        for name, hashes in files.items()
        if isinstance(hashes, list)
    }


def _write_record(path: Path, record: Record) -> None:
    data = {
        "comment": "files msgen generated here, with the sha256 of what it wrote; msgen "
        "removes one it no longer generates only if it is listed and unchanged",
        "files": {name: sorted(set(hashes)) for name, hashes in sorted(record.items())},
    }
    atomic_write(path, json.dumps(data, indent=1) + "\n")


def write_tree(
    root: Path, directory: str, files: list[GeneratedFile], *, force: bool
) -> list[Outcome]:
    """Write ``files``, then remove msgen's earlier files under ``directory`` no longer made.

    ``<directory>/.msgen-outputs.json`` records what msgen wrote there. It gains the new
    texts before any file is written (so a killed run cannot leave an unrecorded file
    behind) and is trimmed to what is on disk at the end.
    """
    record_path = root / directory / RECORD_FILE
    old = _read_record(record_path)
    prefix = f"{directory}/"
    planned = {f.path: _digest(f.text.encode()) for f in files if f.path.startswith(prefix)}
    intent = {name: list(hashes) for name, hashes in old.items()}
    for name, digest in planned.items():
        if digest not in intent.setdefault(name, []):
            intent[name].append(digest)
    if intent != old:
        _write_record(record_path, intent)
    outcomes = write_generated(root, files, force=force)
    outcomes += prune_stale(root, directory, {f.path for f in files}, recorded=intent)
    final: Record = {}
    for name, hashes in intent.items():
        try:
            current = _digest((root / name).read_bytes())
        except OSError:
            continue  # removed, or never written
        final[name] = [current] if name in planned and current in hashes else hashes
    if final != intent:
        _write_record(record_path, final)
    return outcomes


def prune_stale(root: Path, directory: str, keep: set[str], *, recorded: Record) -> list[Outcome]:
    """Remove files msgen wrote under ``directory`` earlier and no longer generates.

    Only files ``recorded`` as written by msgen and unchanged since go (a retired canary's
    Deployment, a removed service's dashboard). A recorded file edited since, and a file
    carrying msgen's header that msgen did not record (a backup copy, a file in a folder of
    the user's), stay and are reported as ``left``. Directories emptied here go too.
    """
    base = root / directory
    if not base.is_dir():
        return []
    outcomes = []
    for path in sorted(p for p in base.rglob("*") if p.is_file() and p.name != RECORD_FILE):
        relative = path.relative_to(root).as_posix()
        if relative in keep:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if _digest(data) not in recorded.get(relative, []):
            if relative in recorded or is_pristine(data.decode("utf-8", "replace")):
                outcomes.append(Outcome(path=relative, action="left"))
            continue
        try:
            checkpoint("output.remove")
            path.unlink()
        except OSError as exc:
            raise OutputError(f"cannot remove {path}: {exc.strerror}") from exc
        outcomes.append(Outcome(path=relative, action="removed"))
        for folder in path.parents:
            if folder == base or not folder.is_dir() or any(folder.iterdir()):
                break
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


def ensure_env(
    root: Path,
    variables: list[tuple[str, bool, str]],
    values: Mapping[str, str] | None = None,
) -> EnvResult:
    """Create ``.env`` (mode 600) or add the variables it lacks; never change a value.

    ``variables`` are ``(name, secret, comment)``: secrets get a random value, the others
    their value in ``values`` (what only this machine knows, such as the user's uid) or an
    empty one for the user to fill in (compose refuses to start until they do).
    """
    values = values or {}
    path = root / ".env"
    old = _read_optional(path)
    present = _env_names(old or "")
    lines = []
    added = []
    for name, secret, comment in variables:
        if name in present:
            continue
        value = secrets.token_urlsafe(24) if secret else values.get(name, "")
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
