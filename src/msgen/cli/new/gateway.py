"""``msgen new gateway [NAME]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msgen.cli._recover import recover_here
from msgen.cli._ui import boundary, escape, working
from msgen.cli.new.service import CI_HELP, CiChoice, DiscoveryChoice, report_render


@boundary
def new_gateway(
    name: Annotated[str, typer.Argument(help="Gateway name, a DNS label.")] = "gateway",
    port: Annotated[
        int | None,
        typer.Option(help="HTTP port (default: 8000 when free, else the next free port)."),
    ] = None,
    discovery: Annotated[
        DiscoveryChoice,
        typer.Option(
            help="How it finds the services: static addresses from settings, consul, or dns."
        ),
    ] = "static",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Directory to render into (default: ./NAME)."),
    ] = None,
    ci: Annotated[CiChoice, typer.Option(help=CI_HELP)] = "github",
    force: Annotated[
        bool, typer.Option("--force", help="Render over an existing gateway or directory.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files that would be written; write none.")
    ] = False,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults",
            help="Never prompt (the gateway never does; accepted as for `msgen new service`).",
        ),
    ] = False,
) -> None:
    """Render an API gateway in front of every service of the workspace."""
    del defaults  # every option has a default and nothing is asked
    from msgen.gateway import NewGatewayOptions
    from msgen.gateway import new_gateway as run

    options = NewGatewayOptions(
        name=name,
        port=port,
        discovery=discovery,
        output=output,
        force=force,
        dry_run=dry_run,
        ci=ci,
    )
    if not dry_run:
        recover_here()
    with working(f"rendering {name}"):
        result = run(options, cwd=Path.cwd())
    routes = ", ".join(f"/{svc}/..." for svc in result.upstreams) or "none yet"
    report_render(
        result,
        created=(
            f"[green]Created gateway[/] [bold]{escape(result.name)}[/] in "
            f"{escape(str(result.target))} (port {result.port}; routes {escape(routes)})"
        ),
        package=result.name.replace("-", "_"),
    )
