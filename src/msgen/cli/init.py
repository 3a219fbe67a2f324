"""``msgen init``: create a workspace file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msgen.cli._ui import boundary, console, waiting_for_lock


@boundary
def init(
    path: Annotated[
        Path, typer.Argument(help="Directory of the new workspace (created if missing).")
    ] = Path(),
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="System name (default: from the directory name)."),
    ] = None,
) -> None:
    """Create msgen.yaml, the workspace file that records the system."""
    from msgen.workspace import init_workspace

    workspace = init_workspace(path.absolute(), name=name, on_wait=waiting_for_lock)
    console().print(
        f"Created workspace [bold]{workspace.model.name}[/] in {workspace.path}", soft_wrap=True
    )
    console().print("Next: [bold]msgen new service NAME[/]")
