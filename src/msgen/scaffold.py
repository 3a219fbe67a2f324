"""``msgen new service``: validate, render atomically, then record in the workspace.

Nothing is saved unless the render succeeded, and a render whose workspace entry could not
be saved is removed again, so ``msgen.yaml`` and the file tree never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from msgen.__about__ import __version__
from msgen.errors import DuplicateServiceError, TargetExistsError
from msgen.messaging import check_broker, published_events, validate_event_names
from msgen.naming import ServiceNames, check_port, derive_names, next_free_port
from msgen.render import remove_tree, render_template
from msgen.workspace import (
    Broker,
    Db,
    ServiceEntry,
    WorkspaceFile,
    create_workspace,
    default_system_name,
    find_workspace,
    load_workspace,
)

__all__ = ["NewServiceOptions", "NewServiceResult", "new_service", "workspace_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewServiceOptions:
    """Everything ``msgen new service`` can be asked for."""

    name: str
    db: Db = "sqlite"
    port: int | None = None
    resource: str | None = None
    broker: Broker | None = None
    """None: rabbitmq when the service has a database, else none."""
    consumes: tuple[str, ...] = ()
    event_sourcing: bool = False
    output: Path | None = None
    force: bool = False
    dry_run: bool = False


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


def workspace_for(cwd: Path) -> tuple[WorkspaceFile, bool]:
    """The workspace above ``cwd``, or a new unsaved one in ``cwd`` (second item True)."""
    found = find_workspace(cwd)
    if found is not None:
        return load_workspace(found), False
    return create_workspace(cwd, name=default_system_name(cwd)), True


def template_data(
    names: ServiceNames,
    *,
    port: int,
    db: Db,
    broker: Broker = "none",
    consumes: tuple[str, ...] | list[str] = (),
    event_sourcing: bool = False,
    system_name: str = "system",
) -> dict[str, object]:
    """The copier answers for the service template."""
    return {
        **names.as_data(),
        "port": port,
        "db": db,
        "broker": broker,
        "consumes": list(consumes),
        "event_sourcing": event_sourcing,
        "system_name": system_name,
        "msgen_version": __version__,
    }


def new_service(options: NewServiceOptions, *, cwd: Path) -> NewServiceResult:
    """Render a new service and record it in the workspace (created when there is none)."""
    names = derive_names(options.name, resource=options.resource)
    consumes = validate_event_names(options.consumes, consumer=names.service)
    broker = check_broker(
        broker=options.broker,
        db=options.db,
        consumes=consumes,
        event_sourcing=options.event_sourcing,
    )
    workspace, created = workspace_for(cwd)
    services = workspace.model.services
    existing = services.get(names.service)
    if existing is not None and not options.force:
        raise DuplicateServiceError(
            f"the workspace already has a service named {names.service!r}",
            hint="choose another name, or pass --force to render it again",
        )
    used = workspace.model.used_ports() - ({existing.port} if existing else set())
    if options.port is not None:
        port = check_port(options.port, used)
    else:
        port = existing.port if existing else next_free_port(used)
    target = (cwd / options.output) if options.output else workspace.root / names.service
    target = target.absolute()
    for other in services:
        if other != names.service and workspace.service_dir(other) == target.resolve():
            raise TargetExistsError(f"{target} already holds the service {other!r}")
    result = render_template(
        "service",
        data=template_data(
            names,
            port=port,
            db=options.db,
            broker=broker,
            consumes=consumes,
            event_sourcing=options.event_sourcing,
            system_name=workspace.model.name,
        ),
        target=target,
        force=options.force,
        dry_run=options.dry_run,
    )
    if not options.dry_run:
        services[names.service] = ServiceEntry(
            kind="service",
            path=workspace.relative_path(target),
            port=port,
            db=options.db,
            resource=names.resource_class,
            template_version=__version__,
            broker=broker,
            publishes=published_events(names) if broker != "none" else [],
            consumes=consumes,
            features=["event-sourcing"] if options.event_sourcing else [],
        )
        try:
            workspace.save()
        except BaseException:
            if result.created:
                remove_tree(target)
            raise
    return NewServiceResult(
        names=names,
        port=port,
        broker=broker,
        target=target,
        files=result.files,
        workspace=workspace.path,
        workspace_created=created,
        dry_run=options.dry_run,
    )
