"""``msgen register``, ``msgen deregister`` and ``msgen services``: Consul, by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from msgen.cli._ui import boundary, console, escape, print_json, working

ConsulOption = Annotated[
    str | None,
    typer.Option(
        "--consul",
        envvar="CONSUL_HTTP_ADDR",
        help="Consul agent: host:port or URL.  [env: CONSUL_HTTP_ADDR; default: 127.0.0.1:8500]",
        show_envvar=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CONSUL_HTTP_TOKEN",
        help="ACL token.  [env: CONSUL_HTTP_TOKEN]",
        show_envvar=False,
    ),
]
_STATUS_STYLE = {"passing": "green", "warning": "yellow", "critical": "red"}


@boundary
def register(
    name: Annotated[str, typer.Argument(help="Service name, e.g. orders.")],
    address: Annotated[str, typer.Option(help="Address Consul and clients reach it on.")],
    port: Annotated[int, typer.Option(help="Port it listens on.", min=1, max=65535)],
    service_id: Annotated[
        str | None, typer.Option("--id", help="Instance ID (default: NAME-ADDRESS-PORT).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    check_url: Annotated[
        str | None,
        typer.Option(help="URL of its HTTP check (default: http://ADDRESS:PORT/health/ready)."),
    ] = None,
    no_check: Annotated[bool, typer.Option("--no-check", help="Register without a check.")] = False,
    consul: ConsulOption = None,
    token: TokenOption = None,
) -> None:
    """Register a service instance (and its HTTP check) with Consul."""
    from msgen.consul import ConsulClient, Registration
    from msgen.naming import validate_service_name

    validate_service_name(name)
    registration = Registration(
        name=name,
        address=address,
        port=port,
        id=service_id,
        tags=tuple(dict.fromkeys(tag or ())),
        check_url=None if no_check else (check_url or f"http://{address}:{port}/health/ready"),
    )
    client = ConsulClient(address=consul, token=token)
    with working(f"registering with Consul at {client.base_url}"):
        instance_id = client.register(registration)
    console().print(
        f"[green]Registered[/] {escape(instance_id)} ({escape(address)}:{port}) "
        f"with Consul at {escape(client.base_url)}",
        soft_wrap=True,
    )


@boundary
def deregister(
    service_id: Annotated[str, typer.Argument(metavar="ID", help="Instance ID to remove.")],
    consul: ConsulOption = None,
    token: TokenOption = None,
) -> None:
    """Remove a service instance from Consul."""
    from msgen.consul import ConsulClient

    client = ConsulClient(address=consul, token=token)
    client.deregister(service_id)
    console().print(f"[green]Deregistered[/] {escape(service_id)}", soft_wrap=True)


@boundary
def services(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    consul: ConsulOption = None,
    token: TokenOption = None,
) -> None:
    """List Consul's services, their instances and check status."""
    from msgen.consul import ConsulClient

    client = ConsulClient(address=consul, token=token)
    with working(f"asking Consul at {client.base_url}", enabled=not as_json):
        instances = client.instances()
    if as_json:
        print_json({"consul": client.base_url, "instances": [i.to_data() for i in instances]})
        return
    if not instances:
        console().print(f"[dim]Consul at {escape(client.base_url)} has no services[/]")
        return
    from msgen.cli._tables import Column, fit_table

    columns = [
        Column("service", key=True),
        Column("id", key=True),
        Column("address"),
        Column("status"),
        Column("checks", drop=2),
        Column("tags", drop=1),
    ]
    rows = [
        [
            escape(instance.service),
            escape(instance.id),
            f"{escape(instance.address)}:{instance.port}",
            f"[{_STATUS_STYLE.get(instance.status, 'red')}]{escape(instance.status)}[/]",
            escape(", ".join(f"{name}: {status}" for name, status in instance.checks)),
            escape(", ".join(instance.tags)),
        ]
        for instance in instances
    ]
    out = console()
    title = f"Consul at {escape(client.base_url)}"
    out.print(fit_table(columns, rows, console=out, title=title))
