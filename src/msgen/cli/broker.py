"""``msgen broker declare|definitions``: the system's RabbitMQ topology, ahead of the services."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msgen.cli._options import AsJson, Broker
from msgen.cli._ui import boundary, console, escape, print_json, working

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Declare every consumer's queue on RabbitMQ from msgen.yaml, before any publisher runs.",
)


@app.command("declare")
@boundary
def declare(broker: Broker = None, as_json: AsJson = False) -> None:
    """Declare the system's exchange and every consumer's queue, bindings and DLQ.

    Names and arguments are the generated services' own, so a service that starts later
    finds its queue ready, with every event published to it meanwhile. Idempotent.
    """
    from msgen.amqp import broker_url, redacted
    from msgen.topology import declare as declare_topology
    from msgen.topology import system_topology
    from msgen.workspace import open_workspace

    topology = system_topology(open_workspace(Path.cwd()).model)
    url = broker_url(broker)
    with working(f"declaring on {redacted(url)}", enabled=not as_json):
        declared = declare_topology(topology, url=url)
    if as_json:
        data = topology.to_data()
        for queue, item in zip(data["queues"], declared, strict=True):
            queue.update(created=item.created, messages=item.messages)
        print_json({"broker": redacted(url), **data})
        return
    out = console()
    if not declared:
        out.print(
            f"Declared exchange {escape(topology.exchange)}; no service consumes events, "
            "so there is no queue to declare",
            soft_wrap=True,
        )
        return
    from msgen.cli._tables import Column, fit_table

    columns = [
        Column("queue", key=True),
        Column("consumer", drop=2),
        Column("bound to"),
        Column("state", drop=1),
        Column("ready", justify="right"),
    ]
    rows = [
        [
            escape(item.queue.name),
            escape(item.queue.service),
            escape(", ".join(item.queue.events)),
            "created" if item.created else "existed",
            str(item.messages),
        ]
        for item in declared
    ]
    out.print(fit_table(columns, rows, console=out, simple=True))
    out.print(
        f"Declared {len(declared)} consumer queue(s) on exchange {escape(topology.exchange)} "
        f"at {escape(redacted(url))}, each with its .dlx and .dlq",
        soft_wrap=True,
    )


@app.command("definitions")
@boundary
def show_definitions(vhost: Annotated[str, typer.Option(help="The virtual host.")] = "/") -> None:
    """Print the topology as RabbitMQ definitions JSON (for rabbitmqctl import_definitions)."""
    from msgen.topology import definitions, system_topology
    from msgen.workspace import open_workspace

    print_json(definitions(system_topology(open_workspace(Path.cwd()).model), vhost=vhost))
