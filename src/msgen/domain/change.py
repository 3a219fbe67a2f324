"""``msgen add|remove entity|field|command``: change a service's domain.

The whole new domain is validated and its migration planned before anything is written,
and so is the workspace around it: a command that a consumed event runs, or whose event
another service consumes, is not removed from under it (see :func:`check_consumers`);
then the service is updated like ``msgen update`` does (a three-way merge keeps the user's
edits of generated files; at the current template version msgen merges without copier, see
:mod:`msgen.merge_render`), the new Alembic revision and the rules modules of
new entities are written with it, and ``msgen.yaml`` is saved last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgen.domain.model import Domain
from msgen.errors import DomainError, UsageError
from msgen.locking import changes_workspace
from msgen.update import Conflict, Reporter, ServiceUpdate, export_ahead, update_service
from msgen.workspace import WorkspaceFile

__all__ = ["Edit", "change_domain", "check_consumers"]

Edit = Callable[[dict[str, Any]], tuple[dict[str, Any], Domain]]
"""Raw ``entities`` mapping in, (new raw mapping, its validated domain) out."""


@changes_workspace
def change_domain(
    workspace: WorkspaceFile,
    service: str,
    edit: Edit,
    *,
    conflict: Conflict = "inline",
    dry_run: bool = False,
    force: bool = False,
    report: Reporter | None = None,
) -> ServiceUpdate:
    """Apply ``edit`` to the domain of ``service``, render it, write its migration, record."""
    workspace.model.require([service])
    entry = workspace.model.services[service]
    if entry.kind != "service" or entry.db == "none":
        raise UsageError(
            f"{service} has no database, so it has no entities",
            hint=f"give it one first: msgen add postgres {service}",
        )
    previous = entry.entities
    before = entry.domain()
    raw, domain = edit(dict(previous))
    entry.entities = raw
    with export_ahead(workspace, service, conflict=conflict) as warm:
        try:
            check_consumers(workspace, service, before, domain)
            result = update_service(
                workspace,
                service,
                conflict=conflict,
                dry_run=dry_run,
                force=force,
                report=report,
                warm=warm,
            )
        except BaseException:
            entry.entities = previous
            raise
    if dry_run:
        entry.entities = previous
    # Otherwise the update's journal has written the files and msgen.yaml together (with the
    # new entities, version and published events); ``domain`` was validated by ``edit``.
    del domain
    return result


def _source(workspace: WorkspaceFile, loc: list[str | int]) -> str:
    """``PATH/msgen.yaml:LINE`` of the key at ``loc`` (as the file is now)."""
    from msgen.workspace import _line_of

    return f"{workspace.path}:{_line_of(workspace._document, loc)}"


def _command_events(service: str, domain: Domain) -> dict[str, str]:
    """Event name -> the command publishing it (``Order.pay``), for every command."""
    from msgen.domain.view import entity_names

    return {
        f"{service}.{entity_names(entity.name)['snake']}_{command.event_suffix}": (
            f"{entity.name}.{command.name}"
        )
        for entity in domain.entities
        for command in entity.commands
    }


def check_consumers(workspace: WorkspaceFile, service: str, before: Domain, after: Domain) -> None:
    """Refuse a domain change that breaks what the workspace consumes.

    The service's entities must already hold ``after``. Refused: removing a command that
    one of the service's consumed events runs, or whose event (``orders.order_paid``, when
    no other command of the entity ends in that state) some service consumes; and any other
    change after which ``msgen.yaml`` would no longer load (a consumed event's ``fields:``
    naming a removed field, ...). Errors name the consuming entry as ``msgen.yaml:LINE``.
    """
    from msgen.messaging import domain_events
    from msgen.workspace import _cross_check

    services = workspace.model.services
    remaining = {
        f"{entity.name}.{command.name}" for entity in after.entities for command in entity.commands
    }
    for event, action in services[service].consume_actions().items():
        if action.command not in remaining:
            loc: list[str | int] = ["services", service, "consumes", event]
            raise DomainError(
                f"runs {action.command}, which this change removes; change or remove it first",
                loc=tuple(loc),
                source=_source(workspace, loc),
            )
    published = set(domain_events(service, after))
    lost = {
        event: command
        for event, command in _command_events(service, before).items()
        if event not in published
    }
    for name, entry in services.items():
        for index, event in enumerate(entry.consumes):
            if event in lost:
                at: str | int = event if isinstance(entry.consumes, dict) else index
                loc = ["services", name, "consumes", at]
                raise DomainError(
                    f"{name} consumes {event}, the event of {lost[event]}, which this change "
                    "removes; stop consuming it first",
                    loc=tuple(loc),
                    source=_source(workspace, loc),
                )
    problem = _cross_check(workspace.model)
    if problem is not None:
        loc, message, hint = problem
        raise DomainError(message, loc=tuple(loc), source=_source(workspace, loc), hint=hint)
