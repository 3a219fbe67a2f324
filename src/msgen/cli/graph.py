"""``msgen graph``: draw the system."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from msgen.cli._ui import boundary, console, escape

if TYPE_CHECKING:
    from rich.tree import Tree

    from msgen.graph import Graph
    from msgen.workspace import ConsumeAction, Workspace

Format = Literal["tree", "mermaid", "dot", "svg", "png"]


@boundary
def graph(
    fmt: Annotated[
        Format,
        typer.Option("--format", "-f", help="tree (terminal), mermaid, dot, svg or png."),
    ] = "tree",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """Draw the services, their HTTP calls, their events and their infrastructure.

    Services no gateway routes are flagged (msgen update GATEWAY routes them).
    """
    from msgen.errors import UsageError
    from msgen.graph import build_graph, render_dot, render_image, render_mermaid, unrouted_note
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd()).model
    graph = build_graph(workspace)
    if fmt == "tree":
        if output is not None:
            raise UsageError("--output needs a file format: mermaid, dot, svg or png")
        console().print(_tree(workspace, graph))
        note = unrouted_note(graph)
        if note is not None:
            console().print(f"[yellow]{escape(note)}[/]", soft_wrap=True)
        return
    if fmt == "png" and output is None and sys.stdout.isatty():
        raise UsageError("--format png writes binary data: pass --output FILE")
    if fmt in {"svg", "png"}:
        data = render_image(graph, fmt)
    else:
        data = (render_mermaid(graph) if fmt == "mermaid" else render_dot(graph)).encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        console().print(f"wrote {escape(output)}")


def _tree(workspace: Workspace, graph: Graph) -> Tree:
    from rich.tree import Tree

    from msgen.graph import publishers_of

    publishers = publishers_of(workspace)
    root = Tree(f"[bold]{escape(graph.name)}[/]")
    for name in sorted(workspace.services):
        entry = workspace.services[name]
        flag = " [yellow]not routed[/]" if name in graph.unrouted else ""
        branch = root.add(f"[bold]{escape(name)}[/] [dim]{entry.kind} :{entry.port}[/]{flag}")
        if entry.versions:
            split = ", ".join(f"{v} {w}%" for v, w in sorted(entry.versions.items()))
            branch.add(f"canary: {escape(split)}")
        for upstream in sorted(entry.upstreams):
            branch.add(f"calls [cyan]{escape(upstream)}[/] over HTTP")
        for event in sorted(entry.publishes):
            consumers = [
                _consumer(n, e.consume_actions().get(event))
                for n, e in sorted(workspace.services.items())
                if event in e.consumes
            ]
            to = ", ".join(consumers) if consumers else "[yellow]no consumer[/]"
            branch.add(f"publishes [magenta]{escape(event)}[/] -> {to}")
        for event in sorted(entry.consumes):
            source = ", ".join(sorted(publishers.get(event, []))) or "[red]nobody publishes it[/]"
            action = entry.consume_actions().get(event)
            runs = "" if action is None else f" -> [cyan]{escape(action.command)}[/]"
            branch.add(f"consumes [magenta]{escape(event)}[/]{runs} <- {source}")
        uses = []
        if entry.kind == "service" and entry.db != "none":
            uses.append(f"database ({entry.db})")
        if entry.broker != "none":
            uses.append(entry.broker)
        if entry.discovery == "consul":
            uses.append("consul")
        if uses:
            branch.add(f"uses {', '.join(uses)}")
    return root


def _consumer(name: str, action: ConsumeAction | None) -> str:
    """A consumer of an event, with the command the event runs in it: ``orders (Order.pay)``."""
    return escape(name) if action is None else f"{escape(name)} ([cyan]{escape(action.command)}[/])"
