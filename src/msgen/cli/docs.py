"""``msgen docs build|serve``: the system catalog, a static site (msgen.catalog)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msgen.cli._options import AsJson
from msgen.cli._ui import boundary, console, escape, print_json, working

if TYPE_CHECKING:
    from msgen.catalog import CatalogResult
    from msgen.errors import MsgenError
    from msgen.workspace import WorkspaceFile

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="The system catalog: every service, its API, its events and its contracts.",
)

Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="The site's directory (default: catalog/ beside msgen.yaml).",
        show_default=False,
    ),
]
Force = Annotated[
    bool, typer.Option("--force", help="Replace --output even if msgen did not build it.")
]


def _target(workspace: WorkspaceFile, output: Path | None) -> Path:
    from msgen.catalog import DEFAULT_OUTPUT

    return output if output is not None else workspace.root / DEFAULT_OUTPUT


def _summary(result: CatalogResult) -> str:
    drawn = "drawn by Graphviz" if result.graph == "svg" else "as Mermaid text (no Graphviz)"
    failing = f"; [red]{result.failing} contract(s) failing[/]" if result.failing else ""
    return (
        f"wrote {escape(result.output)}: {len(result.pages)} pages, the graph {drawn}"
        f"{failing}\nopen {escape(result.output / 'index.html')}"
    )


@app.command("build")
@boundary
def build(output: Output = None, force: Force = False, as_json: AsJson = False) -> None:
    """Write the catalog: a static site that opens from disk or any static host.

    The system graph; every service with its owner (owner: in msgen.yaml), its callers and
    upstreams, the events it publishes and consumes, its HTTP API (Swagger UI, from its
    contracts/openapi.json); and the verdicts of msgen check contracts.
    """
    from msgen.catalog import build_catalog
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd())
    with working("building the catalog", enabled=not as_json):
        result = build_catalog(workspace, _target(workspace, output), force=force)
    if as_json:
        print_json(
            {
                "output": str(result.output),
                "pages": list(result.pages),
                "graph": result.graph,
                "failing": result.failing,
                "notes": list(result.notes),
            }
        )
        return
    for note in result.notes:
        console().print(f"[yellow]{escape(note)}[/]", soft_wrap=True)
    console().print(_summary(result), soft_wrap=True)


@app.command("serve")
@boundary
def serve(
    output: Output = None,
    force: Force = False,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.", min=1, max=65535)] = 8800,
    interval: Annotated[
        float, typer.Option(help="Seconds between looks for changed contracts.", min=0.1)
    ] = 1.0,
) -> None:
    """Serve the catalog and rebuild it when msgen.yaml or a service's contracts change.

    Open pages reload themselves after a rebuild. Ctrl-C stops it.
    """
    from msgen.catalog import serve_catalog
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd())
    target = _target(workspace, output)

    def built(result: CatalogResult, reason: str) -> None:
        console().print(f"{escape(reason)}: {_summary(result)}", soft_wrap=True)

    def listening(url: str) -> None:
        console().print(f"serving {escape(url)} (Ctrl-C stops)", soft_wrap=True)

    def failed(error: MsgenError) -> None:
        console().print(f"[red]not rebuilt: {escape(error)}[/] (serving the last build)")

    serve_catalog(
        workspace.root,
        target,
        host=host,
        port=port,
        force=force,
        interval=interval,
        on_build=built,
        on_listen=listening,
        on_error=failed,
    )
