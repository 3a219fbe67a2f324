"""``msgen check health``: liveness and readiness of running services."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msgen.cli._ui import boundary, console, escape, print_json, working

if TYPE_CHECKING:
    from rich.console import RenderableType

    from msgen.health import Target, TargetHealth


@boundary
def check_health(
    services: Annotated[
        list[str] | None, typer.Argument(help="Services to check (default: all in msgen.yaml).")
    ] = None,
    url: Annotated[
        list[str] | None,
        typer.Option("--url", help="Base URL of a service to check (repeatable)."),
    ] = None,
    consul: Annotated[
        bool,
        typer.Option("--consul", help="Check every instance Consul knows (of SERVICE...)."),
    ] = False,
    consul_addr: Annotated[
        str | None,
        typer.Option(
            "--consul-addr",
            envvar="CONSUL_HTTP_ADDR",
            show_envvar=False,
            help="Consul agent for --consul.  [env: CONSUL_HTTP_ADDR; default: 127.0.0.1:8500]",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="CONSUL_HTTP_TOKEN",
            show_envvar=False,
            help="Consul ACL token.  [env: CONSUL_HTTP_TOKEN]",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds each probe may take.")] = 2.0,
    retries: Annotated[int, typer.Option(help="Extra attempts for a failing probe.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    watch: Annotated[
        float | None,
        typer.Option(help="Refresh every SECONDS until Ctrl-C.", metavar="SECONDS"),
    ] = None,
) -> None:
    """Check /health/live and /health/ready of services; exit 1 if any is unhealthy."""
    from msgen.health import MAX_RETRIES, MAX_TIMEOUT, MAX_WATCH, check_seconds, parse_target_url
    from msgen.health import check_health as run

    check_seconds(timeout, option="--timeout", maximum=MAX_TIMEOUT)
    if watch is not None:
        check_seconds(watch, option="--watch", maximum=MAX_WATCH)
    if not 0 <= retries <= MAX_RETRIES:
        from msgen.errors import UsageError

        raise UsageError(f"--retries must be between 0 and {MAX_RETRIES}")
    targets = [parse_target_url(u) for u in url or []]
    if consul:
        from msgen.consul import ConsulClient
        from msgen.health import consul_targets

        instances = ConsulClient(address=consul_addr, token=token).instances()
        targets = [*consul_targets(instances, services or []), *targets]
    elif services or not targets:
        targets = [*_workspace_targets(services or []), *targets]

    def once() -> list[TargetHealth]:
        return run(targets, timeout=timeout, retries=retries)

    if watch is None:
        with working(f"probing {len(targets)} targets", enabled=not as_json):
            results = once()
        if as_json:
            print_json([result.as_dict() for result in results])
        else:
            console().print(_table(results))
    else:
        results = _watch(once, watch, as_json=as_json)
    if not all(result.healthy for result in results):
        raise typer.Exit(1)


def _workspace_targets(names: list[str]) -> list[Target]:
    from msgen.health import workspace_targets
    from msgen.workspace import open_workspace

    return workspace_targets(open_workspace(Path.cwd()).model, names)


def _watch(
    once: Callable[[], list[TargetHealth]], seconds: float, *, as_json: bool
) -> list[TargetHealth]:
    """Probe every ``seconds`` until Ctrl-C; the last results.

    On a terminal the table refreshes in place. Elsewhere (a pipe, a log file) a table
    redrawn in place is nothing but control codes: each target's state is printed instead,
    one line when it is first seen and one each time it changes.
    """
    results: list[TargetHealth] = once()
    out = console()
    if as_json or not out.is_terminal:
        seen: dict[Target, str] = {}
        while True:
            if as_json:
                print_json([result.as_dict() for result in results])
            else:
                for result in _changed(results, seen):
                    out.print(_change_line(result), soft_wrap=True)
            try:
                time.sleep(seconds)
            except KeyboardInterrupt:
                return results
            results = once()
    from rich.live import Live

    with Live(_table(results), console=out, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(seconds)
                results = once()
                live.update(_table(results), refresh=True)
        except KeyboardInterrupt:
            pass
    return results


def _changed(results: list[TargetHealth], seen: dict[Target, str]) -> list[TargetHealth]:
    """The results whose state is new or changed since ``seen`` (updated), problems first."""
    from msgen.health import sort_key

    changed = [result for result in results if seen.get(result.target) != result.state]
    seen.update((result.target, result.state) for result in changed)
    return sorted(changed, key=sort_key)


def _change_line(result: TargetHealth) -> str:
    """``2025-05-01T12:00:03+02:00 orders 127.0.0.1:8001 down (live: connection refused)``."""
    from datetime import datetime

    target = result.target
    who = (
        target.service
        if target.instance == target.service
        else f"{target.service} {target.instance}"
    )
    if result.healthy:
        why = ""
    elif not result.live.ok:
        why = f" (live: {result.live.status})"
    else:
        failing = f"; failing: {', '.join(result.ready.failing)}" if result.ready.failing else ""
        why = f" (ready: {result.ready.status}{failing})"
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    style = "green" if result.healthy else "red"
    return f"{now} {escape(who)} [{style}]{escape(result.state)}[/]{escape(why)}"


def _table(results: list[TargetHealth]) -> RenderableType:
    from msgen.cli._tables import Column, fit_table
    from msgen.health import sort_key

    columns = [
        Column("service", key=True),
        Column("instance", key=True),
        Column("live"),
        Column("ready"),
        Column("failing dependency"),
        Column("HTTP", justify="right", drop=1),
        Column("latency", justify="right", drop=2),
    ]
    rows = []
    for result in sorted(results, key=sort_key):
        ready = result.ready
        latency = ready.latency_ms if ready.latency_ms is not None else result.live.latency_ms
        rows.append(
            [
                escape(result.target.service),
                escape(result.target.instance),
                _mark(result.live.ok, result.live.status),
                _mark(ready.ok, ready.status),
                escape(", ".join(ready.failing)) or ("" if ready.ok else "-"),
                str(ready.http_status or result.live.http_status or "-"),
                f"{latency:.0f} ms" if latency is not None else "-",
            ]
        )
    return fit_table(columns, rows, console=console(), title="health")


def _mark(ok: bool, status: str) -> str:
    return "[green]ok[/]" if ok else f"[red]{escape(status)}[/]"
