"""``msgen check``: look at a running system."""

from __future__ import annotations

import typer

from msgen.cli.check import health as _health

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Check a running system.")
app.command("health")(_health.check_health)
