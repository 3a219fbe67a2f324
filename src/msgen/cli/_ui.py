"""Console output and the one error boundary every command goes through."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from msgen.errors import MsgenError

if TYPE_CHECKING:
    from rich.console import Console

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


def debug_enabled() -> bool:
    """True when MSGEN_DEBUG asks for tracebacks of unexpected errors."""
    return os.environ.get("MSGEN_DEBUG", "") not in {"", "0", "false", "no"}


def report_error(exc: MsgenError) -> None:
    """One red line, then the hint if there is one."""
    err_console().print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if exc.hint:
        err_console().print(f"[dim]hint: {escape(exc.hint)}[/]", soft_wrap=True)


def boundary(func: Callable[P, R]) -> Callable[P, R]:
    """Map MsgenError to a one-line message and its exit code; hide other tracebacks.

    Usage errors exit 2 (typer's own code for bad arguments), other msgen errors 1,
    Ctrl-C 130. An unexpected exception shows its traceback only with MSGEN_DEBUG=1.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MsgenError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err_console().print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except Exception as exc:
            if debug_enabled():
                raise
            err_console().print(
                f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}"
                " [dim](set MSGEN_DEBUG=1 for the traceback, and please report it)[/]",
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    typer.echo(json.dumps(data, indent=2, sort_keys=False))
