"""Recovery before a command changes the workspace: finish what a killed run left."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from msgen.cli._ui import err_console, escape

if TYPE_CHECKING:
    from msgen.workspace import WorkspaceFile

__all__ = ["open_workspace_recovered", "recover_here"]


def recover_here(cwd: Path | None = None) -> None:
    """Recover the workspace of ``cwd`` (see :mod:`msgen.recovery`), one line per finding."""
    from msgen.recovery import recover

    for line in recover(cwd or Path.cwd()):
        err_console().print(f"[yellow]recovered:[/] {escape(line)}", soft_wrap=True)


def open_workspace_recovered() -> WorkspaceFile:
    """The workspace of the current directory, after recovering it."""
    from msgen.workspace import open_workspace

    cwd = Path.cwd()
    recover_here(cwd)
    return open_workspace(cwd)
