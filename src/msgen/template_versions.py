"""Template versions: what identifies a template's content, and where old versions are kept.

A template version is msgen's version plus a digest of the template's files, such as
``0.1.0+3f2a9c81d0e4`` (a PEP 440 local version): templates change between commits of one
msgen release, and the digest tells those apart. It is recorded in each service's answers
(``msgen_version``) and in its workspace entry (``template_version``).

``msgen update`` needs the template a service was generated with, to tell the user's edits
from template changes. msgen ships only its current templates, so every render stores the
template it used in the workspace, ``.msgen-templates/<template>-<version>.zip`` (a
deterministic zip of the template directory, about 80 KB). Commit that directory with the
workspace to update services from another clone.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from msgen.__about__ import __version__
from msgen.errors import UpdateError
from msgen.faults import checkpoint

__all__ = [
    "STORE_DIR",
    "extract_template",
    "store_template",
    "stored_template",
    "template_source",
    "template_version",
]

STORE_DIR = Path(".msgen-templates")
_SKIP_PARTS = {"__pycache__", ".git", ".ruff_cache", ".pytest_cache"}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def template_source(template: str) -> Path:
    """The directory of ``template`` (``service`` or ``gateway``) that msgen renders now."""
    from msgen.render import templates_dir

    return templates_dir() / template


def _files(source: Path) -> list[Path]:
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file()
        and not _SKIP_PARTS.intersection(path.relative_to(source).parts)
        and path.suffix != ".pyc"
    )


def template_version(template: str, *, source: Path | None = None) -> str:
    """``<msgen version>+<12 hex digits of the template's content digest>``."""
    source = source or template_source(template)
    digest = hashlib.sha256()
    for path in _files(source):
        digest.update(path.relative_to(source).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return f"{__version__}+{digest.hexdigest()[:12]}"


def _archive(root: Path, template: str, version: str) -> Path:
    return root / STORE_DIR / f"{template}-{version}.zip"


def stored_template(root: Path, template: str, version: str) -> Path | None:
    """The stored archive of ``template`` at ``version`` in the workspace at ``root``."""
    path = _archive(root, template, version)
    return path if path.is_file() else None


def store_template(root: Path, template: str) -> str:
    """Keep the current ``template`` in the workspace's store; return its version.

    The archive is written to a temporary name and renamed, so a crash leaves none or all.
    """
    source = template_source(template)
    version = template_version(template, source=source)
    path = _archive(root, template, version)
    if path.is_file():
        return version
    partial = path.with_name(f".{path.name}.msgen-{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint("store.write")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in _files(source):
                info = zipfile.ZipInfo(file.relative_to(source).as_posix(), _FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (file.stat().st_mode & 0o777) << 16
                archive.writestr(info, file.read_bytes())
        checkpoint("store.rename")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UpdateError(f"cannot store the template in {path}: {exc.strerror}") from exc
    return version


MAX_UNPACKED = 64 * 1024 * 1024
"""The most a stored template may unpack to (msgen's templates are well under 1 MB)."""


def extract_template(archive: Path, destination: Path) -> None:
    """Unpack a stored template (refusing names that would leave ``destination``).

    The archive is in the user's workspace, so it is hostile input: a corrupted or
    truncated archive, an unknown compression method or more than :data:`MAX_UNPACKED`
    bytes unpacked (a zip bomb) is one UpdateError line.
    """
    import zlib

    destination.mkdir(parents=True, exist_ok=True)
    root = destination.resolve()
    try:
        with zipfile.ZipFile(archive) as zipped:
            if sum(info.file_size for info in zipped.infolist()) > MAX_UNPACKED:
                raise UpdateError(
                    f"the stored template {archive} would unpack to more than "
                    f"{MAX_UNPACKED // 2**20} MB; it is not one msgen wrote",
                    hint="delete it and restore it from git",
                )
            for info in zipped.infolist():
                target = (root / info.filename).resolve()
                if not target.is_relative_to(root) or info.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zipped.read(info))
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    target.chmod(mode)
    except (
        OSError,
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        ValueError,
    ) as exc:
        raise UpdateError(
            f"cannot read the stored template {archive}: it is damaged ({exc})",
            hint="restore it from git (msgen keeps it there for updates)",
        ) from exc
