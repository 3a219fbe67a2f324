"""``msgen new service NAME``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal, Protocol

import typer

from msgen.cli._ui import boundary, console, escape, working, workspace_lock

DbChoice = Literal["sqlite", "postgres", "none"]
DB_CHOICES: tuple[DbChoice, ...] = ("sqlite", "postgres", "none")
DiscoveryChoice = Literal["static", "consul", "dns"]
BrokerChoice = Literal["rabbitmq", "none"]
CiChoice = Literal["github", "gitlab", "none"]
CI_HELP = (
    "CI pipeline to render: github (.github/workflows/ci.yml, image to ghcr.io), gitlab "
    "(.gitlab-ci.yml, image to the GitLab registry) or none. Lint, tests against "
    "PostgreSQL/RabbitMQ containers, image build, push on tags."
)


def _interactive(defaults: bool) -> bool:
    return not defaults and sys.stdin.isatty() and sys.stdout.isatty()


@boundary
def new_service(
    name: Annotated[str, typer.Argument(help="Service name: a DNS label such as 'orders'.")],
    fields: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FIELD",
            help="Fields of the main entity, name:type[?][=default] (e.g. total:decimal "
            "note:text? 'status:enum(pending,paid)=pending' 'order:ref(Order)'); without "
            "fields, a starter entity (name, description, status). See docs/domain.md.",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        DbChoice | None,
        typer.Option(
            help="Database: sqlite (zero setup; PostgreSQL by setting DATABASE_URL), "
            "postgres, or none.  [default: sqlite]",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="HTTP port (default: next free port in the workspace from 8001)."),
    ] = None,
    resource: Annotated[
        str | None,
        typer.Option(help="The CRUD entity (default: from the name, orders -> Order)."),
    ] = None,
    broker: Annotated[
        BrokerChoice | None,
        typer.Option(
            help="Message broker for domain events (transactional outbox, consumers): "
            "rabbitmq or none.  [default: rabbitmq; none with --db none]",
            show_default=False,
        ),
    ] = None,
    consumes: Annotated[
        list[str] | None,
        typer.Option(
            "--consumes",
            metavar="EVENT",
            help="An event to consume, <service>.<event> (e.g. orders.order_created); repeatable.",
            show_default=False,
        ),
    ] = None,
    event_sourcing: Annotated[
        bool,
        typer.Option(
            "--event-sourcing",
            help="Event-sourced write model: an event store with snapshots; the resource "
            "table becomes its read model (CQRS).",
        ),
    ] = False,
    tracing: Annotated[
        bool,
        typer.Option(
            "--tracing/--no-tracing",
            help="OpenTelemetry traces over HTTP and RabbitMQ, exported with OTLP (OTEL_* "
            "variables).",
        ),
    ] = True,
    metrics: Annotated[
        bool,
        typer.Option(
            "--metrics/--no-metrics",
            help="Prometheus metrics at GET /metrics (requests per route, pool, outbox, "
            "consumer, breakers).",
        ),
    ] = True,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Directory to render into (default: ./NAME)."),
    ] = None,
    discovery: Annotated[
        DiscoveryChoice,
        typer.Option(
            help="How it finds the services it calls: static addresses from settings (zero "
            "setup), consul (registers itself, resolves passing instances) or dns (service "
            "names, as Kubernetes/Istio provide)."
        ),
    ] = "static",
    upstream: Annotated[
        list[str] | None,
        typer.Option(
            "--upstream",
            help="A workspace service this one calls (repeatable); gets a client, a circuit "
            "breaker and an UPSTREAM_<NAME>_URL setting.",
        ),
    ] = None,
    ci: Annotated[CiChoice, typer.Option(help=CI_HELP)] = "github",
    force: Annotated[
        bool,
        typer.Option("--force", help="Render over an existing service or non-empty directory."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files that would be written; write none.")
    ] = False,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Never prompt; use defaults for what is not given.")
    ] = False,
) -> None:
    """Render a FastAPI service with its own database, tests and Dockerfile."""
    from msgen.naming import derive_names
    from msgen.scaffold import NewServiceOptions
    from msgen.scaffold import new_service as run

    names = derive_names(name, resource=resource)  # fail fast, before any prompt
    if _interactive(defaults):
        if db is None:
            db = typer.prompt(
                "Database (sqlite, postgres, none)",
                default="sqlite",
                type=typer.Choice(list(DB_CHOICES)),  # type: ignore[attr-defined]
            )
        if resource is None:
            resource = typer.prompt("Resource (the CRUD entity)", default=names.resource_class)
    options = NewServiceOptions(
        name=name,
        db=db or "sqlite",
        port=port,
        resource=resource,
        broker=broker,
        consumes=tuple(consumes or ()),
        event_sourcing=event_sourcing,
        tracing=tracing,
        metrics=metrics,
        output=output,
        force=force,
        dry_run=dry_run,
        discovery=discovery,
        upstreams=tuple(dict.fromkeys(upstream or ())),
        ci=ci,
        fields=tuple(fields or ()),
    )
    with workspace_lock(), working(f"rendering {names.service}"):
        result = run(options, cwd=Path.cwd())
    report_render(
        result,
        created=(
            f"[green]Created service[/] [bold]{result.names.service}[/] in "
            f"{escape(str(result.target))} (port {result.port}, db {options.db}, "
            f"broker {result.broker}, "
            f"resource {result.names.resource_class} at /{result.names.resource_path})"
        ),
        package=result.names.package,
    )
    if not result.dry_run:
        for gateway in result.unrouted_by:
            console().print(
                f"[yellow]{escape(gateway)} does not route {result.names.service} yet:[/] "
                f"msgen update {escape(gateway)}",
                soft_wrap=True,
            )
        for missing in result.unexported_upstreams:
            console().print(
                f"[yellow]{escape(missing)} has no contracts/openapi.json yet:[/] run its "
                f"tests, then msgen update {result.names.service}",
                soft_wrap=True,
            )


class Rendered(Protocol):
    """What ``new service`` and ``new gateway`` both return about their render."""

    @property
    def target(self) -> Path: ...
    @property
    def files(self) -> tuple[str, ...]: ...
    @property
    def dry_run(self) -> bool: ...
    @property
    def workspace(self) -> Path: ...
    @property
    def workspace_created(self) -> bool: ...
    @property
    def port(self) -> int: ...
    @property
    def adopted(self) -> bool: ...


def report_render(result: Rendered, *, created: str, package: str) -> None:
    """The dry-run tree, or the created workspace, the ``created`` line and the next steps."""
    if result.dry_run:
        print_tree(result.target, result.files)
        console().print(f"[dim]dry run: {len(result.files)} files, nothing written[/]")
        return
    if result.workspace_created:
        console().print(
            f"Created workspace {escape(str(result.workspace))} (APIs require tokens from "
            "msgen's development issuer: msgen token; msgen init --auth none first for open APIs)",
            soft_wrap=True,
        )
    if result.adopted:
        console().print(
            f"[yellow]Adopted[/] {escape(str(result.target))}: a complete render an "
            "interrupted run left, not yet in msgen.yaml; recorded it without rendering again",
            soft_wrap=True,
        )
    console().print(created, soft_wrap=True)
    # The same steps as the README's: a virtual environment of its own, never the user's Python.
    console().print(
        f"Next:\n  cd {escape(str(result.target))}\n"
        "  python3 -m venv .venv && .venv/bin/pip install -e '.\\[test]' && .venv/bin/pytest\n"
        f"  .venv/bin/uvicorn {package}.main:app --port {result.port}\n"
        "  or the whole system, each service in its own environment: msgen dev up",
        soft_wrap=True,
    )


def print_tree(target: Path, files: tuple[str, ...]) -> None:
    from rich.tree import Tree

    tree = Tree(f"[bold]{escape(str(target))}[/]")
    nodes: dict[tuple[str, ...], Tree] = {(): tree}
    for file in files:
        parts = tuple(file.split("/"))
        for depth in range(1, len(parts)):
            key = parts[:depth]
            if key not in nodes:
                nodes[key] = nodes[key[:-1]].add(f"[bold blue]{escape(key[-1])}/[/]")
        nodes[parts[:-1]].add(escape(parts[-1]))
    console().print(tree)
