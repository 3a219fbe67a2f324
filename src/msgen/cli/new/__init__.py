"""``msgen new``: render new services and gateways from the templates."""

from __future__ import annotations

import typer

from msgen.cli.new import gateway as _gateway
from msgen.cli.new import service as _service

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True, help="Render a new service or gateway from msgen's templates."
)
app.command("service")(_service.new_service)
app.command("gateway")(_gateway.new_gateway)
