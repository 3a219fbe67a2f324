"""``msgen dev up --reload``: restart a service when its code changes, and only that one.

A :class:`Watcher` polls each service's ``src/`` and ``pyproject.toml`` (modification time
and size; no inotify dependency, and it sees editors' write-then-rename saves) every
:data:`POLL` seconds and reports the files changed once they have stopped changing.

Most of a generated service's start is importing its libraries (FastAPI, SQLAlchemy,
aio-pika, OpenTelemetry, ...: about 2 s on a small machine), not its own code. So each
service has a *spare*: an interpreter of the service's virtual environment that has
already imported every third-party and standard module the service's sources import at
their top level (found with :mod:`ast`; none of the service's own modules), and waits. On a
change the running process is stopped and the spare is told to go: it imports the service's
code as it is now and runs uvicorn with the service's arguments, and a new spare starts
beside it (a machine of two cores runs both at once). A change of ``pyproject.toml``
refreshes the virtual environment and starts cold; a change under the package's
``migrations/`` runs ``alembic upgrade head`` first.

The module never prints: the caller is told through :class:`ReloadEvents`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from msgen.devrun import ProcessSpec, Running, start, terminate

__all__ = [
    "POLL",
    "SPARE_SCRIPT",
    "ReloadEvents",
    "Reloader",
    "Watcher",
    "activate",
    "start_spare",
]

POLL = 0.1
"""Seconds between two looks at the watched files."""

SETTLE = 0.1
"""A change is acted on once the files have not changed again for this long."""

GRACE = 5.0
"""Seconds a stopped process has to finish its requests before it is killed."""

SPARE_BACKOFF = 5.0
"""Seconds before a spare that ended by itself (it should wait for ever) is started again."""

_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}

SPARE_SCRIPT = r"""# msgen dev up --reload: a spare interpreter (msgen.reload). msgen rewrites it.
import ast, contextlib, io, os, pathlib, sys

sys.path[0] = os.getcwd()  # as under python -m uvicorn: the service's directory, not .msgen/
package, *uvicorn_args = sys.argv[1:]
root = pathlib.Path("src", package)
if not root.is_dir():
    root = pathlib.Path(package)
names = set()
for path in sorted(root.rglob("*.py")):
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        continue
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
names.add("uvicorn.main")
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    for name in sorted(names):
        if name.split(".")[0] == package:
            continue
        try:
            __import__(name)
        except BaseException:
            pass
if sys.stdin.readline().strip() != "go":
    sys.exit(0)
import runpy
sys.argv = ["uvicorn", *uvicorn_args]
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""
"""The spare: ``python .msgen/spare.py PACKAGE UVICORN_ARGS...`` in the service's directory.

It imports what the service's modules import (outside the package), then waits for ``go``
on its standard input and runs uvicorn; end of input (msgen gone) ends it.
"""


def _uvicorn_args(spec: ProcessSpec) -> tuple[str, ...]:
    if spec.args[:2] != ("-m", "uvicorn") or spec.package is None:
        raise ValueError(f"{spec.name} does not run under uvicorn")
    return spec.args[2:]


def start_spare(spec: ProcessSpec, *, script: Path, on_line: Callable[[str, str], None]) -> Running:
    """A waiting interpreter for ``spec`` (:data:`SPARE_SCRIPT`, written to ``script``)."""
    if not script.is_file() or script.read_text(encoding="utf-8") != SPARE_SCRIPT:
        script.parent.mkdir(parents=True, exist_ok=True)
        partial = script.with_name(f".spare.{os.getpid()}.tmp")
        partial.write_text(SPARE_SCRIPT, encoding="utf-8")
        partial.replace(script)
    args = (str(script), spec.package or "", *_uvicorn_args(spec))
    return start(dataclasses.replace(spec, args=args), on_line=on_line, stdin=subprocess.PIPE)


def activate(spare: Running, spec: ProcessSpec) -> Running:
    """Tell a spare to run the service: it is then the service's process."""
    stdin = spare.process.stdin
    if stdin is None:
        raise ValueError("not a spare")
    stdin.write("go\n")
    stdin.flush()
    return Running(spec=spec, process=spare.process, readers=spare.readers)


def _scan(paths: Sequence[Path]) -> dict[Path, tuple[int, int]]:
    seen: dict[Path, tuple[int, int]] = {}
    for top in paths:
        if top.is_file():
            with contextlib.suppress(OSError):
                stat = top.stat()
                seen[top] = (stat.st_mtime_ns, stat.st_size)
            continue
        stack = [top]
        while stack:
            directory = stack.pop()
            with contextlib.suppress(OSError):
                for entry in directory.iterdir():
                    if entry.is_dir():
                        if entry.name not in _SKIP_DIRS and not entry.name.startswith("."):
                            stack.append(entry)
                    elif not entry.name.endswith((".pyc", "~")) and not entry.name.startswith("."):
                        with contextlib.suppress(OSError):
                            stat = entry.stat()
                            seen[entry] = (stat.st_mtime_ns, stat.st_size)
    return seen


@dataclass(slots=True)
class Watcher:
    """The files of one service whose change restarts it: ``src/`` and ``pyproject.toml``."""

    directory: Path
    paths: tuple[Path, ...] = ()
    seen: dict[Path, tuple[int, int]] = field(default_factory=dict)
    pending: dict[Path, tuple[int, int]] | None = None
    since: float = 0.0
    first: float = 0.0

    def __post_init__(self) -> None:
        src = self.directory / "src"
        self.paths = (src if src.is_dir() else self.directory, self.directory / "pyproject.toml")
        self.seen = _scan(self.paths)

    def changed(self, now: float | None = None) -> tuple[list[str], float] | None:
        """The files changed since the last report, once settled, and when first seen.

        The time is ``time.monotonic()`` when the first of them was seen changing; None when
        nothing changed (or the files are still changing).
        """
        now = time.monotonic() if now is None else now
        current = _scan(self.paths)
        if current == self.seen:
            self.pending = None
            return None
        if self.pending is None:
            self.pending, self.since, self.first = current, now, now
            return None
        if current != self.pending:
            self.pending, self.since = current, now
            return None
        if now - self.since < SETTLE:
            return None
        names = sorted(
            path.relative_to(self.directory).as_posix()
            for path in set(current) | set(self.seen)
            if current.get(path) != self.seen.get(path)
        )
        self.seen, self.pending = current, None
        return names, self.first


class ReloadEvents(Protocol):
    """What a reload tells the console."""

    def changed(self, name: str, files: list[str]) -> None:
        """``files`` of service ``name`` changed: it restarts."""

    def step(self, name: str, message: str) -> None:
        """A step before the restart (the environment refreshed, a migration)."""

    def failed(self, name: str, message: str) -> None:
        """The service could not be restarted, or exited; it is retried on the next change."""

    def reloaded(self, name: str, seconds: float, warm: bool) -> None:
        """The service answers again, ``seconds`` after the change was saved."""


@dataclass(slots=True)
class _Service:
    spec: ProcessSpec
    watcher: Watcher
    running: Running | None
    spare: Running | None = None
    saved_at: float | None = None
    """When the change being restarted for was saved; None once the service answers."""
    warm: bool = False
    spare_after: float = 0.0
    """No new spare before this time (``time.monotonic()``): one just ended by itself."""


class Reloader:
    """Watches the services of a foreground ``dev up`` and restarts the one that changed."""

    def __init__(
        self,
        processes: Sequence[Running],
        *,
        state: Path,
        on_line: Callable[[str, str], None],
        events: ReloadEvents,
    ) -> None:
        """Watch the uvicorn ``processes``; spares run ``state``/spare.py (``.msgen/``)."""
        self.script = state / "spare.py"
        self.on_line = on_line
        self.events = events
        self.services = {
            running.spec.name: _Service(
                spec=running.spec, watcher=Watcher(running.spec.directory), running=running
            )
            for running in processes
            if running.spec.package is not None
        }
        self.others = [r for r in processes if r.spec.package is None]
        for service in self.services.values():
            service.spare = start_spare(service.spec, script=self.script, on_line=on_line)

    @property
    def processes(self) -> list[Running]:
        """Every process running now (spares included), for the caller to stop at the end."""
        alive = [s.running for s in self.services.values() if s.running is not None]
        spares = [s.spare for s in self.services.values() if s.spare is not None]
        return [*self.others, *alive, *spares]

    def tick(self) -> None:
        """One look: report exits, restart what changed, and tell which restarts answer."""
        for name, service in self.services.items():
            running = service.running
            if running is not None and running.process.poll() is not None:
                code = running.process.returncode
                self.events.failed(name, f"exited with code {code}; waiting for a change")
                service.running, service.saved_at = None, None
            now = time.monotonic()
            if service.spare is not None and service.spare.process.poll() is not None:
                service.spare, service.spare_after = None, now + SPARE_BACKOFF
            if service.spare is None and now >= service.spare_after:
                service.spare = start_spare(service.spec, script=self.script, on_line=self.on_line)
            change = service.watcher.changed()
            if change is not None:
                files, saved_at = change
                self.events.changed(name, files)
                self._restart(service, files, saved_at)
            if service.saved_at is not None and service.running is not None:
                self._probe(service)

    def _restart(self, service: _Service, files: list[str], saved_at: float) -> None:
        from msgen import devrun
        from msgen.errors import DevRunError

        spec = service.spec
        if service.running is not None:
            terminate([service.running], grace=GRACE)
            service.running = None
        try:
            if "pyproject.toml" in files:
                self._drop_spare(service)
                devrun.ensure_venv(spec, _Steps(self.events, spec.name))
            if spec.package and any(f"/{spec.package}/migrations/" in f"/{f}" for f in files):
                self.events.step(spec.name, "alembic upgrade head")
                devrun._run(spec, [str(spec.python), "-m", "alembic", "upgrade", "head"])
        except DevRunError as exc:
            self.events.failed(spec.name, f"{exc.message}; waiting for a change")
            return
        spare, service.spare = service.spare, None
        if spare is not None and spare.process.poll() is None:
            service.running, service.warm = activate(spare, spec), True
        else:
            service.running, service.warm = start(spec, on_line=self.on_line), False
        service.saved_at = saved_at

    def _probe(self, service: _Service) -> None:
        from msgen.devrun import _answers

        if service.saved_at is None or not _answers(service.spec.url + "/health/live"):
            return
        self.events.reloaded(
            service.spec.name, time.monotonic() - service.saved_at, warm=service.warm
        )
        service.saved_at = None

    def _drop_spare(self, service: _Service) -> None:
        if service.spare is not None:
            terminate([service.spare], grace=1.0)
            service.spare = None


@dataclass(slots=True)
class _Steps:
    """devrun's Reporter, telling the reload's events."""

    events: ReloadEvents
    name: str

    def step(self, message: str) -> None:
        self.events.step(self.name, message)
