"""``msgen check contracts``: event contracts, and callers' clients against HTTP APIs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msgen.cli._ui import boundary, console, escape, print_json

if TYPE_CHECKING:
    from rich.console import RenderableType

    from msgen.contracts import ContractReport
    from msgen.http_contracts import HttpReport

_STYLE = {
    "compatible": "green",
    "incompatible": "red",
    "removed": "red",
    "unpublished": "red",
    "unexported": "yellow",
    "unbuilt": "yellow",
}


@boundary
def check_contracts(
    services: Annotated[
        list[str] | None,
        typer.Argument(help="Report only these services, as consumer or publisher (default: all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Check events between publishers and consumers, and clients against HTTP APIs.

    Exits 1 when a consumer may reject an event or a caller's client breaks against its
    upstream's current API.

    Reads every service's contracts/events.json (written by `python -m <package>.contracts`),
    contracts/openapi.json (`python -m <package>.openapi`) and, for each upstream it calls,
    contracts/upstreams/<upstream>.json: the document its client was built from.
    """
    from msgen.contracts import check_contracts as run
    from msgen.contracts import load_contracts
    from msgen.http_contracts import check_http
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd())
    workspace.model.require(services or [])
    report = run(load_contracts(workspace), services=services or [])
    http = check_http(workspace, services=services or [])
    if as_json:
        print_json({**report.as_dict(), "ok": report.ok and http.ok, "http": http.as_dict()})
    else:
        out = console()
        if report.checks:
            out.print(_table(report))
        else:
            out.print("no service consumes events")
        if http.checks:
            out.print(_http_table(http))
        for warning in report.warnings:
            out.print(
                f"[yellow]warning:[/] {escape(warning.publisher)} publishes "
                f"{escape(warning.event)}; no service consumes it",
                soft_wrap=True,
            )
        failed = sum(not c.ok for c in report.checks) + sum(not c.ok for c in http.checks)
        passed = sum(c.ok for c in report.checks) + sum(
            c.verdict == "compatible" for c in http.checks
        )
        unchecked = sum(c.verdict in ("unexported", "unbuilt") for c in http.checks)
        summary = f"{passed} compatible, {failed} failing"
        summary += f", {unchecked} not checked yet" if unchecked else ""
        out.print(f"[red]{summary}[/]" if failed else f"[green]{summary}[/]")
    if not (report.ok and http.ok):
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


def _http_table(report: HttpReport) -> RenderableType:
    from msgen.cli._tables import Column, fit_table

    columns = [
        Column("caller", key=True),
        Column("upstream", key=True),
        Column("operations", drop=1),
        Column("verdict"),
        Column("reasons"),
    ]
    rows = [
        [
            escape(check.caller),
            escape(check.upstream),
            str(check.operations) if check.operations else "-",
            f"[{_STYLE[check.verdict]}]{check.verdict}[/]",
            "\n".join(escape(reason) for reason in check.reasons()),
        ]
        for check in report.checks
    ]
    return fit_table(columns, rows, console=console(), title="HTTP contracts")
