"""``msgen check``: look at a running system, and at whether its services agree."""

from __future__ import annotations

import typer

from msgen.cli.check import contracts as _contracts
from msgen.cli.check import health as _health

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Check a running system and its event contracts.")
app.command("health")(_health.check_health)
app.command("contracts")(_contracts.check_contracts)
