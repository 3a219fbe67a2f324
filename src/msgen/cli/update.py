"""``msgen update [SERVICE...]`` and ``msgen add FEATURE SERVICE``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from msgen.cli._ui import boundary, console, escape, locked_workspace, print_json
from msgen.domain.model import Domain
from msgen.errors import UsageError

if TYPE_CHECKING:
    from msgen.domain.change import Edit
    from msgen.update import Reporter, ServiceUpdate

ConflictChoice = Literal["inline", "rej"]
DomainKind = Literal["entity", "field", "command"]

CONFLICT_HELP = (
    "How conflicts are left: inline (<<<<<<< markers in the file) or rej (the file gets "
    "the template's version plus those of your edits that apply; the rest go to FILE.rej)."
)
DRY_RUN_HELP = "Show the diff the update would make; write nothing."
FORCE_HELP = "Update even when the service has uncommitted git changes."


@contextmanager
def _progress(enabled: bool) -> Iterator[Reporter]:
    """A rich status line the core reports its steps to (silent for --json)."""
    if not enabled:
        yield lambda _message: None
        return
    with console().status("updating") as status:
        yield lambda message: status.update(escape(message))


def _as_data(result: ServiceUpdate) -> dict[str, object]:
    return {
        "name": result.name,
        "path": str(result.target),
        "old_version": result.old_version,
        "new_version": result.new_version,
        "under_git": result.under_git,
        "dry_run": result.dry_run,
        "changes": [{"path": c.path, "status": c.status} for c in result.changes],
        "conflicts": list(result.conflicts),
    }


def _print_diff(diff: str) -> None:
    out = console()
    for line in diff.splitlines():
        style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
        if line.startswith(("+++", "---")):
            style = "bold"
        out.print(f"[{style}]{escape(line)}[/]" if style else escape(line), soft_wrap=True)


def _summary(results: list[ServiceUpdate], *, conflict: str) -> None:
    """One row per service; then one row per conflicted file, with where to resolve it."""
    from msgen.cli._tables import Column, fit_table

    columns = [
        Column("service", key=True),
        Column("from", drop=1),
        Column("to"),
        *(Column(heading, justify="right") for heading in ("added", "modified", "deleted")),
        Column("conflicts"),
    ]
    rows = []
    for result in results:
        counts = [
            str(sum(1 for c in result.changes if c.status == status))
            for status in ("added", "modified", "deleted", "conflict")
        ]
        new = "(current)" if result.old_version == result.new_version else result.new_version
        conflicts = f"[yellow]{counts[3]}[/]" if result.conflicts else "[green]0[/]"
        rows.append(
            [
                escape(result.name),
                escape(result.old_version or "unrecorded"),
                escape(new),
                *counts[:3],
                conflicts,
            ]
        )
    out = console()
    out.print(fit_table(columns, rows, console=out, title="msgen update"))
    conflicted = [(r.name, path) for r in results for path in r.conflicts]
    if not conflicted:
        return
    files = [Column("service", key=True), Column("file", key=True), Column("resolve")]
    places = [
        [
            escape(name),
            f"[yellow]{escape(path)}[/]",
            escape("<<<<<<< markers in the file" if conflict == "inline" else f"{path}.rej"),
        ]
        for name, path in conflicted
    ]
    out.print(fit_table(files, places, console=out, title="conflicts"))


def _review(result: ServiceUpdate) -> str:
    """How to see what an update wrote: git's diff, or the list above outside git."""
    return "review with git diff" if result.under_git else "review the files listed above"


def _finish(results: list[ServiceUpdate], *, conflict: str, dry_run: bool) -> None:
    conflicted = sum(len(r.conflicts) for r in results)
    if dry_run:
        console().print("[dim]dry run: nothing written[/]")
        return
    if any(not r.under_git and r.changes for r in results):
        console().print("[dim]note: services not under git were updated in place[/]")
    if conflicted:
        how = "the <<<<<<< markers" if conflict == "inline" else "each .rej file"
        console().print(
            f"[yellow]{conflicted} file(s) have conflicts:[/] resolve {how}, then commit",
            soft_wrap=True,
        )
        raise typer.Exit(1)


@boundary
def update(
    services: Annotated[
        list[str] | None,
        typer.Argument(help="Services to update (default: every service and gateway)."),
    ] = None,
    conflict: Annotated[ConflictChoice, typer.Option(help=CONFLICT_HELP)] = "inline",
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Re-apply the current templates to services, keeping your edits (three-way merge).

    Exits 1 when conflicts are left to resolve.
    """
    from msgen.update import update_services

    with locked_workspace() as workspace, _progress(not as_json) as report:
        results = update_services(
            workspace,
            tuple(dict.fromkeys(services or ())),
            conflict=conflict,
            dry_run=dry_run,
            force=force,
            report=report,
        )
    if not results and not as_json:
        console().print("[dim]the workspace has no services yet: msgen new service NAME[/]")
        return
    if as_json:
        print_json({"services": [_as_data(r) for r in results]})
        if not dry_run and any(r.conflicts for r in results):
            raise typer.Exit(1)
        return
    if dry_run:
        for result in results:
            _print_diff(result.diff)
    _summary(results, conflict=conflict)
    _finish(results, conflict=conflict, dry_run=dry_run)


DOMAIN_KINDS = ("entity", "field", "command")
FROM_HELP = "add command: a state it starts from (repeat it); none makes a creation command."
TO_HELP = "add command: the state it ends in."
FIELD_HELP = "add command: the enum field it moves (when several hold the states)."


@dataclass(frozen=True)
class CommandOptions:
    """``--from``, ``--to`` and ``--field`` of ``msgen add command``."""

    sources: tuple[str, ...] = ()
    to: str | None = None
    field: str | None = None

    def given(self) -> bool:
        return bool(self.sources) or self.to is not None or self.field is not None


def _command_edit(verb: str, service: str, args: list[str], options: CommandOptions) -> Edit:
    """The edit of ``msgen add|remove command SERVICE ENTITY NAME``."""
    from msgen.domain import edit as domain_edit

    example = f"msgen {verb} command {service} Order pay" + (
        " --from pending --to paid" if verb == "add" else ""
    )
    if len(args) != 2:
        raise UsageError(
            f"msgen {verb} command {service} takes ENTITY NAME, got {len(args)} argument(s)",
            hint=f"e.g. {example}",
        )
    entity, name = args
    if verb == "remove":
        return lambda raw: domain_edit.remove_command(raw, entity, name)
    to = options.to
    if to is None:
        raise UsageError(
            f"msgen add command {service} {entity} {name} needs --to STATE",
            hint=f"e.g. {example} (leave --from out for a command that creates the entity)",
        )
    return lambda raw: domain_edit.add_command(
        raw, entity, name, sources=options.sources, to=to, field=options.field
    )


def _domain_edit(
    kind: str, verb: str, service: str, args: list[str], options: CommandOptions
) -> Edit:
    """The edit of ``msgen add|remove entity|field SERVICE ENTITY [FIELD...]`` (or command)."""
    from msgen.domain import edit as domain_edit
    from msgen.domain.syntax import parse_cli_field

    if options.given() and not (kind == "command" and verb == "add"):
        raise UsageError("--from, --to and --field are options of msgen add command")
    if kind == "command":
        return _command_edit(verb, service, args, options)
    if not args:
        raise UsageError(
            f"msgen {verb} {kind} {service} needs an entity name",
            hint=f"e.g. msgen {verb} {kind} {service} Order"
            + (" note:text?" if kind == "field" and verb == "add" else ""),
        )
    entity, *rest = args
    if verb == "add" and kind == "entity":
        fields = [parse_cli_field(text) for text in rest]
        return lambda raw: domain_edit.add_entity(raw, entity, fields)
    if verb == "remove" and kind == "entity":
        return lambda raw: domain_edit.remove_entity(raw, entity)
    if not rest:
        raise UsageError(f"msgen {verb} field {service} {entity} needs at least one field")
    if verb == "add":
        fields = [parse_cli_field(text) for text in rest]

        def add_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], Domain]:
            result: tuple[dict[str, Any], Domain] = (raw, Domain())
            for field in fields:
                result = domain_edit.set_field(result[0], entity, field)
            return result

        return add_fields

    def remove_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], Domain]:
        result: tuple[dict[str, Any], Domain] = (raw, Domain())
        for name in rest:
            result = domain_edit.remove_field(result[0], entity, name)
        return result

    return remove_fields


def _change_domain(
    verb: str,
    kind: str,
    service: str,
    args: list[str],
    *,
    conflict: ConflictChoice,
    dry_run: bool,
    force: bool,
    options: CommandOptions | None = None,
) -> None:
    from msgen.domain.change import change_domain

    edit = _domain_edit(kind, verb, service, args, options or CommandOptions())
    with locked_workspace() as workspace, _progress(True) as report:
        result = change_domain(
            workspace, service, edit, conflict=conflict, dry_run=dry_run, force=force, report=report
        )
    if dry_run:
        _print_diff(result.diff)
    _summary([result], conflict=conflict)
    if result.migration:
        revision = escape(result.revision or "")
        console().print(f"migration {revision}:" if revision else "migration:", soft_wrap=True)
        for line in result.migration:
            console().print(f"  {escape(line)}", soft_wrap=True)
    if not dry_run:
        past = "Added" if verb == "add" else "Removed"
        what = " ".join(args[1:]) + f" of {args[0]}" if kind != "entity" else args[0]
        then = (
            "apply it with alembic upgrade heads (the service migrates on start)"
            if kind != "command" or result.migration
            else _review(result)
        )
        console().print(
            f"[green]{past}[/] {kind} {escape(what)} in [bold]{escape(service)}[/]; {then}",
            soft_wrap=True,
        )
    _finish([result], conflict=conflict, dry_run=dry_run)


@boundary
def add(
    feature: Annotated[
        str,
        typer.Argument(
            help="What to add: broker, consul, event-sourcing, postgres, tracing, metrics, "
            "or entity / field (then ENTITY and FIELDs follow) / command (then ENTITY NAME).",
            show_default=False,
        ),
    ],
    service: Annotated[str, typer.Argument(help="The service to add it to.")],
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="ENTITY [FIELD|NAME]",
            help="For entity/field: the entity, then fields as name:type[?][=default]; "
            "for command: the entity, then the command's name.",
            show_default=False,
        ),
    ] = None,
    sources: Annotated[
        list[str] | None,
        typer.Option("--from", metavar="STATE", help=FROM_HELP, show_default=False),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="STATE", help=TO_HELP, show_default=False)
    ] = None,
    field: Annotated[
        str | None,
        typer.Option("--field", metavar="FIELD", help=FIELD_HELP, show_default=False),
    ] = None,
    conflict: Annotated[ConflictChoice, typer.Option(help=CONFLICT_HELP)] = "inline",
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """Turn a feature on, or add an entity, fields or a command to a service's domain.

    msgen add consul orders; msgen add entity orders OrderItem 'order:ref(Order)' sku:str;
    msgen add field orders Order note:text?; msgen add command orders Order pay --from
    pending --to paid. An entity or field change adds an Alembic revision.
    """
    options = CommandOptions(tuple(sources or ()), to, field)
    if feature in DOMAIN_KINDS:
        _change_domain(
            "add",
            feature,
            service,
            list(args or ()),
            conflict=conflict,
            dry_run=dry_run,
            force=force,
            options=options,
        )
        return
    if args:
        raise UsageError(f"msgen add {feature} takes no arguments after the service")
    if options.given():
        raise UsageError("--from, --to and --field are options of msgen add command")
    from msgen.features import add_feature

    with locked_workspace() as workspace, _progress(True) as report:
        result = add_feature(
            workspace,
            feature,
            service,
            conflict=conflict,
            dry_run=dry_run,
            force=force,
            report=report,
        )
    if result.update is None:
        console().print(f"{escape(service)} already has {escape(feature)}: nothing to do")
        return
    if dry_run:
        _print_diff(result.update.diff)
    _summary([result.update], conflict=conflict)
    if not dry_run:
        answers = ", ".join(f"{k}={v}" for k, v in result.changed_answers.items())
        console().print(
            f"[green]Added[/] {escape(feature)} to [bold]{escape(service)}[/] "
            f"({escape(answers)}); {_review(result.update)}",
            soft_wrap=True,
        )
    _finish([result.update], conflict=conflict, dry_run=dry_run)


@boundary
def remove(
    kind: Annotated[
        DomainKind, typer.Argument(help="entity, field or command.", show_default=False)
    ],
    service: Annotated[str, typer.Argument(help="The service whose domain changes.")],
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="ENTITY [FIELD|NAME]",
            help="The entity (for field: then the fields to remove; for command: its name).",
            show_default=False,
        ),
    ],
    conflict: Annotated[ConflictChoice, typer.Option(help=CONFLICT_HELP)] = "inline",
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """Remove an entity, fields or a command from a service's domain.

    msgen remove field orders Order note; msgen remove entity orders OrderItem;
    msgen remove command orders Order pay. Removed columns are dropped by a new revision.
    """
    _change_domain(
        "remove", kind, service, list(args), conflict=conflict, dry_run=dry_run, force=force
    )
