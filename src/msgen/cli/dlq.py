"""``msgen dlq list|show|redrive``: the dead-lettered messages of a consuming service."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from msgen.cli._options import AsJson, Broker
from msgen.cli._ui import boundary, console, err_console, escape, print_json, working

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.progress import Progress, TaskID

    from msgen.dlq import DeadLetter, DeadLetterQueue
    from msgen.redrive import RedriveOutcome, RedriveResult

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Inspect and redrive the dead-lettered messages of a service that consumes events.",
)

Service = Annotated[str, typer.Argument(help="A service that consumes events.", show_default=False)]

MIN_REASON = 20
"""Below this much room for the reason, list prints a block per message, not a table."""
LISTED_OUTCOMES = 20
"""Up to this many messages, redrive prints a line for each; beyond, only the failures."""


def _queue(service: str, broker: str | None) -> DeadLetterQueue:
    from msgen.dlq import dead_letter_queue
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd())
    return dead_letter_queue(workspace.model, service, url=broker)


@app.command("list")
@boundary
def list_messages(service: Service, as_json: AsJson = False, broker: Broker = None) -> None:
    """List a service's dead-lettered messages, leaving them queued.

    Message id, event type, attempts, when it failed and why, for each message in queue
    order; reading takes none off the queue and keeps their order.
    """
    from msgen.dlq import list_dead_letters

    queue = _queue(service, broker)
    with working(f"reading {queue.name}", enabled=not as_json):
        letters = list_dead_letters(queue).messages
    if as_json:
        print_json(
            {
                "service": queue.service,
                "queue": queue.name,
                "count": len(letters),
                "messages": [letter.summary() for letter in letters],
            }
        )
        return
    if not letters:
        console().print(f"{escape(queue.name)} is empty: no dead-lettered messages", soft_wrap=True)
        return
    out = console()
    out.print(_listing(letters, out.width), soft_wrap=False)
    plural = "message" if len(letters) == 1 else "messages"
    out.print(
        f"{len(letters)} dead-lettered {plural} in {escape(queue.name)} "
        f"[dim](all still there: msgen dlq show|redrive {escape(service)} ...)[/]",
        soft_wrap=True,
    )


def _listing(letters: list[DeadLetter], width: int) -> RenderableType:
    """A table, one row per message, when it fits ``width``; else a block per message.

    The id is never cut; the reason is cut to the room that is left.
    """
    from rich.console import Group
    from rich.table import Table

    from msgen.inputs import shorten

    extra = [
        key
        for key in dict.fromkeys(key for letter in letters for key in letter.failure)
        if key not in {"reason", "attempts"}
    ]
    headings = ["message id", "event type", "attempts", "failed at (UTC)", *extra]
    rows = [
        [
            letter.message_id or "-",
            letter.event_type or "-",
            _text(letter.attempts),
            _when(letter.failed_at),
            *(_text(letter.failure.get(key)) for key in extra),
        ]
        for letter in letters
    ]
    widths = [max(len(text) for text in column) for column in zip(headings, *rows, strict=True)]
    room = width - sum(widths) - 3 * len(widths) - 1
    if room >= MIN_REASON:
        from rich import box

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for heading, column_width in zip(headings, widths, strict=True):
            justify: Literal["left", "right"] = "right" if heading == "attempts" else "left"
            table.add_column(heading, no_wrap=True, width=column_width, justify=justify)
        table.add_column("reason", no_wrap=True, width=room)
        for letter, row in zip(letters, rows, strict=True):
            reason = shorten(letter.reason or "-", room)
            table.add_row(*(escape(text) for text in row), escape(reason))
        return table
    blocks = []
    for letter, row in zip(letters, rows, strict=True):
        facts = [f"attempts {row[2]}", f"failed {row[3]} UTC"]
        facts += [f"{key} {text}" for key, text in zip(extra, row[4:], strict=True)]
        reason = shorten(letter.reason or "-", max(width - 3, MIN_REASON))
        blocks.append(
            f"[bold]{escape(row[0])}[/]  {escape(row[1])}\n"
            f"  {escape(', '.join(facts))}\n  [dim]{escape(reason)}[/]"
        )
    return Group(*blocks)


def _when(value: str | None) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM:SS`` in UTC (as it came if it is not one)."""
    from datetime import UTC, datetime

    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _text(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value)


@app.command("show")
@boundary
def show(
    service: Service,
    message_id: Annotated[str, typer.Argument(help="The message id (see msgen dlq list).")],
    as_json: AsJson = False,
    broker: Broker = None,
) -> None:
    """Show one dead-lettered message: its headers and body.

    The message stays in the queue, in its place.
    """
    from msgen.dlq import dead_lettering_header, find_dead_letter

    queue = _queue(service, broker)
    with working(f"reading {queue.name}", enabled=not as_json):
        letter = find_dead_letter(queue, message_id)
    if as_json:
        print_json({"service": queue.service, "queue": queue.name, **letter.to_data()})
        return
    from rich.table import Table

    about = Table.grid(padding=(0, 2))
    about.add_column(no_wrap=True)
    about.add_column(overflow="fold")
    about.add_row("message id", escape(letter.message_id or "-"))
    about.add_row("queue", escape(queue.name))
    about.add_row("content type", escape(letter.content_type or "-"))
    for name, value in letter.properties.items():
        about.add_row(name.replace("_", " "), escape(_text(value)))
    out = console()
    out.print(about)
    out.print("[bold]headers[/]")
    headers = Table.grid(padding=(0, 2))
    headers.add_column(no_wrap=True)
    headers.add_column(overflow="fold")
    for name, value in letter.headers.items():
        # What dead-lettering added (and redrive leaves out) stands out.
        shown = f"[yellow]{escape(name)}[/]" if dead_lettering_header(name) else escape(name)
        headers.add_row(f"  {shown}", escape(_text(value)))
    out.print(headers)
    text, encoding = letter.body_text()
    parsed = letter.body_json()
    encoded = ", base64" if encoding == "base64" else ""
    out.print(f"[bold]body[/] [dim]({len(letter.body)} bytes{encoded})[/]")
    body = json.dumps(parsed, indent=2, ensure_ascii=False) if parsed is not None else text
    out.print(escape(body), soft_wrap=True)


@app.command("redrive")
@boundary
def redrive(
    service: Service,
    message_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Ids of the messages to redrive (see msgen dlq list).", show_default=False
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Redrive every message in the dead-letter queue.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show where each would go; publish and remove nothing."),
    ] = False,
    as_json: AsJson = False,
    broker: Broker = None,
) -> None:
    """Republish dead letters where they came from, then remove them.

    Each copy goes to the message's original exchange and routing key with its message id,
    body and headers (less the x-failure-* ones), and RabbitMQ confirms it before its dead
    letter is removed: an unroutable one stays in the queue. A consumer skips a message it
    already applied (by its id). Exits 1 if any message could not be redriven.
    """
    from msgen.redrive import RedriveRequest
    from msgen.redrive import redrive as run_redrive

    queue = _queue(service, broker)
    request = RedriveRequest(message_ids=tuple(message_ids or ()), every=every, dry_run=dry_run)
    with _progress(enabled=not as_json) as reporter:
        result = run_redrive(queue, request, reporter=reporter)
    if as_json:
        print_json(
            {
                "service": queue.service,
                "queue": queue.name,
                "dry_run": result.dry_run,
                "redriven": len(result.outcomes) - len(result.failed),
                "failed": len(result.failed),
                "messages": [outcome.to_data() for outcome in result.outcomes],
            }
        )
    else:
        _report(result)
    if result.failed:
        raise typer.Exit(1)


_STYLE = {"redriven": "green", "would-redrive": "cyan"}


def _report(result: RedriveResult) -> None:
    out = console()
    outcomes = result.outcomes
    queue = result.queue.name
    for outcome in outcomes:
        if not outcome.ok or len(outcomes) <= LISTED_OUTCOMES:
            out.print(_line(outcome), soft_wrap=True)
    done = len(outcomes) - len(result.failed)
    if not outcomes:
        out.print(f"{escape(queue)} is empty: nothing to redrive", soft_wrap=True)
    elif result.dry_run:
        out.print(
            f"Would redrive {done} of {len(outcomes)} from {escape(queue)} "
            "[dim](dry run: nothing published or removed)[/]",
            soft_wrap=True,
        )
    else:
        out.print(
            f"Redrove {done} of {len(outcomes)} from {escape(queue)} to their original exchanges",
            soft_wrap=True,
        )
    if result.failed:
        err_console().print(
            f"[bold red]error:[/] {len(result.failed)} could not be redriven; "
            f"those in the queue stay in {escape(queue)}",
            soft_wrap=True,
        )


def _line(outcome: RedriveOutcome) -> str:
    style = _STYLE.get(outcome.status, "red")
    where = ""
    if outcome.exchange is not None:
        where = f" -> {outcome.exchange or '(default exchange)'} {outcome.routing_key}"
    detail = f": {outcome.detail}" if outcome.detail else ""
    return (
        f"[{style}]{outcome.status:>13}[/] {escape(outcome.message_id or '-')}"
        f"{escape(where)}{escape(detail)}"
    )


class _ProgressReporter:
    """A rich progress bar on stderr for the redrive (only on a terminal)."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("redriving", total=total)

    def advance(self, outcome: RedriveOutcome) -> None:
        del outcome
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)


@contextlib.contextmanager
def _progress(*, enabled: bool) -> Iterator[_ProgressReporter]:
    err = err_console()
    if not enabled or not err.is_terminal:
        yield _ProgressReporter(None)
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as progress:
        yield _ProgressReporter(progress)
