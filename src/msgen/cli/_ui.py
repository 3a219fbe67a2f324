"""Console output and the one error boundary every command goes through."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from typer.core import TyperGroup

from msgen.errors import MsgenError

if TYPE_CHECKING:
    from rich.console import Console

    from msgen.locking import LockWait
    from msgen.workspace import WorkspaceFile

P = ParamSpec("P")
R = TypeVar("R")


def console() -> Console:
    """Standard output (rich is imported on first use: it costs start-up time)."""
    from rich.console import Console

    return Console(highlight=False)


def err_console() -> Console:
    """Standard error."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def escape(text: object) -> str:
    """Escape rich markup in text that comes from the user or the file system."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


_verbose = False


def set_verbose(value: bool) -> None:
    """Set by the global ``--verbose`` option (the root callback runs on every invocation)."""
    global _verbose  # noqa: PLW0603 - one flag for the process, like the console
    _verbose = value


def debug_enabled() -> bool:
    """True when ``--verbose`` (or MSGEN_DEBUG=1) asks for tracebacks, for bug reports."""
    return _verbose or os.environ.get("MSGEN_DEBUG", "") not in {"", "0", "false", "no"}


def print_traceback(exc: BaseException) -> None:
    """The full traceback (with chained causes) on stderr, plain text for copy and paste."""
    import traceback

    sys.stderr.write("".join(traceback.format_exception(exc)))
    sys.stderr.flush()


def report_error(exc: MsgenError) -> None:
    """One red line, then the hint if there is one."""
    err_console().print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if exc.hint:
        err_console().print(f"[dim]hint: {escape(exc.hint)}[/]", soft_wrap=True)


EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwinds like Ctrl-C, so every ``finally`` and staging cleanup runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    del frame
    signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM ends msgen at once
    raise Terminated


def handle_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C (then exit 143); called once by the entry point."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def os_error(exc: OSError) -> MsgenError:
    """An OSError that reached the boundary (the file system refused) as one msgen error.

    The core maps the errors it expects; this catches the rest (a path too long for the
    file system, a current directory that was deleted under the shell) so that they are one
    line too. A path too long is a bad argument (exit 2); the others exit 1.
    """
    import errno
    from pathlib import Path

    from msgen.errors import UsageError
    from msgen.inputs import shorten

    try:
        Path.cwd()
    except OSError:
        return MsgenError(
            "the current directory no longer exists (or cannot be read)",
            hint="cd to an existing directory and run msgen again",
        )
    reason = exc.strerror or type(exc).__name__
    where = f": {shorten(str(exc.filename), 120)}" if exc.filename is not None else ""
    if exc.errno == errno.ENAMETOOLONG:
        return UsageError(f"{reason}{where}", hint="choose a shorter path")
    return MsgenError(f"{reason}{where}")


def boundary(func: Callable[P, R]) -> Callable[P, R]:
    """Map MsgenError to a one-line message and its exit code; hide other tracebacks.

    Usage errors exit 2 (typer's own code for bad arguments), other msgen errors 1,
    Ctrl-C 130, SIGTERM 143 (after the same cleanup as Ctrl-C). An OSError that the core
    did not map is one line too (see :func:`os_error`). An unexpected exception (a bug) is
    one line too, with a hint to rerun with ``--verbose``; with ``--verbose`` (or
    MSGEN_DEBUG=1) every error also prints its traceback, for bug reports.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MsgenError as exc:
            if debug_enabled():
                print_traceback(exc)
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except Terminated:
            err_console().print("[yellow]terminated[/]")
            raise typer.Exit(EXIT_TERMINATED) from None
        except OSError as exc:
            if debug_enabled():
                print_traceback(exc)
            error = os_error(exc)
            report_error(error)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            err_console().print("[yellow]interrupted[/]")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            verbose = debug_enabled()
            if verbose:
                print_traceback(exc)
            err_console().print(
                f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}",
                soft_wrap=True,
            )
            how = (
                "please report it with the traceback above"
                if verbose
                else "rerun with --verbose for the traceback and please report it"
            )
            err_console().print(f"[dim]hint: this is a bug in msgen; {how}[/]", soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


_PYDANTIC_VALUE_ERROR = "Value error, "
"""How pydantic words a ValueError raised in a validator (its ``value_error`` template)."""


def _plain_value_errors(exc: typer.BadParameter) -> None:
    """Drop pydantic's ``Value error, `` from the message of a value typer refused.

    typer converts values with pydantic and shows the first error's message, so a value not
    among a ``Literal``'s read "Invalid value for '--auth': Value error, 'bogus' is not one of
    'dev', 'oidc', 'none'."; only the error typer raised itself is worth reading.
    """
    from pydantic import ValidationError

    cause = exc.__cause__
    if not isinstance(cause, ValidationError):
        return
    errors = cause.errors()
    if errors and errors[0]["type"] == "value_error":
        exc.message = exc.message.removeprefix(_PYDANTIC_VALUE_ERROR)


class MsgenGroup(TyperGroup):
    """The root command: every argument, of every command, is parsed within it.

    A sub-command's arguments are parsed in the root's ``invoke``, the root's own in its
    ``make_context``; a value refused there reaches the user without pydantic's wording.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        """Parse the root's own options."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except typer.BadParameter as exc:
            _plain_value_errors(exc)
            raise

    def invoke(self, ctx: Any) -> Any:
        """Parse the sub-command's arguments and run it."""
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:
            _plain_value_errors(exc)
            raise


def working(message: str, *, enabled: bool = True) -> AbstractContextManager[object]:
    """A rich spinner with ``message`` while slow work runs (only on a terminal, by rich).

    Disabled (``enabled=False``) where the output is for scripts, e.g. ``--json``.
    """
    if not enabled:
        return contextlib.nullcontext()
    return console().status(f"[bold]{escape(message)}")


@contextlib.contextmanager
def waiting_for_lock(wait: LockWait) -> Iterator[None]:
    """A status line on stderr while another msgen holds the workspace lock."""
    who = f"another msgen (pid {wait.holder})" if wait.holder else "another msgen"
    message = f"waiting for {who} to finish with {wait.root} (up to {wait.timeout:g} s)"
    err = err_console()
    if not err.is_terminal:
        err.print(f"[dim]{escape(message)}[/]", soft_wrap=True)
        yield
        return
    with err.status(escape(message)):
        yield


def workspace_lock(start: Path | None = None) -> AbstractContextManager[Path]:
    """Lock the workspace of ``start`` (default: the current directory), or that directory.

    For commands that may create the workspace (``new``); taken before any spinner starts,
    so the wait has its own status line.
    """
    return _recovered(lock_workspace_here(start or Path.cwd()), start or Path.cwd())


def lock_workspace_here(start: Path) -> AbstractContextManager[Path]:
    from msgen.locking import lock_workspace

    return lock_workspace(start, on_wait=waiting_for_lock)


@contextlib.contextmanager
def _recovered(lock: AbstractContextManager[Path], start: Path) -> Iterator[Path]:
    """Hold ``lock``, then finish or roll back what a killed run left (one line each)."""
    from msgen.cli._recover import recover_here

    with lock as root:
        recover_here(start)
        yield root


def locked_workspace(start: Path | None = None) -> AbstractContextManager[WorkspaceFile]:
    """Find, lock and load the workspace of the current directory, for a changing command."""
    return _locked_and_recovered(start or Path.cwd())


@contextlib.contextmanager
def _locked_and_recovered(start: Path) -> Iterator[WorkspaceFile]:
    from msgen.cli._recover import recover_here
    from msgen.locking import locked_workspace as run

    with lock_workspace_here(start):
        recover_here(start)
        with run(start, on_wait=waiting_for_lock) as workspace:
            yield workspace


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    typer.echo(json.dumps(data, indent=2, sort_keys=False))
