"""All-or-nothing changes to several files: stage, journal, apply, as databases do.

A :class:`Transaction` collects file writes and deletions (a service's files and
``msgen.yaml``), then :meth:`Transaction.apply`:

1. writes the journal (``.msgen/journal-<pid>.json`` in the workspace, state ``prepared``)
   listing every staged file it is about to create;
2. stages each new file beside its destination (same file system, so the rename is atomic),
   fsynced;
3. marks the journal ``committed`` (an atomic rewrite: this is the commit point);
4. renames the staged files over their destinations and deletes what goes, in order;
5. removes the journal.

A run that dies before step 3 left only staged files: :func:`recover_journals` (run at the
start of the next msgen command) deletes them, and the files are exactly as they were. A run
that dies after it left a committed journal: recovery finishes the renames. Either way the
next run starts from a consistent state, and rerunning the command reaches the state asked for.

Journals are only recovered once the process that wrote them is gone (its pid is recorded).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msgen.faults import checkpoint

__all__ = [
    "STATE_DIR",
    "Transaction",
    "pid_alive",
    "recover_journals",
    "state_dir",
]

STATE_DIR = ".msgen"
_JOURNAL_PREFIX = "journal-"


def state_dir(root: Path) -> Path:
    """``<workspace>/.msgen``: journals and scratch space; git-ignored by its own file."""
    path = root / STATE_DIR
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        (path / ".gitignore").write_text("# msgen's journals and scratch space\n*\n")
    return path


def pid_alive(pid: int) -> bool:
    """True while a process with this id exists (a dead writer's leftovers are stale)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``data`` (fsynced, directory too)."""
    partial = path.with_name(f".{path.name}.tmp")
    with partial.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    _fsync_dir(path.parent)


@dataclass(slots=True)
class _Op:
    kind: str  # "write" or "delete"
    destination: Path
    staged: Path | None = None
    source: Path | None = None
    text: str | None = None
    mode: int | None = None
    prune_to: Path | None = None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"op": self.kind, "path": str(self.destination)}
        if self.staged is not None:
            data["staged"] = str(self.staged)
        if self.prune_to is not None:
            data["prune_to"] = str(self.prune_to)
        return data


@dataclass(slots=True)
class Transaction:
    """File changes applied together, or not at all (see the module docstring)."""

    root: Path
    """The workspace root; the journal goes in its ``.msgen/``."""
    label: str
    """What the change is, for the recovery message (``update of orders``)."""
    committed: bool = False
    """Set once the commit point is passed: a later failure is finished by the next run."""
    _ops: list[_Op] = field(default_factory=list)

    def _staged_name(self, destination: Path) -> Path:
        return destination.with_name(f".{destination.name}.msgen-{os.getpid()}.stage")

    def copy(self, destination: Path, source: Path) -> None:
        """Replace (or create) ``destination`` with a copy of ``source``."""
        destination = destination.resolve()
        self._ops.append(
            _Op("write", destination, staged=self._staged_name(destination), source=source)
        )

    def write_text(self, destination: Path, text: str) -> None:
        """Replace (or create) ``destination`` with ``text``, keeping its mode."""
        destination = destination.resolve()
        mode = destination.stat().st_mode & 0o777 if destination.exists() else 0o644
        op = _Op("write", destination, staged=self._staged_name(destination), text=text)
        op.mode = mode
        self._ops.append(op)

    def delete(self, destination: Path, *, prune_to: Path | None = None) -> None:
        """Delete ``destination``, and then its emptied parents below ``prune_to``."""
        self._ops.append(_Op("delete", destination.absolute(), prune_to=prune_to))

    def apply(self) -> None:
        """Stage, journal, commit, apply, clean up; roll back if it fails before the commit."""
        if not self._ops:
            return
        journal = state_dir(self.root) / f"{_JOURNAL_PREFIX}{os.getpid()}.json"
        data: dict[str, Any] = {
            "pid": os.getpid(),
            "label": self.label,
            "state": "prepared",
            "ops": [op.as_data() for op in self._ops],
        }
        checkpoint("journal.prepare")
        _write_json(journal, data)
        try:
            for op in self._ops:
                if op.kind == "write":
                    self._stage(op)
            checkpoint("journal.commit")
            _write_json(journal, {**data, "state": "committed"})
        except BaseException:
            _roll_back(data)
            journal.unlink(missing_ok=True)
            raise
        self.committed = True
        try:
            _roll_forward(data)
            checkpoint("journal.done")
        except BaseException:
            with contextlib.suppress(OSError):  # no live owner now: the next run finishes it
                _write_json(journal, {**data, "state": "committed", "pid": 0})
            raise
        journal.unlink()

    def _stage(self, op: _Op) -> None:
        assert op.staged is not None
        checkpoint("journal.stage")
        if op.destination.is_dir():  # found before the commit point, not while applying
            raise IsADirectoryError(errno.EISDIR, "a directory is in the way", str(op.destination))
        op.destination.parent.mkdir(parents=True, exist_ok=True)
        if op.source is not None:
            shutil.copy2(op.source, op.staged)
        else:
            op.staged.write_text(op.text or "", encoding="utf-8")
            if op.mode is not None:
                op.staged.chmod(op.mode)
        with op.staged.open("rb+") as handle:
            os.fsync(handle.fileno())


def _roll_back(data: dict[str, Any]) -> None:
    for op in data["ops"]:
        if "staged" in op:
            Path(op["staged"]).unlink(missing_ok=True)


def _roll_forward(data: dict[str, Any]) -> None:
    """Apply every operation; safe to repeat (a done rename has no staged file left)."""
    for op in data["ops"]:
        path = Path(op["path"])
        if op["op"] == "write":
            staged = Path(op["staged"])
            if staged.exists():
                checkpoint("journal.apply")
                staged.replace(path)
            continue
        if path.exists() or path.is_symlink():
            checkpoint("journal.apply")
            path.unlink()
        stop = Path(op["prune_to"]) if "prune_to" in op else None
        for parent in path.parents:  # directories emptied by the deletion
            if stop is None or parent == stop or not parent.is_relative_to(stop):
                break
            if not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()


def recover_journals(root: Path) -> list[str]:
    """Finish or roll back what a dead msgen run left journaled; one line per journal."""
    directory = root / STATE_DIR
    if not directory.is_dir():
        return []
    messages = []
    for journal in sorted(directory.glob(f"{_JOURNAL_PREFIX}*.json")):
        try:
            data = json.loads(journal.read_text(encoding="utf-8"))
            pid = int(data["pid"])
            state = data["state"]
            label = str(data["label"])
            ops = data["ops"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours to judge; left for the user
        if not isinstance(ops, list) or pid_alive(pid):
            continue
        if state == "committed":
            try:
                _roll_forward(data)
            except OSError as exc:
                messages.append(
                    f"cannot finish the interrupted {label} ({exc.filename}: {exc.strerror}); "
                    f"fix that and run msgen again ({journal} holds the rest)"
                )
                continue
            messages.append(f"finished the interrupted {label} (its changes were committed)")
        else:
            _roll_back(data)
            messages.append(f"rolled back the interrupted {label} (nothing had been changed)")
        journal.unlink()
    return messages
