"""Read a service's ``migrations/versions`` directory: its heads and the next revision id.

The revision files are parsed (``ast``), never imported: importing runs their module code
and needs alembic and SQLAlchemy, which are the service's dependencies, not msgen's.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from msgen.errors import MigrationError

__all__ = ["Revision", "heads", "next_revision_id", "read_revisions", "revision_filename"]

_DIGITS = re.compile(r"^(\d+)")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Revision:
    """One revision file: its id and the ids it revises (none for the first)."""

    path: Path
    revision: str
    down_revisions: tuple[str, ...]


def _value(node: ast.expr, path: Path, name: str) -> tuple[str, ...]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise MigrationError(
            f"{path}: {name} is not a literal", hint="write the revision ids as strings"
        ) from exc
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise MigrationError(f"{path}: {name} must be a string, a tuple of strings or None")


def _read(path: Path) -> Revision | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise MigrationError(
            f"cannot read the revision file {path}: {exc}",
            hint="fix or remove the file; msgen reads every revision to find the heads",
        ) from exc
    found: dict[str, tuple[str, ...]] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in {"revision", "down_revision"}:
            found[target.id] = _value(value, path, target.id)
    if "revision" not in found:
        return None  # not a revision (a helper module next to them)
    if len(found["revision"]) != 1:
        raise MigrationError(f"{path}: revision must be one string")
    return Revision(
        path=path, revision=found["revision"][0], down_revisions=found.get("down_revision", ())
    )


def read_revisions(versions_dir: Path) -> list[Revision]:
    """Every revision file in ``versions_dir`` (none when it does not exist), by file name."""
    if not versions_dir.is_dir():
        return []
    revisions = [_read(path) for path in sorted(versions_dir.glob("*.py"))]
    return [revision for revision in revisions if revision is not None]


def heads(versions_dir: Path | Sequence[Revision]) -> tuple[str, ...]:
    """The revisions no other revision revises, sorted; several heads mean branches.

    Of the revision files in ``versions_dir``, or of revisions already read from it.
    """
    revisions = read_revisions(versions_dir) if isinstance(versions_dir, Path) else versions_dir
    revised = {down for revision in revisions for down in revision.down_revisions}
    return tuple(sorted(r.revision for r in revisions if r.revision not in revised))


def next_revision_id(versions_dir: Path | Sequence[Revision]) -> str:
    """The next 4-digit id: the largest numeric prefix of the revision ids, plus one.

    Of the revision files in ``versions_dir``, or of revisions already read from it.
    """
    revisions = read_revisions(versions_dir) if isinstance(versions_dir, Path) else versions_dir
    numbers = [
        int(match.group(1)) for revision in revisions if (match := _DIGITS.match(revision.revision))
    ]
    return f"{max(numbers, default=0) + 1:04d}"


def revision_filename(revision: str, message: str) -> str:
    """The file name of a revision: ``0004_add_note_to_orders.py``."""
    slug = _SLUG.sub("_", message.lower()).strip("_")[:40].rstrip("_")
    return f"{revision}_{slug}.py" if slug else f"{revision}.py"
