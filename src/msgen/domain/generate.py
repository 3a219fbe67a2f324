"""The files msgen writes into a service beside the template's: migrations and rules.

The template (copier) owns the generated modules; these files are not the template's:
- ``src/<pkg>/rules/<entity>.py``: the user's module per entity, written once when the
  entity appears and never again;
- ``src/<pkg>/migrations/versions/NNNN_*.py``: one Alembic revision per domain change,
  planned by :mod:`msgen.migrations` from the domain before and after. A revision is
  written once and never edited; the next change gets the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msgen.domain.model import Domain
from msgen.domain.view import entity_names

FIRST_DOMAIN_REVISION = 4
"""0001 is the first domain revision; 0002 and 0003 are the template's; then 0004 on."""

__all__ = [
    "FIRST_DOMAIN_REVISION",
    "DomainChange",
    "domain_of_answers",
    "migration_message",
    "plan_change",
    "plan_inputs",
    "rules_path",
    "write_domain_files",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainChange:
    """What a domain change writes: a revision, its description, new rules modules."""

    revision_file: str | None
    revision_text: str | None
    description: tuple[str, ...]
    rules_files: dict[str, str]


def domain_of_answers(answers: dict[str, Any]) -> Domain:
    """The domain a service was last rendered with, from its ``.copier-answers.yml``."""
    from msgen.domain.syntax import parse_entities

    raw = answers.get("entities") or []
    data = {
        entity["class"]: {"fields": {f["name"]: f["spec"] for f in entity.get("fields", [])}}
        for entity in raw
        if isinstance(entity, dict) and "class" in entity
    }
    for entity in raw:
        commands = entity.get("commands") if isinstance(entity, dict) else None
        if commands:
            data[entity["class"]]["commands"] = {
                c["name"]: {
                    **({"from": c["from"]} if c["from"] else {}),  # none: a creation command
                    "to": c["to"],
                    "field": c["field"],
                }
                for c in commands
            }
    return parse_entities(data)


def rules_path(package: str, entity: str) -> str:
    """Where the user's module of ``entity`` lives, relative to the service."""
    return f"src/{package}/rules/{entity_names(entity)['snake']}.py"


def migration_message(description: tuple[str, ...]) -> str:
    """A short revision message from the plan's first lines."""
    if not description:
        return "domain"
    first = description[0].split(" (", 1)[0]
    return first if len(description) == 1 else f"{first} (+{len(description) - 1} more)"


def _slug(message: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
    return slug[:40].rstrip("_") or "domain"


def plan_change(
    project: Path,
    *,
    package: str,
    old: Domain,
    new: Domain,
    service_name: str,
) -> DomainChange:
    """Plan what changing ``old`` into ``new`` writes into ``project`` (nothing yet).

    Raises :class:`~msgen.errors.MigrationError` when the change cannot keep the rows.
    """
    from jinja2 import Environment, StrictUndefined

    from msgen.domain.view import template_entities
    from msgen.migrations import describe, heads, next_revision_id, plan, render_revision
    from msgen.migrations.versions import read_revisions
    from msgen.render import templates_dir

    versions = project / "src" / package / "migrations" / "versions"
    steps = plan(old, new)
    description = tuple(describe(steps))
    revision_file = revision_text = None
    down: str | tuple[str, ...] | None
    if description:
        initial = not old.entities
        if initial:
            # The first revision: the template's own (0002 messaging, 0003 event store) follow it.
            revision, down = "0001", None
            message = "create " + ", ".join(entity_names(e.name)["table"] for e in new.entities)
        else:
            # Past the template's revisions, whether the service has them yet or not.
            revisions = read_revisions(versions)
            revision = f"{max(int(next_revision_id(revisions)), FIRST_DOMAIN_REVISION):04d}"
            found = heads(revisions)
            down = found[0] if len(found) == 1 else tuple(found) if found else None
            message = migration_message(description)
        revision_text = render_revision(
            steps, revision=revision, down_revision=down, message=message
        )
        revision_file = f"src/{package}/migrations/versions/{revision}_{_slug(message)}.py"
    known = {entity.name for entity in old.entities}
    rules_files: dict[str, str] = {}
    if any(entity.name not in known for entity in new.entities):  # rules for new entities
        environment = Environment(
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=StrictUndefined,
            autoescape=False,
        )
        source = (templates_dir() / "service" / "rules.py.jinja").read_text(encoding="utf-8")
        template = environment.from_string(source)
        for view in template_entities(new):
            if view["class"] in known:
                continue
            path = rules_path(package, view["class"])
            if not (project / path).exists():
                rules_files[path] = template.render(
                    entity=view, package_name=package, service_name=service_name
                )
    return DomainChange(
        revision_file=revision_file,
        revision_text=revision_text,
        description=description,
        rules_files=rules_files,
    )


def plan_inputs(project: Path, *, package: str, old: Domain, new: Domain) -> object:
    """What :func:`plan_change` reads from ``project``; equal inputs give equal plans.

    The revision files (names and bytes) and which rules modules of ``new``'s entities that
    ``old`` lacks exist. A directory that cannot be read gives a value equal to no other.
    """
    versions = project / "src" / package / "migrations" / "versions"
    try:
        revisions = (
            tuple((path.name, path.read_bytes()) for path in sorted(versions.glob("*.py")))
            if versions.is_dir()
            else None
        )
    except OSError:
        return object()
    known = {entity.name for entity in old.entities}
    rules = tuple(
        (project / rules_path(package, entity.name)).exists()
        for entity in new.entities
        if entity.name not in known
    )
    return revisions, rules


def write_domain_files(project: Path, change: DomainChange) -> tuple[str, ...]:
    """Write the revision and the new rules modules into ``project``; returns their paths.

    Used inside a staging copy (a new render, an update's sandbox), so the caller's atomic
    install puts them in place with everything else.
    """
    written: list[str] = []
    files = dict(change.rules_files)
    if change.revision_file and change.revision_text:
        files[change.revision_file] = change.revision_text
    for relative, text in files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(relative)
    return tuple(written)


def consumer_tables_revision(project: Path, package: str, service_name: str) -> str | None:
    """Write the revision that adds the consumer tables to a database made without them.

    A service that starts consuming events (``consumes:`` edited) after its database was
    created has a 0002 revision that made no ``processed_messages`` table; this revision,
    placed after every head, creates what is missing. Returns its path in ``project``
    (None when the service has no migrations).
    """
    from jinja2 import Environment, StrictUndefined

    from msgen.migrations import heads, next_revision_id
    from msgen.render import templates_dir

    versions = project / "src" / package / "migrations" / "versions"
    if not versions.is_dir():
        return None
    revision = f"{max(int(next_revision_id(versions)), FIRST_DOMAIN_REVISION):04d}"
    found = heads(versions)
    down_source = repr(found[0]) if len(found) == 1 else repr(tuple(found)) if found else "None"
    environment = Environment(
        keep_trailing_newline=True, undefined=StrictUndefined, autoescape=False
    )
    source = (templates_dir() / "service" / "consumer_tables.py.jinja").read_text(encoding="utf-8")
    text = environment.from_string(source).render(
        revision=revision,
        down_revision=found,
        down_source=down_source.replace("'", '"'),
        service_name=service_name,
    )
    relative = f"src/{package}/migrations/versions/{revision}_consumer_tables.py"
    (project / relative).write_text(text, encoding="utf-8")
    return relative
