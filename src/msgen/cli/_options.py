"""Options several commands share, declared once so their flags and help stay alike."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["AsJson", "Broker"]

Broker = Annotated[
    str | None,
    typer.Option(
        "--broker",
        envvar="BROKER_URL",
        help="RabbitMQ URL, as for msgen dev up --broker "
        "(default: the local amqp://guest:guest@127.0.0.1:5672/).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
