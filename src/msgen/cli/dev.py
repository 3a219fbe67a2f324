"""``msgen dev up|down|ps``: run the system locally, without Docker."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from msgen.cli._ui import boundary, console, escape, print_json

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

    from msgen.devrun import PidRecord, ProcessSpec, Running
    from msgen.workspace import WorkspaceFile

app = typer.Typer(no_args_is_help=True, help="Run the system locally, without Docker.")

COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan")


class _StatusReporter:
    def __init__(self, status: object) -> None:
        self.status = status

    def step(self, message: str) -> None:
        self.status.update(f"[bold]{escape(message)}")  # type: ignore[attr-defined]
        console().print(f"[dim]- {escape(message)}[/]")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command("up")
@boundary
def up(
    services: Annotated[
        list[str] | None, typer.Argument(help="Services to run (default: all).")
    ] = None,
    postgres: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL server for services with db: postgres "
            "(e.g. postgresql://postgres@127.0.0.1:5432); SQLite otherwise."
        ),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            help="RabbitMQ URL for services with a broker, or 'none' (default: the local "
            "amqp://guest:guest@127.0.0.1:5672/ when it answers).",
            show_default=False,
        ),
    ] = None,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background; stop with dev down.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Restart a service whose process dies.")
    ] = False,
    reload: Annotated[
        bool,
        typer.Option(
            "--reload",
            help="Restart a service when a file under its src/ or its pyproject.toml changes "
            "(only that service; foreground only).",
        ),
    ] = False,
) -> None:
    """Start the services with uvicorn, each in its own virtual environment.

    Services with a broker use --broker, else a RabbitMQ on 127.0.0.1:5672 if one answers;
    every consumer's queue is declared on it first (as msgen broker declare), so no event
    published before its consumer starts is lost. Each service starts once the services it
    calls (its upstreams) answer ready.
    """
    # With auth: {provider: dev} in msgen.yaml, msgen's development issuer starts first.
    from msgen import devrun
    from msgen.errors import UsageError
    from msgen.workspace import open_workspace

    if reload and detach:
        raise UsageError(
            "--reload watches the files from the foreground; it cannot be detached",
            hint="drop --detach (or --reload)",
        )

    workspace = open_workspace(Path.cwd())
    broker_url = devrun.find_broker(workspace, broker)
    options = devrun.DevOptions(
        services=tuple(services or ()), postgres_url=postgres, broker_url=broker_url
    )
    specs = devrun.plan(workspace, options)
    starting, reused = devrun.to_start(workspace, specs)
    devrun.check_ports(starting)
    starting = devrun.register_clients(workspace, starting)
    with console().status("preparing") as status:
        devrun.prepare(starting, _StatusReporter(status))
        if broker_url and starting:
            _declare_topology(workspace, broker_url, _StatusReporter(status))
    if detach:
        _up_detached(workspace, starting, reused)
    else:
        watch = devrun.state_dir(workspace) if reload else None
        _up_foreground(starting, reused, restart=restart, reload=watch)


def _declare_topology(workspace: WorkspaceFile, url: str, reporter: _StatusReporter) -> None:
    """Every consumer's queue, before any publisher starts; a failure is a warning."""
    from msgen.amqp import redacted
    from msgen.errors import BrokerError
    from msgen.topology import declare, system_topology

    topology = system_topology(workspace.model)
    reporter.step(f"declaring the topology on {redacted(url)}")
    try:
        declared = declare(topology, url=url)
    except BrokerError as exc:
        console().print(
            f"[yellow]warning: {escape(exc.message)}; the services keep their events in "
            "their outboxes until they reach the broker[/]",
            soft_wrap=True,
        )
        return
    if declared:
        names = ", ".join(item.queue.name for item in declared)
        console().print(f"[dim]queues ready on {escape(redacted(url))}: {escape(names)}[/]")


def _up_detached(
    workspace: WorkspaceFile, specs: list[ProcessSpec], reused: list[PidRecord]
) -> None:
    from msgen import devrun

    processes: list[Running] = []
    pidfiles: list[Path] = []

    def launch(spec: ProcessSpec) -> Running:
        with devrun.log_file(workspace, spec.name) as log:
            running = devrun.start(spec, log=log, on_line=None)
        pidfiles.append(devrun.write_pidfile(workspace, running))
        return running

    try:
        with _StartView(specs) as view:
            devrun.start_in_stages(specs, launch, processes, on_state=view)
    except BaseException:
        devrun.terminate(processes)
        for path in pidfiles:
            path.unlink(missing_ok=True)
        raise
    _print_urls(specs, reused)
    console().print(
        f"[dim]logs: {workspace.root / '.msgen' / 'logs'}; stop with: msgen dev down[/]"
    )


def _up_foreground(
    specs: list[ProcessSpec], reused: list[PidRecord], *, restart: bool, reload: Path | None
) -> None:
    """Run ``specs`` until Ctrl-C; ``reload``: watch them, with spares in that directory."""
    from msgen import devrun

    colours = {spec.name: COLOURS[i % len(COLOURS)] for i, spec in enumerate(specs)}
    width = max(len(spec.name) for spec in specs)
    lock = threading.Lock()

    def on_line(name: str, line: str) -> None:
        from rich.text import Text

        with lock:
            console().print(
                Text.assemble((f"{name:<{width}} | ", colours[name]), line), soft_wrap=True
            )

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    processes: list[Running] = []
    try:
        with _StartView(specs) as view:
            devrun.start_in_stages(
                specs, lambda spec: devrun.start(spec, on_line=on_line), processes, on_state=view
            )
        _print_urls(specs, reused)
        if reload is not None:
            _watch(processes, state=reload, on_line=on_line)
        else:
            console().print("[dim]Ctrl-C stops every service[/]")
            _supervise(processes, on_line=on_line, restart=restart)
    except KeyboardInterrupt:
        console().print("[yellow]stopping[/]")
    finally:
        devrun.terminate(processes)
        signal.signal(signal.SIGTERM, previous)


class _StartView:
    """What each process does while dev up starts them.

    On a terminal, a table updated in place (gone once all are ready: the running table
    follows); otherwise a line per change, with the seconds since the start.
    """

    def __init__(self, specs: list[ProcessSpec]) -> None:
        self.states = {spec.name: "" for spec in specs}
        self.began = time.monotonic()
        self.live: Live | None = None

    def __enter__(self) -> _StartView:
        out = console()
        if out.is_terminal:
            from rich.live import Live

            live = Live(self._table(), console=out, transient=True, refresh_per_second=8)
            live.__enter__()
            self.live = live
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def __call__(self, spec: ProcessSpec, state: str) -> None:
        seconds = time.monotonic() - self.began
        self.states[spec.name] = f"{state} ({seconds:.1f} s)" if state == "ready" else state
        if self.live is not None:
            self.live.update(self._table())
        else:
            console().print(f"[dim]{escape(spec.name)}: {escape(self.states[spec.name])}[/]")

    def _table(self) -> RenderableType:
        from msgen.cli._tables import Column, fit_table

        rows = [[escape(name), escape(state)] for name, state in self.states.items()]
        columns = [Column("service", key=True), Column("state", key=True)]
        return fit_table(columns, rows, console=console(), title="starting")


class _ReloadConsole:
    """msgen.reload's events, on the console."""

    def changed(self, name: str, files: list[str]) -> None:
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        console().print(f"[yellow]{escape(name)}: {escape(shown)} changed: restarting[/]")

    def step(self, name: str, message: str) -> None:
        console().print(f"[dim]{escape(name)}: {escape(message)}[/]")

    def failed(self, name: str, message: str) -> None:
        console().print(f"[bold red]{escape(name)} {escape(message)}[/]", soft_wrap=True)

    def reloaded(self, name: str, seconds: float, warm: bool) -> None:
        console().print(f"[green]{escape(name)} answers again, {seconds:.1f} s after the save[/]")


def _watch(processes: list[Running], *, state: Path, on_line: object) -> None:
    """Restart a service whose files change (msgen.reload) until Ctrl-C."""
    from msgen.reload import POLL, Reloader

    reloader = Reloader(
        processes,
        state=state,
        on_line=on_line,  # type: ignore[arg-type]
        events=_ReloadConsole(),
    )
    console().print(
        "[dim]watching src/ and pyproject.toml of each service; Ctrl-C stops every service[/]"
    )
    try:
        while True:
            time.sleep(POLL)
            reloader.tick()
    finally:
        processes[:] = reloader.processes


def _supervise(processes: list[Running], *, on_line: object, restart: bool) -> None:
    from msgen import devrun

    while processes:
        time.sleep(0.5)
        for running in list(processes):
            code = running.process.poll()
            if code is None:
                continue
            console().print(f"[bold red]{running.spec.name} exited with code {code}[/]")
            if restart:
                console().print(f"[yellow]restarting {running.spec.name}[/]")
                new = devrun.start(running.spec, on_line=on_line)  # type: ignore[arg-type]
                new.restarts = running.restarts + 1
                processes[processes.index(running)] = new
            else:
                processes.remove(running)
    raise typer.Exit(1)


def _database_label(url: str | None) -> str:
    """``sqlite .msgen/data/orders.db`` or ``postgres 127.0.0.1:5432/orders``: short, no secret."""
    if not url:
        return "-"
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[-1])
        with contextlib.suppress(ValueError):
            path = path.relative_to(Path.cwd())
        return f"sqlite {path}"
    return f"postgres {url.split('@')[-1]}"


def _print_urls(specs: list[ProcessSpec], reused: list[PidRecord]) -> None:
    from msgen.amqp import redacted
    from msgen.cli._tables import Column, fit_table
    from msgen.devrun import ISSUER

    columns = [
        Column("service", key=True),
        Column("url", key=True),
        Column("database", drop=2),
        Column("broker", drop=1),
    ]
    rows = [
        [escape(record.name), record.url, f"- (already running, pid {record.pid})", ""]
        for record in reused
    ]
    missing = []
    for spec in specs:
        database = _database_label(spec.env.get("DATABASE_URL"))
        broker = "-"
        if spec.entry is not None and spec.entry.broker != "none":
            url = spec.env.get("BROKER_URL")
            broker = escape(redacted(url).split("@")[-1]) if url else "[yellow]none[/]"
            if not url:
                missing.append(spec.name)
        rows.append([escape(spec.name), spec.url, escape(database), broker])
    out = console()
    out.print(fit_table(columns, rows, console=out, title="running"))
    if missing:
        console().print(
            f"[yellow]no broker for {escape(', '.join(missing))}: their events wait in their "
            "outboxes and nothing is consumed; start RabbitMQ on 127.0.0.1:5672 (msgen doctor "
            "checks it) or pass --broker URL[/]",
            soft_wrap=True,
        )
    if any(spec.name == ISSUER for spec in specs) or reused:
        console().print("[dim]a token for your own calls: msgen token --scope SERVICE:read[/]")


@app.command("down")
@boundary
def down(
    services: Annotated[
        list[str] | None, typer.Argument(help="Services to stop (default: all).")
    ] = None,
) -> None:
    """Stop services started with dev up --detach."""
    from msgen import devrun
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd())
    workspace.model.require(services or [])
    records = [r for r in devrun.read_pidfiles(workspace) if not services or r.name in services]
    stopped = devrun.stop_pids([r.pid for r in records])
    for record in records:
        record.path.unlink(missing_ok=True)
        state = "stopped" if record.pid in stopped else "was not running"
        console().print(f"{record.name} (pid {record.pid}): {state}")
    if not records:
        console().print("[dim]nothing is running[/]")


@app.command("ps")
@boundary
def ps(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show the services started with dev up --detach."""
    from msgen import devrun
    from msgen.workspace import open_workspace

    records = devrun.read_pidfiles(open_workspace(Path.cwd()))
    rows = [{"service": r.name, "pid": r.pid, "running": r.alive, "url": r.url} for r in records]
    if as_json:
        print_json(rows)
        return
    from msgen.cli._tables import Column, fit_table

    columns = [
        Column("service", key=True),
        Column("pid", justify="right"),
        Column("state"),
        Column("url", key=True),
    ]
    cells = [
        [
            escape(str(row["service"])),
            str(row["pid"]),
            "[green]running[/]" if row["running"] else "[red]exited[/]",
            str(row["url"]),
        ]
        for row in rows
    ]
    out = console()
    out.print(
        fit_table(columns, cells, console=out, title="dev processes")
        if rows
        else "[dim]nothing is running[/]"
    )
