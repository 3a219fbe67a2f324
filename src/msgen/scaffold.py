"""``msgen new service``: validate, render atomically, then record in the workspace.

Nothing is saved unless the render succeeded, and a render whose workspace entry could not
be saved is removed again, so ``msgen.yaml`` and the file tree never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from msgen.clients import take_upstreams
from msgen.consumed import consumed_models
from msgen.contracts import write_contract_file
from msgen.domain.generate import plan_change, write_domain_files
from msgen.domain.model import Domain, Entity
from msgen.domain.view import template_entities
from msgen.errors import (
    DuplicateServiceError,
    PortError,
    TargetExistsError,
    UnknownServiceError,
    UsageError,
)
from msgen.http_contracts import OPENAPI_FILE, upstream_dirs
from msgen.locking import lock_workspace
from msgen.messaging import (
    check_broker,
    check_producers,
    domain_events,
    entities_data,
    validate_event_names,
)
from msgen.naming import ServiceNames, check_port, derive_names, next_free_port
from msgen.render import RenderResult, remove_tree, render_template
from msgen.template_versions import store_template, template_version
from msgen.workspace import (
    Broker,
    Ci,
    Db,
    Discovery,
    ServiceEntry,
    WorkspaceFile,
    create_workspace,
    default_system_name,
    find_workspace,
    load_workspace,
)

if TYPE_CHECKING:
    from msgen.warm_export import WarmExport

__all__ = [
    "NewServiceOptions",
    "NewServiceResult",
    "Placement",
    "adopt_render",
    "ci_features",
    "finish_service",
    "initial_domain",
    "new_service",
    "place",
    "record",
    "refuse_busy_port",
    "service_features",
    "template_data",
    "upstream_urls",
    "workspace_for",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewServiceOptions:
    """Everything ``msgen new service`` can be asked for."""

    name: str
    db: Db = "sqlite"
    port: int | None = None
    resource: str | None = None
    output: Path | None = None
    force: bool = False
    dry_run: bool = False
    discovery: Discovery = "static"
    upstreams: tuple[str, ...] = ()
    broker: Broker | None = None
    """None: rabbitmq when the service has a database, else none."""
    consumes: tuple[str, ...] = ()
    event_sourcing: bool = False
    tracing: bool = True
    metrics: bool = True
    ci: Ci = "github"
    """The CI pipeline rendered into the service (recorded as feature ``ci:<name>``)."""
    fields: tuple[str, ...] = ()
    """Fields of the main entity, ``name:type[?][=default]``; none: the starter entity."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewServiceResult:
    """What ``new_service`` did (or, for a dry run, would do)."""

    names: ServiceNames
    port: int
    broker: Broker
    target: Path
    files: tuple[str, ...]
    workspace: Path
    workspace_created: bool
    dry_run: bool
    adopted: bool = False
    """True when an interrupted run's complete render was recorded instead of rendering."""
    unrouted_by: tuple[str, ...] = ()
    """The workspace's gateways that do not route the service (until ``msgen update``)."""
    unexported_upstreams: tuple[str, ...] = ()
    """Upstreams without ``contracts/openapi.json`` yet: no snapshot for the client."""


def workspace_for(cwd: Path) -> tuple[WorkspaceFile, bool]:
    """The workspace above ``cwd``, or a new unsaved one in ``cwd`` (second item True)."""
    found = find_workspace(cwd)
    if found is not None:
        return load_workspace(found), False
    return create_workspace(cwd, name=default_system_name(cwd)), True


TEMPLATE_DEFAULTS: dict[str, object] = {
    "entities": [],
    "broker": "none",
    "consumes": [],
    "consumed": {},
    "workflows": [],
    "auth": False,
    "auth_issuer": "http://127.0.0.1:8900",
    "auth_audience": "msgen",
    "auth_scopes": {},
    "auth_forward_upstreams": [],
    "event_sourcing": False,
    "system_name": "system",
    "discovery": "static",
    "upstreams": {},
    "tracing": True,
    "metrics": True,
    "ci": "github",
}


def ci_features(ci: Ci) -> list[str]:
    """The workspace feature that records a service's CI pipeline (none: no feature)."""
    return [] if ci == "none" else [f"ci:{ci}"]


def template_data(
    names: ServiceNames, *, port: int, db: Db, **features: object
) -> dict[str, object]:
    """The copier answers for the service template; ``features`` override the defaults.

    Without ``entities``, a service with a database gets the starter entity (the template
    needs at least one entity to render its models, routes and tests).
    """
    unknown = set(features) - set(TEMPLATE_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown template features: {', '.join(sorted(unknown))}")
    if "entities" not in features and db != "none":
        from msgen.domain.view import starter_domain

        features["entities"] = template_entities(starter_domain(names.resource_class))
    return {
        **names.as_data(),
        "port": port,
        "db": db,
        **TEMPLATE_DEFAULTS,
        **features,
        "msgen_version": template_version("service"),
    }


def service_features(options: NewServiceOptions) -> list[str]:
    """The ``features`` recorded in the workspace (compose and k8s wire tracing and metrics)."""
    wanted = {
        "event-sourcing": options.event_sourcing,
        "tracing": options.tracing,
        "metrics": options.metrics,
    }
    return [*(feature for feature, on in wanted.items() if on), *ci_features(options.ci)]


def upstream_urls(
    workspace: WorkspaceFile, names: tuple[str, ...], *, discovery: Discovery
) -> dict[str, str]:
    """Default base URL of each upstream: the workspace port on 127.0.0.1, or its DNS name.

    Consul discovery falls back to the static address when Consul cannot be asked.
    """
    services = workspace.model.services
    urls: dict[str, str] = {}
    for name in names:
        entry = services.get(name)
        if entry is None:
            known = ", ".join(sorted(services)) or "none yet"
            raise UnknownServiceError(
                f"--upstream {name!r} is not a service of this workspace (known: {known})",
                hint="create it first with 'msgen new service', or fix the name",
            )
        host = name if discovery == "dns" else "127.0.0.1"
        urls[name] = f"http://{host}:{entry.port}"
    return urls


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where a new service (or gateway) goes: its port and directory."""

    port: int
    target: Path


def place(
    workspace: WorkspaceFile,
    name: str,
    *,
    cwd: Path,
    port: int | None,
    output: Path | None,
    force: bool,
    preferred_port: int | None = None,
) -> Placement:
    """Refuse a duplicate name (unless ``force``), choose the port, check the directory.

    Without an explicit ``port``: the entry's old port when re-rendering, else
    ``preferred_port`` when it is free, else the next free port (chosen from the workspace
    alone, so the same workspace gives the same ports on every machine). An explicit
    ``port`` another program listens on here is refused unless ``force``.
    """
    services = workspace.model.services
    existing = services.get(name)
    if existing is not None and not force:
        raise DuplicateServiceError(
            f"the workspace already has a service named {name!r}",
            hint="choose another name, or pass --force to render it again",
        )
    used = workspace.model.used_ports() - ({existing.port} if existing else set())
    if port is not None:
        chosen = check_port(port, used)
        if not force:
            refuse_busy_port(port)
    elif existing is not None:
        chosen = existing.port
    elif preferred_port is not None and preferred_port not in used:
        chosen = preferred_port
    else:
        chosen = next_free_port(used)
    target = ((cwd / output) if output else workspace.root / name).absolute()
    for other in services:
        if other != name and workspace.service_dir(other) == target.resolve():
            raise TargetExistsError(f"{target} already holds the service {other!r}")
    return Placement(port=chosen, target=target)


def refuse_busy_port(port: int) -> None:
    """Raise PortError when a program on this host listens on ``port``.

    The test binds the wildcard address with SO_REUSEADDR, which only a listening socket
    (on any address) makes fail; a port msgen cannot test is let through.
    """
    import errno
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return
        else:
            return
    from msgen.devrun import port_holder

    holder = port_holder(port)
    raise PortError(
        f"port {port} is in use on this host"
        + (f" by {holder}" if holder else "")
        + ", and not by a service of this workspace",
        hint="choose another --port, or pass --force to record it anyway",
    )


def adopt_render(
    workspace: WorkspaceFile, name: str, *, target: Path, data: dict[str, object]
) -> RenderResult | None:
    """A complete render of ``name`` the workspace does not record, when ``data`` made it.

    A run killed between moving its render into place and saving ``msgen.yaml`` leaves such
    a directory; rerunning the same command adopts it (the caller records it) instead of
    refusing the directory. A render with other answers is refused with what to do.
    """
    if name in workspace.model.services or not target.is_dir():
        return None
    from msgen.errors import UpdateError
    from msgen.update import ANSWERS_FILE, read_answers

    if not (target / ANSWERS_FILE).is_file():
        return None
    try:
        answers = read_answers(target)
    except UpdateError:
        return None
    if answers.get("service_name") != name:
        return None
    different = sorted(
        {
            "auth" if key.startswith("auth_") else key
            for key, value in data.items()
            if answers.get(key) != value
        }
    )
    if different:
        raise TargetExistsError(
            f"{target} holds a render of {name!r} that msgen.yaml does not record (an "
            f"interrupted run?), made with other options ({', '.join(different)})",
            hint="rerun with the options it was made with to adopt it, or pass --force to "
            "render over it, or remove the directory",
        )
    files = tuple(
        sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if not p.is_dir())
    )
    return RenderResult(target=target, files=files, created=False, adopted=True)


def record(
    workspace: WorkspaceFile,
    name: str,
    entry: ServiceEntry,
    *,
    result: RenderResult,
    template: str = "service",
) -> None:
    """Keep the template for ``msgen update`` and save the entry.

    A fresh render is removed again if either cannot be written.
    """
    workspace.model.services[name] = entry
    try:
        entry.template_version = store_template(workspace.root, template)
        workspace.save()
    except BaseException:
        if result.created:
            remove_tree(result.target)
        raise


def initial_domain(names: ServiceNames, fields: tuple[str, ...], *, db: Db) -> Domain:
    """The domain of a new service: its main entity with ``fields``, or the starter entity.

    Validated as a whole before anything is written.
    """
    from msgen.domain.syntax import parse_cli_field
    from msgen.domain.validate import validate_domain
    from msgen.domain.view import starter_domain

    if db == "none":
        if fields:
            raise UsageError(
                "fields need a database: the entity is a table",
                hint="drop --db none, or the fields",
            )
        return Domain()
    if not fields:
        return starter_domain(names.resource_class)
    parsed = tuple(parse_cli_field(text) for text in fields)
    domain = Domain(entities=(Entity(name=names.resource_class, fields=parsed),))
    validate_domain(domain)
    return domain


def finish_service(
    *,
    names: ServiceNames,
    domain: Domain,
    broker: Broker,
    warm: WarmExport | None = None,
    upstreams: Mapping[str, Path] | None = None,
) -> Callable[[Path], object]:
    """What completes a fresh render: the first revision, the rules modules, contracts.

    ``warm``, a Python started earlier for the contract export, runs it (its start-up
    overlapped the render); without one the export starts its own. ``upstreams`` (name ->
    directory) have their OpenAPI documents copied into ``contracts/upstreams/``: what the
    service's clients of them are built from.
    """

    def finish(project: Path) -> None:
        if upstreams:
            take_upstreams(project, upstreams, package=names.package, service=names.service)
        change = plan_change(
            project, package=names.package, old=Domain(), new=domain, service_name=names.service
        )
        write_domain_files(project, change)
        if broker == "none":
            return
        if warm is None:
            write_contract_file(project, package=names.package)
        else:
            warm.start(project, package=names.package)
            warm.wait()

    return finish


def new_service(options: NewServiceOptions, *, cwd: Path) -> NewServiceResult:
    """Render a new service and record it in the workspace (created when there is none).

    The workspace lock is held from reading ``msgen.yaml`` (the port is chosen from it) to
    saving it, so concurrent runs each get their own port and are all recorded.
    """
    with lock_workspace(cwd):
        return _new_service(options, cwd=cwd)


def _new_service(options: NewServiceOptions, *, cwd: Path) -> NewServiceResult:
    names = derive_names(options.name, resource=options.resource)
    consumes = validate_event_names(options.consumes, consumer=names.service)
    broker = check_broker(
        broker=options.broker,
        db=options.db,
        consumes=consumes,
        event_sourcing=options.event_sourcing,
    )
    if broker == "none":
        return _render_and_record(options, names=names, consumes=consumes, broker=broker, cwd=cwd)
    from msgen.warm_export import WarmExport

    # The contract export's Python starts now and imports pydantic while msgen renders.
    with WarmExport() as warm:
        return _render_and_record(
            options, names=names, consumes=consumes, broker=broker, cwd=cwd, warm=warm
        )


def _render_and_record(
    options: NewServiceOptions,
    *,
    names: ServiceNames,
    consumes: list[str],
    broker: Broker,
    cwd: Path,
    warm: WarmExport | None = None,
) -> NewServiceResult:
    domain = initial_domain(names, options.fields, db=options.db)
    workspace, created = workspace_for(cwd)
    check_producers(consumes, workspace.model.services)
    placement = place(
        workspace,
        names.service,
        cwd=cwd,
        port=options.port,
        output=options.output,
        force=options.force,
    )
    upstreams = upstream_urls(workspace, options.upstreams, discovery=options.discovery)
    data = template_data(
        names,
        port=placement.port,
        db=options.db,
        discovery=options.discovery,
        upstreams=upstreams,
        broker=broker,
        consumes=list(consumes),
        consumed=consumed_models(workspace, consumes),
        event_sourcing=options.event_sourcing,
        tracing=options.tracing,
        metrics=options.metrics,
        system_name=workspace.model.name,
        ci=options.ci,
        entities=template_entities(domain),
        **workspace.model.auth_answers("service", options.db),
    )
    called = upstream_dirs(workspace, upstreams)
    adopted = None
    if not (options.force or options.dry_run):
        adopted = adopt_render(workspace, names.service, target=placement.target, data=data)
    result = adopted or render_template(
        "service",
        data=data,
        target=placement.target,
        force=options.force,
        dry_run=options.dry_run,
        finish=finish_service(
            names=names, domain=domain, broker=broker, warm=warm, upstreams=called
        ),
    )
    if not options.dry_run:
        entry = ServiceEntry(
            kind="service",
            path=workspace.relative_path(placement.target),
            port=placement.port,
            db=options.db,
            resource=names.resource_class,
            discovery=options.discovery,
            upstreams=list(upstreams),
            broker=broker,
            publishes=domain_events(names.service, domain) if broker != "none" else [],
            consumes=list(consumes),
            features=service_features(options),
            entities=entities_data(domain),
        )
        record(workspace, names.service, entry, result=result)
    return NewServiceResult(
        names=names,
        port=placement.port,
        broker=broker,
        target=placement.target,
        files=result.files,
        workspace=workspace.path,
        workspace_created=created,
        dry_run=options.dry_run,
        adopted=result.adopted,
        unexported_upstreams=tuple(
            sorted(name for name, path in called.items() if not (path / OPENAPI_FILE).is_file())
        ),
        unrouted_by=tuple(
            gateway
            for gateway, other in workspace.model.services.items()
            if other.kind == "gateway" and names.service not in other.upstreams
        ),
    )
