"""The workspace lock: one msgen at a time changes a workspace.

Every command that changes ``msgen.yaml`` or writes generated files holds an exclusive
``flock`` on ``.msgen/lock`` beside ``msgen.yaml`` for its whole read-decide-write: it loads
the workspace under the lock, decides (ports, names), renders, saves, and only then lets go.
The kernel drops the lock when the process ends, however it ends (SIGKILL included), so a
lock is never stale and nobody has to delete it.

A second msgen waits, polling, up to :func:`lock_timeout` seconds (``MSGEN_LOCK_TIMEOUT``,
default 120) and then raises :class:`~msgen.errors.WorkspaceLockedError`. While it waits it
tells the caller once, through ``on_wait``, which process holds the lock (its pid is written
into the lock file). The lock is re-entrant within a process: a core function that takes it
while its caller already holds it goes straight on.

The lock file is never deleted while the workspace exists: deleting a locked file lets two
processes lock two different files. A waiter re-checks, after locking, that the file it
locked is still the one at the path, so the ``.msgen`` directory made for a workspace that
was never created (a failed first ``msgen new service`` in an empty directory) can be removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from msgen.errors import UsageError, WorkspaceError, WorkspaceLockedError
from msgen.workspace import WORKSPACE_FILE, WorkspaceFile, find_workspace, open_workspace

__all__ = [
    "DEFAULT_TIMEOUT",
    "LOCK_FILE",
    "STATE_DIR",
    "TIMEOUT_ENV",
    "LockWait",
    "WaitReporter",
    "changes_workspace",
    "holds_lock",
    "lock_timeout",
    "lock_workspace",
    "locked_workspace",
    "workspace_lock",
]

STATE_DIR = ".msgen"
"""msgen's own files beside ``msgen.yaml``; it git-ignores itself."""
LOCK_FILE = "lock"
TIMEOUT_ENV = "MSGEN_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 120.0
_POLL = 0.05
_GITIGNORE = "# msgen's lock and other transient state; never commit it.\n*\n"


@dataclass(frozen=True, slots=True)
class LockWait:
    """Another process holds the workspace lock: who, and how long msgen waits for it."""

    root: Path
    holder: int | None
    """The pid written into the lock file by the holder (None if unreadable)."""
    timeout: float


WaitReporter = Callable[[LockWait], AbstractContextManager[object]]
"""Entered when msgen starts waiting for the lock, left when it has it or gives up."""


@dataclass(slots=True)
class _Held:
    thread_lock: threading.RLock
    depth: int = 0
    fd: int | None = None


_held: dict[str, _Held] = {}
_registry = threading.Lock()


def _entry(key: str) -> _Held:
    with _registry:
        return _held.setdefault(key, _Held(thread_lock=threading.RLock()))


def lock_timeout() -> float:
    """How long to wait for another msgen: ``MSGEN_LOCK_TIMEOUT`` seconds, default 120."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(
            f"{TIMEOUT_ENV}={raw!r} is not a number of seconds",
            hint=f"set it to 0 or more (default {DEFAULT_TIMEOUT:g}), or unset it",
        )
    return value


def holds_lock(root: Path) -> bool:
    """True when this process holds the lock of the workspace in ``root``."""
    with _registry:
        entry = _held.get(os.path.realpath(root))
    return entry is not None and entry.depth > 0


@contextlib.contextmanager
def workspace_lock(
    root: Path, *, timeout: float | None = None, on_wait: WaitReporter | None = None
) -> Iterator[None]:
    """Hold the exclusive lock of the workspace directory ``root`` (re-entrant).

    Waits up to ``timeout`` seconds (default :func:`lock_timeout`) for another process,
    then raises WorkspaceLockedError. ``root`` need not hold a ``msgen.yaml`` yet: the first
    command in an empty directory locks the directory it is about to make a workspace.
    """
    limit = lock_timeout() if timeout is None else timeout
    key = os.path.realpath(root)
    entry = _entry(key)
    if not entry.thread_lock.acquire(timeout=limit):
        raise _locked(Path(key), None, limit)
    try:
        if entry.depth == 0:
            entry.fd = _acquire(Path(key), limit, on_wait)
        entry.depth += 1
        try:
            yield
        finally:
            entry.depth -= 1
            if entry.depth == 0 and entry.fd is not None:
                _release(Path(key), entry.fd)
                entry.fd = None
    finally:
        entry.thread_lock.release()


def _locked(root: Path, holder: int | None, timeout: float) -> WorkspaceLockedError:
    who = f"another msgen (pid {holder})" if holder else "another msgen"
    return WorkspaceLockedError(
        f"{who} is still changing the workspace in {root}; gave up after {timeout:g} s",
        hint=f"wait for it to finish, or wait longer with {TIMEOUT_ENV}=SECONDS",
    )


def _open(root: Path) -> int:
    """Open (creating if needed) the lock file; the directory gets its own .gitignore."""
    directory = root / STATE_DIR
    try:
        if not directory.is_dir():
            directory.mkdir(exist_ok=True)
            ignore = directory / ".gitignore"
            with contextlib.suppress(FileExistsError):
                fd = os.open(ignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(_GITIGNORE)
        return os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except FileNotFoundError as exc:
        if not root.is_dir():
            raise WorkspaceError(f"cannot lock the workspace: {root} does not exist") from exc
        return -1  # the directory went away between the two steps: try again
    except OSError as exc:
        raise WorkspaceError(
            f"cannot lock the workspace: cannot create {directory / LOCK_FILE}: {exc.strerror}"
        ) from exc


def _is_current(fd: int, path: Path) -> bool:
    """True while ``fd`` is still the file at ``path`` (not removed or replaced)."""
    try:
        here, there = os.fstat(fd), path.stat()
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _holder(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _acquire(root: Path, timeout: float, on_wait: WaitReporter | None) -> int:
    path = root / STATE_DIR / LOCK_FILE
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as waiting:
        reported = False
        while True:
            fd = _open(root)
            if fd >= 0:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                except OSError as exc:
                    os.close(fd)
                    raise WorkspaceError(f"cannot lock {path}: {exc.strerror}") from exc
                else:
                    if _is_current(fd, path):
                        break
                    os.close(fd)  # removed while we waited: lock the new file instead
                    continue
            if time.monotonic() >= deadline:
                raise _locked(root, _holder(path), timeout)
            if not reported and on_wait is not None:
                waiting.enter_context(on_wait(LockWait(root, _holder(path), timeout)))
            reported = True
            time.sleep(_POLL)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    except OSError:
        pass  # the pid is only a courtesy to whoever waits
    return fd


def _release(root: Path, fd: int) -> None:
    """Let go; a ``.msgen`` directory made for a workspace never created goes too."""
    try:
        if not (root / WORKSPACE_FILE).exists():
            directory = root / STATE_DIR
            for name in (LOCK_FILE, ".gitignore"):
                with contextlib.suppress(OSError):
                    (directory / name).unlink()
            with contextlib.suppress(OSError):
                directory.rmdir()
        else:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)


@contextlib.contextmanager
def lock_workspace(start: Path, *, on_wait: WaitReporter | None = None) -> Iterator[Path]:
    """Lock the workspace of ``start`` (or ``start`` itself, where one would be created).

    Yields the locked root. The workspace is looked up again once the lock is held, so a
    ``msgen.yaml`` another process created while this one waited is found, not replaced.
    """
    if not start.exists():
        # A new workspace in a directory that does not exist yet (the core's callers may
        # name one; the CLI's current directory always exists): create it to lock it.
        try:
            start.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create {start}: {exc.strerror}") from exc
    while True:
        found = find_workspace(start)
        root = found.parent if found is not None else start.resolve()
        with workspace_lock(root, on_wait=on_wait):
            again = find_workspace(start)
            if (again.parent if again is not None else start.resolve()) == root:
                yield root
                return


@contextlib.contextmanager
def locked_workspace(
    start: Path, *, on_wait: WaitReporter | None = None
) -> Iterator[WorkspaceFile]:
    """Find the workspace of ``start``, lock it, and load it under the lock.

    For commands that change an existing workspace: with none, WorkspaceNotFoundError is
    raised before anything (a lock file included) is written.
    """
    if find_workspace(start) is None:
        open_workspace(start)  # raises WorkspaceNotFoundError
    with lock_workspace(start, on_wait=on_wait):
        yield open_workspace(start)


P = ParamSpec("P")
R = TypeVar("R")


def changes_workspace(
    func: Callable[Concatenate[WorkspaceFile, P], R],
) -> Callable[Concatenate[WorkspaceFile, P], R]:
    """Run a core function that changes the workspace (its first argument) under its lock.

    The model is re-read first if another process saved ``msgen.yaml`` since it was loaded.
    """

    @functools.wraps(func)
    def wrapper(workspace: WorkspaceFile, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with workspace.locked():
            return func(workspace, *args, **kwargs)

    return wrapper
