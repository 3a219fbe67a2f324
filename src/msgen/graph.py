"""The system as a graph: services, their HTTP calls, their events and their infrastructure.

:func:`build_graph` turns the workspace into typed nodes and edges (sorted, so the same
workspace always gives the same output); the renderers turn that into Mermaid or Graphviz
text. SVG and PNG come from Graphviz's ``dot``, run as a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from msgen.errors import GraphvizMissingError, MsgenError

if TYPE_CHECKING:
    from msgen.workspace import ServiceEntry, Workspace

__all__ = [
    "Edge",
    "Graph",
    "Node",
    "build_graph",
    "event_label",
    "publishers_of",
    "render_dot",
    "render_image",
    "render_mermaid",
    "routed_by",
    "unrouted",
    "unrouted_note",
]

NodeKind = Literal["service", "gateway", "database", "broker", "consul"]
EdgeKind = Literal["http", "event", "uses"]


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """A service, a gateway, or a piece of infrastructure."""

    id: str
    label: str
    kind: NodeKind


@dataclass(frozen=True, slots=True, order=True)
class Edge:
    """``http``: calls; ``event``: publisher to consumer; ``uses``: infra.

    An event edge is labelled with the event, or ``<event> -> <Entity>.<command>`` when the
    consumer runs a command on it (see :func:`event_label`).
    """

    source: str
    target: str
    kind: EdgeKind
    label: str = ""


@dataclass(frozen=True, slots=True)
class Graph:
    """Nodes and edges, each sorted."""

    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    unrouted: tuple[str, ...] = ()
    """Services no gateway routes (see :func:`unrouted`), by name."""
    gateways: tuple[str, ...] = ()
    """The gateways, by name: the ones to update to route them."""


def _ident(name: str) -> str:
    return name.replace("-", "_")


def publishers_of(workspace: Workspace) -> dict[str, list[str]]:
    """Event name -> the services that publish it."""
    publishers: dict[str, list[str]] = {}
    for name, entry in workspace.services.items():
        for event in entry.publishes:
            publishers.setdefault(event, []).append(name)
    return publishers


def event_label(event: str, entry: ServiceEntry) -> str:
    """The label of ``event`` consumed by ``entry``: the event, and the command it runs.

    ``orders.order_created``, or ``payments.payment_captured -> Order.pay``.
    """
    action = entry.consume_actions().get(event)
    return event if action is None else f"{event} -> {action.command}"


def routed_by(workspace: Workspace) -> dict[str, list[str]]:
    """Each service (kind ``service``) -> the gateways whose ``upstreams`` route it.

    A gateway records the services of the workspace when it is rendered (or updated); one
    added later is not routed until ``msgen update <gateway>``.
    """
    gateways = [name for name, entry in workspace.services.items() if entry.kind == "gateway"]
    return {
        name: [gateway for gateway in gateways if name in workspace.services[gateway].upstreams]
        for name, entry in workspace.services.items()
        if entry.kind == "service"
    }


def unrouted(workspace: Workspace) -> list[str]:
    """The services no gateway routes, in workspace order (none when there is no gateway)."""
    if not any(entry.kind == "gateway" for entry in workspace.services.values()):
        return []
    return [name for name, gateways in routed_by(workspace).items() if not gateways]


def unrouted_note(graph: Graph) -> str | None:
    """The line that names the unrouted services and the command that routes them, or None."""
    if not graph.unrouted:
        return None
    gateways = " ".join(graph.gateways)
    return f"not routed by a gateway: {', '.join(graph.unrouted)} (msgen update {gateways})"


def build_graph(workspace: Workspace) -> Graph:
    """The graph of a workspace: a pure function of ``msgen.yaml``."""
    nodes: set[Node] = set()
    edges: set[Edge] = set()
    publishers = publishers_of(workspace)
    for name, entry in workspace.services.items():
        label = name
        if entry.versions:
            split = " / ".join(f"{v} {w}%" for v, w in sorted(entry.versions.items()))
            label = f"{name} ({split})"
        nodes.add(Node(_ident(name), label, "gateway" if entry.kind == "gateway" else "service"))
        for upstream in entry.upstreams:
            edges.add(Edge(_ident(name), _ident(upstream), "http"))
        for event in entry.consumes:
            for publisher in publishers.get(event, []):
                edges.add(Edge(_ident(publisher), _ident(name), "event", event_label(event, entry)))
        if entry.kind == "service" and entry.db != "none":
            db_id = f"{_ident(name)}_db"
            nodes.add(Node(db_id, f"{name} db ({entry.db})", "database"))
            edges.add(Edge(_ident(name), db_id, "uses"))
        if entry.broker != "none":
            nodes.add(Node(entry.broker, entry.broker, "broker"))
            edges.add(Edge(_ident(name), entry.broker, "uses"))
        if entry.discovery == "consul":
            nodes.add(Node("consul", "consul", "consul"))
            edges.add(Edge(_ident(name), "consul", "uses"))
    return Graph(
        name=workspace.name,
        nodes=tuple(sorted(nodes)),
        edges=tuple(sorted(edges)),
        unrouted=tuple(sorted(unrouted(workspace))),
        gateways=tuple(sorted(n for n, e in workspace.services.items() if e.kind == "gateway")),
    )


_MERMAID_SHAPES: dict[NodeKind, tuple[str, str]] = {
    "service": ("[", "]"),
    "gateway": ("{{", "}}"),
    "database": ("[(", ")]"),
    "broker": ("([", "])"),
    "consul": ("((", "))"),
}


def _quote(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def render_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart: solid HTTP calls, dashed labelled events, plain infra links.

    A service no gateway routes is grey with a dashed border, labelled ``(not routed)``.
    """
    lines = [f"%% {graph.name}: generated by msgen graph", "flowchart LR"]
    note = unrouted_note(graph)
    if note is not None:
        lines.insert(1, f"%% {note}")
    unrouted_ids = {_ident(name) for name in graph.unrouted}
    for node in graph.nodes:
        opening, closing = _MERMAID_SHAPES[node.kind]
        label, style = node.label, str(node.kind)
        if node.id in unrouted_ids:
            label, style = f"{label} (not routed)", "unrouted"
        lines.append(f"    {node.id}{opening}{_quote(label)}{closing}:::{style}")
    for edge in graph.edges:
        if edge.kind == "http":
            lines.append(f"    {edge.source} -->|HTTP| {edge.target}")
        elif edge.kind == "event":
            lines.append(f"    {edge.source} -.->|{_quote(edge.label)}| {edge.target}")
        else:
            lines.append(f"    {edge.source} --- {edge.target}")
    lines += [
        "    classDef service fill:#e8f1ff,stroke:#2f6fde",
        "    classDef gateway fill:#fff4d6,stroke:#c98a00",
        "    classDef database fill:#eeeeee,stroke:#666666",
        "    classDef broker fill:#fde8e8,stroke:#c0392b",
        "    classDef consul fill:#e6f7ee,stroke:#1e8449",
    ]
    if unrouted_ids:
        lines.append("    classDef unrouted fill:#f4f4f4,stroke:#888888,stroke-dasharray:5 5")
    return "\n".join(lines) + "\n"


_DOT_SHAPES: dict[NodeKind, str] = {
    "service": 'shape=box, style="rounded,filled", fillcolor="#e8f1ff"',
    "gateway": 'shape=hexagon, style=filled, fillcolor="#fff4d6"',
    "database": 'shape=cylinder, style=filled, fillcolor="#eeeeee"',
    "broker": 'shape=parallelogram, style=filled, fillcolor="#fde8e8"',
    "consul": 'shape=ellipse, style=filled, fillcolor="#e6f7ee"',
}


_DOT_UNROUTED = (
    'shape=box, style="rounded,filled,dashed", fillcolor="#f4f4f4", color=gray50, fontcolor=gray30'
)


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(graph: Graph) -> str:
    """Graphviz DOT: solid HTTP calls, dashed labelled events, dotted infra links.

    A service no gateway routes is grey with a dashed border, labelled ``(not routed)``.
    """
    note = unrouted_note(graph)
    unrouted_ids = {_ident(name) for name in graph.unrouted}
    lines = [
        f"// {graph.name}: generated by msgen graph",
        *([f"// {note}"] if note is not None else []),
        f"digraph {_dot_string(graph.name)} {{",
        "    rankdir=LR;",
        '    node [fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in graph.nodes:
        if node.id in unrouted_ids:
            label = _dot_string(f"{node.label} (not routed)")
            lines.append(f"    {node.id} [label={label}, {_DOT_UNROUTED}];")
        else:
            label = _dot_string(node.label)
            lines.append(f"    {node.id} [label={label}, {_DOT_SHAPES[node.kind]}];")
    for edge in graph.edges:
        if edge.kind == "http":
            style = 'style=solid, label="HTTP"'
        elif edge.kind == "event":
            style = f"style=dashed, label={_dot_string(edge.label)}"
        else:
            style = "style=dotted, arrowhead=none, color=gray40"
        lines.append(f"    {edge.source} -> {edge.target} [{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_image(graph: Graph, fmt: Literal["svg", "png"]) -> bytes:
    """Run Graphviz's ``dot`` on the DOT text; a one-line error names the package if missing."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissingError(
            f"--format {fmt} needs Graphviz's 'dot', which is not installed",
            hint="apt-get install graphviz (or use --format mermaid / dot)",
        )
    try:
        proc = subprocess.run(
            [dot, f"-T{fmt}"], input=render_dot(graph).encode(), capture_output=True, check=False
        )
    except OSError as exc:
        raise GraphvizMissingError(f"cannot run {dot}: {exc.strerror}") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise MsgenError(f"dot failed: {message[0] if message else proc.returncode}")
    return proc.stdout
