"""``msgen add entity|field`` and ``msgen remove entity|field``: change a service's domain.

The whole new domain is validated and its migration planned before anything is written;
then the service is updated like ``msgen update`` does (a three-way merge keeps the user's
edits of generated files; at the current template version msgen merges without copier, see
:mod:`msgen.merge_render`), the new Alembic revision and the rules modules of
new entities are written with it, and ``msgen.yaml`` is saved last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgen.domain.model import Domain
from msgen.errors import UsageError
from msgen.locking import changes_workspace
from msgen.update import Conflict, Reporter, ServiceUpdate, update_service
from msgen.workspace import WorkspaceFile

__all__ = ["Edit", "change_domain"]

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
    raw, domain = edit(dict(previous))
    entry.entities = raw
    try:
        result = update_service(
            workspace, service, conflict=conflict, dry_run=dry_run, force=force, report=report
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
