"""``msgen doctor``: one table of what msgen can use here, with the fix for what is missing."""

from __future__ import annotations

from typing import Annotated

import typer

from msgen.cli._ui import boundary, console, escape, print_json, working

CHECKS_HELP = (
    "python, templates, virtualenvs, docker, compose, consul, postgres, rabbitmq, kubectl, dot"
)


@boundary
def doctor(
    postgres: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL to probe, host:port or URL (default: PGHOST/PGPORT, "
            "else 127.0.0.1:5432).",
            show_default=False,
        ),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            help="RabbitMQ to probe, host:port or amqp:// URL (default: BROKER_URL, "
            "else 127.0.0.1:5672).",
            show_default=False,
        ),
    ] = None,
    consul: Annotated[
        str | None,
        typer.Option(
            help="Consul agent address (default: CONSUL_HTTP_ADDR, else 127.0.0.1:8500).",
            show_default=False,
        ),
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            metavar="CHECK",
            help=f"Also count this optional check as required (repeatable): {CHECKS_HELP}.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds each network probe may take.")
    ] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Check what msgen can use here: Python, Docker, Compose, Consul, PostgreSQL, RabbitMQ...

    Exit 0 when every required check passes (Python 3.11+, msgen's templates, and any
    --require), 1 otherwise. The checks run concurrently with short timeouts.
    """
    from msgen.doctor import DoctorOptions, all_required_ok, run_checks

    options = DoctorOptions(
        postgres=postgres,
        broker=broker,
        consul=consul,
        timeout=timeout,
        require=tuple(require or ()),
    )
    with working("checking what msgen can use here", enabled=not as_json):
        checks = run_checks(options)
    ok = all_required_ok(checks)
    if as_json:
        print_json({"ok": ok, "checks": [check.to_data() for check in checks]})
        raise typer.Exit(0 if ok else 1)
    from msgen.cli._tables import Column, fit_table

    columns = [
        Column("check", key=True),
        Column("status"),
        Column("need", drop=1),
        Column("found"),
        Column("used by / fix"),
    ]
    rows = []
    for check in checks:
        if check.ok:
            status = "[green]ok[/]"
        else:
            status = "[bold red]missing[/]" if check.required else "[yellow]missing[/]"
        note = escape(check.used_by) if check.ok else f"[bold]fix:[/] {escape(check.fix or '')}"
        need = "required" if check.required else "[dim]optional[/]"
        rows.append([escape(check.name), status, need, escape(check.found), note])
    out = console()
    out.print(fit_table(columns, rows, console=out, title="msgen doctor"))
    failed = [c.name for c in checks if c.required and not c.ok]
    if failed:
        console().print(f"[bold red]required check failed:[/] {escape(', '.join(failed))}")
        raise typer.Exit(1)
    missing = [c.name for c in checks if not c.ok]
    if missing:
        console().print(
            f"[green]ready[/]: every required check passed; optional missing: "
            f"{escape(', '.join(missing))}"
        )
    else:
        console().print("[green]ready[/]: everything msgen can use is here")
