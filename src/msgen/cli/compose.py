"""``msgen compose``: generate the compose file and drive Docker Compose."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from msgen.cli._outputs import report_outcomes
from msgen.cli._ui import boundary, console, escape, locked_workspace, working

if TYPE_CHECKING:
    from msgen.workspace import WorkspaceFile

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True, help="Run the whole system on one machine with Docker Compose."
)

_INFRA_HELP = "rabbitmq, consul, jaeger, prometheus or grafana (repeatable)"


def _generate(
    workspace: WorkspaceFile,
    include: list[str],
    exclude: list[str],
    *,
    force: bool,
    changes_only: bool = False,
) -> None:
    """Write the compose files and report them; ``changes_only``: only what changed."""
    from msgen.deploy import generate_compose

    result = generate_compose(workspace, include=include, exclude=exclude, force=force)
    report_outcomes(result.outcomes, quiet_unchanged=changes_only)
    if result.env.created:
        console().print(
            f"[green]  created[/] .env ({len(result.env.added)} variables, git-ignored)"
        )
    elif result.env.added:
        console().print(f"[green]    added[/] {', '.join(result.env.added)} to .env")
    if result.gitignore_added:
        console().print("[green]    added[/] .env to .gitignore")
    if not changes_only:
        infra = ", ".join(result.infra) or "none"
        console().print(f"Infrastructure: {escape(infra)}")


@app.command("generate")
@boundary
def generate(
    with_: Annotated[
        list[str] | None, typer.Option("--with", help=f"Also run {_INFRA_HELP}.")
    ] = None,
    without: Annotated[
        list[str] | None, typer.Option("--without", help=f"Leave out {_INFRA_HELP}.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace generated files even if edited by hand.")
    ] = False,
) -> None:
    """Write docker-compose.yml, .env.example, monitoring configs and .env from msgen.yaml."""
    with locked_workspace() as workspace:
        _generate(workspace, with_ or [], without or [], force=force)


def _compose(args: list[str], *, starts: bool = False) -> None:
    """Run compose on the workspace, regenerating docker-compose.yml first when stale.

    The Docker engine and Compose are checked before anything is regenerated: without them
    the one line that says so is all the output. A regeneration lists only the files it
    changed. ``starts``: the run starts containers, so the development issuer's keys (which
    its container only reads) are created first if need be. The workspace lock covers the
    regeneration only, not the checks nor the (long) compose run.
    """
    from msgen.deploy import compose_is_stale, ensure_issuer_keys, mark_fresh, recorded_selection
    from msgen.docker import check_engine, find_compose, run_compose

    with working("checking the Docker engine and Compose"):
        check_engine()
        command = find_compose()
    with locked_workspace() as workspace:
        if compose_is_stale(workspace):
            include, exclude = recorded_selection(workspace.root)
            console().print("msgen.yaml changed: regenerating docker-compose.yml")
            _generate(workspace, include, exclude, force=False, changes_only=True)
            mark_fresh(workspace)
        if starts:
            ensure_issuer_keys(workspace)
    code = run_compose(command, args, cwd=workspace.root)
    if code:
        raise typer.Exit(code)


@app.command("up")
@boundary
def up(
    services: Annotated[
        list[str] | None, typer.Argument(help="Services to start (default: all).")
    ] = None,
    build: Annotated[bool, typer.Option("--build", help="Build images before starting.")] = False,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run in the background.")] = False,
) -> None:
    """Start the system (regenerating docker-compose.yml first if msgen.yaml is newer)."""
    args = ["up"]
    if build:
        args.append("--build")
    if detach:
        args.append("--detach")
    _compose([*args, *(services or [])], starts=True)


@app.command("down")
@boundary
def down(
    volumes: Annotated[
        bool, typer.Option("--volumes", "-v", help="Also remove the named volumes (data!).")
    ] = False,
) -> None:
    """Stop and remove the system's containers and network."""
    _compose(["down", "--volumes"] if volumes else ["down"])


@app.command("ps")
@boundary
def ps() -> None:
    """List the system's containers and their health."""
    _compose(["ps"])


@app.command("logs")
@boundary
def logs(
    service: Annotated[str | None, typer.Argument(help="One service (default: all).")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep streaming.")] = False,
) -> None:
    """Show the containers' logs."""
    args = ["logs"]
    if follow:
        args.append("--follow")
    _compose([*args, *([service] if service else [])])
