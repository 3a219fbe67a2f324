"""``msgen check contracts``: do consumers still accept the events their publishers send?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msgen.cli._ui import boundary, console, escape, print_json

if TYPE_CHECKING:
    from rich.console import RenderableType

    from msgen.contracts import ContractReport

_STYLE = {
    "compatible": "green",
    "incompatible": "red",
    "removed": "red",
    "unpublished": "red",
}


@boundary
def check_contracts(
    services: Annotated[
        list[str] | None,
        typer.Argument(help="Report only these services, as consumer or publisher (default: all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Compare each consumer's event schemas with its publishers'; exit 1 if any disagree.

    Reads every service's contracts/events.json (written by `python -m <package>.contracts`).
    """
    from msgen.contracts import check_contracts as run
    from msgen.contracts import load_contracts
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd())
    workspace.model.require(services or [])
    report = run(load_contracts(workspace), services=services or [])
    if as_json:
        print_json(report.as_dict())
    else:
        out = console()
        if report.checks:
            out.print(_table(report))
        else:
            out.print("no service consumes events")
        for warning in report.warnings:
            out.print(
                f"[yellow]warning:[/] {escape(warning.publisher)} publishes "
                f"{escape(warning.event)}; no service consumes it",
                soft_wrap=True,
            )
        failed = sum(not check.ok for check in report.checks)
        summary = f"{len(report.checks) - failed} compatible, {failed} failing"
        out.print(f"[red]{summary}[/]" if failed else f"[green]{summary}[/]")
    if not report.ok:
        raise typer.Exit(1)


def _table(report: ContractReport) -> RenderableType:
    from msgen.cli._tables import Column, fit_table

    columns = [
        Column("consumer", key=True),
        Column("event", key=True),
        Column("publisher", drop=1),
        Column("verdict"),
        Column("reasons"),
    ]
    rows = [
        [
            escape(check.consumer),
            escape(check.event),
            escape(", ".join(check.publishers)) or "-",
            f"[{_STYLE[check.verdict]}]{check.verdict}[/]",
            "\n".join(escape(reason) for reason in check.reasons()),
        ]
        for check in report.checks
    ]
    return fit_table(columns, rows, console=console(), title="contracts")
