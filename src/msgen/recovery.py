"""Recovery at start-up: finish or undo what a killed msgen run left in a workspace.

Every scratch file msgen writes names the process that wrote it (``msgen-<pid>``): render
staging directories ``.NAME.msgen-<pid>-XXXX``, atomic-write temporaries
``.NAME.msgen-<pid>-XXXX.tmp``, journal staging ``.NAME.msgen-<pid>.stage``, template store
partials ``.NAME.zip.msgen-<pid>.partial``, update sandboxes ``$TMPDIR/msgen-update-<pid>-XXXX``.
:func:`recover` runs before a command that changes the workspace reads it: it rolls each
dead run's journal forward or back (:mod:`msgen.journal`), then removes that run's scratch
files. Only what a dead process left is touched; names from msgen versions before the pid
was recorded (``.NAME.msgen-XXXXXXXX``, ``.NAME.zip.partial``) are removed too, since they
can only be leftovers. It returns the lines to tell the user (none when all was clean).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from msgen.errors import MsgenError
from msgen.journal import STATE_DIR, pid_alive, recover_journals
from msgen.template_versions import STORE_DIR
from msgen.workspace import find_workspace, load_workspace, set_aside

__all__ = ["leftovers", "recover"]

_PID_MARKED = re.compile(r"^\..+\.msgen-(\d+)(?:-[A-Za-z0-9_]+(?:\.tmp)?|\.stage|\.partial)$")
_LEGACY_STAGING = re.compile(r"^\..+\.msgen-[a-z0-9_]{8}$")
_LEGACY_PARTIAL = re.compile(r"^\..+\.zip\.partial$")
_SANDBOX = re.compile(r"^msgen-update-(\d+)-[A-Za-z0-9_]+$")
_JOURNAL_TMP = re.compile(r"^\.journal-(\d+)\.json\.tmp$")


def _stale(path: Path, *, own_dir: bool = False) -> bool:
    """True for a scratch file of a dead msgen run (``own_dir``: ``.msgen/`` or the temp dir)."""
    name = path.name
    for pattern in (_PID_MARKED, *((_SANDBOX, _JOURNAL_TMP) if own_dir else ())):
        match = pattern.match(name)
        if match:
            return not pid_alive(int(match.group(1)))
    if _LEGACY_STAGING.match(name):
        return path.is_dir()
    return bool(_LEGACY_PARTIAL.match(name))


def _children(directory: Path) -> Iterator[Path]:
    try:
        yield from directory.iterdir()
    except OSError:
        return


def _places(root: Path) -> Iterable[Path]:
    """Where msgen writes: the root, the generated trees, its own dirs, the service parents."""
    places = {root, root / STORE_DIR, root / STATE_DIR, Path(tempfile.gettempdir())}
    deploy = root / "deploy"
    if deploy.is_dir():
        places.update(p for p in deploy.rglob("*") if p.is_dir() and not _stale(p))
        places.add(deploy)
    workspace = find_workspace(root)
    if workspace is not None:
        try:
            loaded = load_workspace(workspace)
        except MsgenError:
            return sorted(places)
        for name in loaded.model.services:
            places.add(loaded.service_dir(name).parent)
        set_aside(loaded)  # the command about to load it takes this load
    return sorted(places)


def leftovers(root: Path) -> list[Path]:
    """Scratch files and directories of dead msgen runs under ``root``."""
    own = {root / STATE_DIR, Path(tempfile.gettempdir())}
    found = [
        path
        for place in _places(root)
        for path in _children(place)
        if _stale(path, own_dir=place in own)
    ]
    return sorted(set(found))


def recover(start: Path) -> list[str]:
    """Recover the workspace above ``start`` (or ``start`` itself when there is none).

    Journals first (they may change ``msgen.yaml``), then the leftovers; one line each for
    the journals, one for all the leftovers.
    """
    found = find_workspace(start)
    root = found.parent if found is not None else start
    messages = recover_journals(root)
    removed = []
    for path in leftovers(root):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(path)
    if removed:
        names = ", ".join(_shown(root, path) for path in removed[:3])
        more = f" and {len(removed) - 3} more" if len(removed) > 3 else ""
        messages.append(
            f"removed {len(removed)} leftover(s) of an interrupted msgen run: {names}{more}"
        )
    return messages


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
