"""``msgen list``: the services of the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msgen.cli._ui import boundary, console, print_json


@boundary
def list_services(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show the services of the workspace as a table."""
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd())
    model = workspace.model
    if as_json:
        print_json(
            {
                "name": model.name,
                "workspace": str(workspace.path),
                "services": [
                    {"name": name, **entry.model_dump(mode="json")}
                    for name, entry in model.services.items()
                ],
            }
        )
        return
    from rich.table import Table

    table = Table(title=f"{model.name} ({workspace.path})", title_justify="left")
    services = model.services.values()
    # Event columns only when some service has a broker: the table stays narrow otherwise.
    events = any(entry.publishes or entry.consumes for entry in services)
    columns = ["name", "kind", "port", "features", "path"]
    if events:
        columns[4:4] = ["publishes", "consumes"]
    for column in columns:
        table.add_column(column, justify="right" if column == "port" else "left")
    for name, entry in model.services.items():
        cells = [name, entry.kind, str(entry.port), ", ".join(entry.feature_labels()), entry.path]
        if events:
            cells[4:4] = ["\n".join(entry.publishes), "\n".join(entry.consumes)]
        table.add_row(*cells)
    if not model.services:
        console().print(f"[dim]{model.name} has no services yet: msgen new service NAME[/]")
        return
    console().print(table)
