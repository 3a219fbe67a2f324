"""``msgen update``: re-apply the current templates to existing services (copier update).

Copier's update is a three-way merge: it renders the *old* template with the recorded
answers, takes the difference to the project as the user's edits, renders the *new* template
and replays those edits on it (``git apply``, then ``git merge-file`` for inline conflict
markers, or ``.rej`` files). It needs the template as a git repository with versions, and the
project tracked by git and clean.

msgen ships its templates as plain files, so each update runs copier in a sandbox:

1. a throwaway template repository with two tagged commits, the stored template the service
   was generated with (``0.0.1``, see :mod:`msgen.template_versions`) and the current one
   (``0.0.2``);
2. a throwaway git copy of the service's files (the ones git does not ignore) whose answers
   point at that repository;
3. copier's ``run_update`` there; msgen then compares the sandbox with the service and, unless
   this is a dry run, writes the changed files back together with the workspace entry, as
   one journaled change (:mod:`msgen.journal`).

The sandbox (in the system's temporary directory) is named with msgen's pid, so one a killed
run left is found and removed by the next run (:mod:`msgen.recovery`).

So a failed merge leaves the service untouched, ``--dry-run`` is the same update with the writing
left out, and services that are not under git can be updated too.

A domain change at the current template version (``msgen add field``) skips steps 1 and 3:
:mod:`msgen.merge_render` renders the files that read the domain and merges them itself, with
copier's outcome, in the same sandbox; the contract export runs in a Python started before
the answers are read (:mod:`msgen.warm_export`, :func:`export_ahead`), and the migration is
planned once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from msgen.clients import sync_clients, take_upstreams
from msgen.domain.generate import DomainChange
from msgen.domain.model import Domain
from msgen.errors import TemplateBaseMissingError, UpdateError
from msgen.http_contracts import UPSTREAMS_DIR, snapshot_upstreams, upstream_dirs
from msgen.journal import Transaction
from msgen.locking import changes_workspace
from msgen.template_versions import (
    STORE_DIR,
    extract_template,
    store_template,
    stored_template,
    template_source,
    template_version,
)
from msgen.vcs import check_clean, git, service_files, template_repo
from msgen.workspace import ServiceEntry, WorkspaceFile

if TYPE_CHECKING:
    from msgen.template_render import Template
    from msgen.warm_export import WarmExport

SandboxStep = Callable[[Path], "DomainChange | None"]
"""What an update writes into its sandbox after the merge (a revision, rules modules)."""

__all__ = [
    "ANSWERS_FILE",
    "Conflict",
    "FileChange",
    "ServiceUpdate",
    "export_ahead",
    "read_answers",
    "template_of",
    "update_service",
    "update_services",
]

ANSWERS_FILE = ".copier-answers.yml"
ANSWERS_MAX_BYTES = 16 * 1024 * 1024
ANSWERS_MAX_NODES = 2_000_000
SANDBOX_PREFIX = "msgen-update-"
Conflict = Literal["inline", "rej"]
Status = Literal["added", "modified", "deleted", "conflict"]
Reporter = Callable[[str], None]
EntryUpdate = Callable[["ServiceEntry", Mapping[str, Any]], "ServiceEntry"]
_MARKERS = (b"<<<<<<< before updating", b">>>>>>> after updating")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChange:
    """One file the update writes (or, for a dry run, would write)."""

    path: str
    status: Status


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceUpdate:
    """What updating one service did (or would do)."""

    name: str
    target: Path
    old_version: str | None
    new_version: str
    changes: tuple[FileChange, ...]
    diff: str
    """The unified diff of the changes, for a dry run (empty otherwise: nobody reads it)."""
    under_git: bool
    dry_run: bool
    answers: dict[str, Any]
    """The answers after the update."""
    migration: tuple[str, ...] = ()
    """What the domain change's new Alembic revision does, one line per operation."""
    revision: str | None = None
    """The new revision's file, relative to the service (None: no domain change)."""

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Files left with conflict markers, or beside a ``.rej`` file."""
        return tuple(change.path for change in self.changes if change.status == "conflict")


def read_answers(target: Path) -> dict[str, Any]:
    """The recorded copier answers of a generated service (read as hostile input)."""
    from msgen.errors import InputFileError
    from msgen.inputs import load_yaml, read_text

    path = target / ANSWERS_FILE
    if not path.is_file():
        raise UpdateError(
            f"{target} has no {ANSWERS_FILE}, so msgen cannot tell what generated it",
            hint="only services rendered by msgen (copier) can be updated",
        )
    # The answers grow with the domain (about 10 KB and 1,000 values per entity of 10 fields).
    text = read_text(path, error=InputFileError, limit=ANSWERS_MAX_BYTES)
    data = load_yaml(
        text, path=path, error=InputFileError, round_trip=False, max_nodes=ANSWERS_MAX_NODES
    )
    if not isinstance(data, dict):
        raise InputFileError(f"{path}:1: not a mapping of answers")
    return data


def _set_source(answers_file: Path, *, src_path: str, commit: str | None) -> None:
    """Point the answers at a template source (copier reads ``_src_path`` and ``_commit``)."""
    import yaml

    lines = answers_file.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(("_commit:", "_src_path:"))]
    header = [line for line in kept if line.startswith("#")]
    body = [line for line in kept if not line.startswith("#")]
    source = [f"_src_path: {yaml.safe_dump(src_path, default_style=None).splitlines()[0]}\n"]
    if commit is not None:
        source.insert(0, f"_commit: {commit}\n")
    answers_file.write_text("".join([*header, *source, *body]), encoding="utf-8")


def _copier_update(project: Path, *, data: Mapping[str, Any], conflict: Conflict) -> None:
    from copier import run_update
    from copier.errors import CopierError

    try:
        run_update(
            project,
            data=dict(data),
            vcs_ref="0.0.2",
            defaults=True,
            overwrite=True,
            quiet=True,
            unsafe=False,
            skip_tasks=True,
            skip_answered=True,
            conflict=conflict,
        )
    except CopierError as exc:
        raise UpdateError(f"copier could not update the service: {exc}") from exc
    except (ValueError, TypeError) as exc:  # copier's answer validation (pydantic)
        raise UpdateError(f"the template rejected the answers: {exc}") from exc


def _is_conflicted(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return any(line.rstrip() in _MARKERS for line in handle)
    except OSError:
        return False


def _compare(original: Path, updated: Path, before: list[str]) -> list[FileChange]:
    after = sorted(
        p.relative_to(updated).as_posix()
        for p in updated.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(updated).parts
    )
    rejected = {name.removesuffix(".rej") for name in after if name.endswith(".rej")}
    changes: list[FileChange] = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(FileChange(path=name, status="deleted"))
            continue
        new = (updated / name).read_bytes()
        if name in rejected or _is_conflicted(updated / name):
            changes.append(FileChange(path=name, status="conflict"))
        elif name not in before:
            # A file git ignores was not in the sandbox: never overwrite it.
            if not (original / name).exists():
                changes.append(FileChange(path=name, status="added"))
        elif (original / name).read_bytes() != new:
            changes.append(FileChange(path=name, status="modified"))
    return changes


def _diff(original: Path, updated: Path, changes: list[FileChange]) -> str:
    import difflib

    chunks: list[str] = []
    for change in changes:
        old_path, new_path = original / change.path, updated / change.path
        try:
            old = old_path.read_text(encoding="utf-8") if old_path.is_file() else ""
            new = new_path.read_text(encoding="utf-8") if new_path.is_file() else ""
        except UnicodeDecodeError:
            chunks.append(f"Binary file {change.path} differs\n")
            continue
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"a/{change.path}" if old_path.is_file() else "/dev/null",
                tofile=f"b/{change.path}" if new_path.is_file() else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else f"{line}\n" for line in chunks)


def _write_back(
    workspace: WorkspaceFile,
    name: str,
    *,
    updated: Path,
    changes: list[FileChange],
    entry: ServiceEntry,
) -> None:
    """Write the changed files and the new workspace entry together, journaled.

    ``.copier-answers.yml`` goes last among the service's files and ``msgen.yaml`` after it,
    so a run killed while applying is finished by the next msgen command (see
    :mod:`msgen.journal`), and one that fails before its commit point changed nothing.
    """
    target = workspace.service_dir(name)
    transaction = Transaction(root=workspace.root, label=f"update of {name}")
    for change in sorted(changes, key=lambda c: (c.path == ANSWERS_FILE, c.path)):
        destination = target / change.path
        if change.status == "deleted":
            transaction.delete(destination, prune_to=target)
        else:
            transaction.copy(destination, updated / change.path)
    old_entry = workspace.model.services[name]
    workspace.model.services[name] = entry
    try:
        text = workspace.text()
        if not workspace.path.is_file() or workspace.path.read_text(encoding="utf-8") != text:
            transaction.write_text(workspace.path, text)
        transaction.apply()
    except OSError as exc:
        workspace.model.services[name] = old_entry
        done = "the next msgen command finishes it" if transaction.committed else "nothing changed"
        raise UpdateError(
            f"cannot write {exc.filename or target}: {exc.strerror}", hint=done
        ) from exc
    except BaseException:
        workspace.model.services[name] = old_entry
        raise


def _base_template(
    workspace: WorkspaceFile, template: str, old: str | None, new: str, scratch: Path
) -> Path:
    """The template the service was generated with: the current one, or from the store."""
    if old == new:
        return template_source(template)
    archive = stored_template(workspace.root, template, old) if old else None
    if archive is None:
        raise TemplateBaseMissingError(
            f"the {template} template version {old or '(unrecorded)'} this service was "
            "generated with is not in the template store",
            hint=f"copy {workspace.root / STORE_DIR}/ from the workspace that generated it "
            "(msgen keeps each template version it renders there; commit it)",
        )
    base = scratch / "base"
    extract_template(archive, base)
    return base


def template_of(workspace: WorkspaceFile, name: str) -> str:
    """The template a workspace entry is rendered from."""
    return "gateway" if workspace.model.services[name].kind == "gateway" else "service"


@changes_workspace
def update_services(
    workspace: WorkspaceFile,
    names: tuple[str, ...] = (),
    *,
    conflict: Conflict = "inline",
    dry_run: bool = False,
    force: bool = False,
    report: Reporter | None = None,
) -> list[ServiceUpdate]:
    """Update ``names`` (every service and gateway when empty) and record their versions.

    Every service is checked for uncommitted changes before any is touched. The workspace is
    saved after each service, so an interruption leaves it true to the files.
    """
    workspace.model.require(names)
    selected = names or tuple(workspace.model.services)
    for name in selected:
        check_clean(name, workspace.service_dir(name), force=force)
    results: list[ServiceUpdate] = []
    for name in selected:
        result = update_service(
            workspace, name, conflict=conflict, dry_run=dry_run, force=force, report=report
        )
        results.append(result)
        if not dry_run:
            _record_unwritten(workspace, name, result)
    return results


def _record_unwritten(workspace: WorkspaceFile, name: str, result: ServiceUpdate) -> None:
    """What an update with nothing to write records: the version, a gateway's routes.

    A gateway whose render already routes every service still gets those routes in
    ``msgen.yaml`` when the file says otherwise (edited by hand).
    """
    entry = workspace.model.services[name]
    routed = _routed_entry(workspace, entry, result.answers)
    if entry.template_version != result.new_version or routed is not entry:
        entry.template_version = result.new_version
        entry.upstreams = routed.upstreams
        workspace.save()


def _with_version(entry: ServiceEntry, answers: Mapping[str, Any]) -> ServiceEntry:
    return entry.model_copy(update={"template_version": answers.get("msgen_version")})


def _domains(
    workspace: WorkspaceFile, name: str, recorded: Mapping[str, Any]
) -> tuple[Domain, Domain] | None:
    """The domain the service was rendered with and the workspace's, when they differ."""
    from msgen.domain.generate import domain_of_answers

    entry = workspace.model.services[name]
    if entry.kind != "service" or not entry.entities:
        return None
    new = entry.domain()
    old = domain_of_answers(dict(recorded))
    return None if new == old else (old, new)


def _auth_step(
    workspace: WorkspaceFile, name: str, recorded: Mapping[str, Any], answers: dict[str, Any]
) -> dict[str, Any]:
    """The ``auth`` answers, when the workspace's ``auth:`` changed since the last render."""
    entry = workspace.model.services[name]
    if "auth" in answers:
        return answers
    wanted = workspace.model.auth_answers(entry.kind, entry.db, entry)
    unset = {"auth": False, "auth_scopes": {}, "auth_forward_upstreams": []}
    if any(recorded.get(key, unset.get(key)) != value for key, value in wanted.items()):
        answers.update(wanted)
    return answers


def _routes_step(
    workspace: WorkspaceFile, name: str, recorded: Mapping[str, Any], answers: dict[str, Any]
) -> dict[str, Any]:
    """A gateway's ``upstreams`` answer, when the workspace's services changed since its render.

    A gateway routes every service of the workspace (:func:`msgen.gateway.routed_services`);
    one added, removed or moved to another port since the gateway was rendered changes
    the settings it was generated with.
    """
    from msgen.gateway import rendered_upstreams, routed_services
    from msgen.scaffold import upstream_urls

    entry = workspace.model.services[name]
    if entry.kind != "gateway" or "upstreams" in answers:
        return answers
    services = routed_services(workspace.model, name)
    wanted = rendered_upstreams(upstream_urls(workspace, services, discovery=entry.discovery))
    if recorded.get("upstreams") != wanted:
        answers["upstreams"] = wanted
    return answers


def _workspace_step(
    workspace: WorkspaceFile, name: str, recorded: Mapping[str, Any], answers: dict[str, Any]
) -> dict[str, Any]:
    """The answers ``msgen.yaml`` derives (``auth:``, a gateway's routes) that changed."""
    answers = _auth_step(workspace, name, recorded, answers)
    return _routes_step(workspace, name, recorded, answers)


def _routed_entry(
    workspace: WorkspaceFile, entry: ServiceEntry, answers: Mapping[str, Any]
) -> ServiceEntry:
    """A gateway's entry with the ``upstreams`` its answers route, in workspace order.

    Other entries, and a gateway that records the same services, are returned unchanged.
    """
    routed = answers.get("upstreams")
    if entry.kind != "gateway" or not isinstance(routed, dict):
        return entry
    upstreams = [name for name in workspace.model.services if name in routed]
    if set(upstreams) == set(entry.upstreams):
        return entry
    return entry.model_copy(update={"upstreams": upstreams})


def _consumes_step(
    workspace: WorkspaceFile,
    name: str,
    recorded: Mapping[str, Any],
    answers: dict[str, Any],
    domain_step: SandboxStep | None,
) -> tuple[dict[str, Any], SandboxStep | None]:
    """The answers ``consumes:`` changed since the service was rendered, and the step.

    Consuming another event (``consumes:`` edited by hand) re-derives the consumed models
    from the publishers' contracts; mapping an event to a command re-renders workflows.py.
    A service that starts consuming also gets a revision adding the consumer tables to a
    database made before (see :func:`msgen.domain.generate.consumer_tables_revision`).
    """
    from msgen.workflows import consumes_answers

    entry = workspace.model.services[name]
    if entry.kind != "service" or entry.broker == "none" or "consumes" in answers:
        return answers, domain_step
    wanted = consumes_answers(workspace, name)
    if list(recorded.get("workflows") or []) != wanted["workflows"]:
        answers["workflows"] = wanted["workflows"]
    if list(recorded.get("consumes") or []) == wanted["consumes"]:
        return answers, domain_step
    answers["consumes"] = wanted["consumes"]
    answers["consumed"] = wanted["consumed"]
    if recorded.get("consumes") or recorded.get("db", "none") == "none":
        return answers, domain_step
    package = str(recorded.get("package_name") or name.replace("-", "_"))

    def step(project: Path) -> DomainChange | None:
        from msgen.domain.generate import consumer_tables_revision

        change = domain_step(project) if domain_step is not None else None
        consumer_tables_revision(project, package, name)
        return change

    return answers, step


def _domain_step(
    workspace: WorkspaceFile,
    name: str,
    recorded: Mapping[str, Any],
    answers: dict[str, Any],
    domains: tuple[Domain, Domain] | None,
) -> tuple[dict[str, Any], SandboxStep | None]:
    """The answers and sandbox step of a domain change, when ``msgen.yaml`` has one.

    The domain the service was last rendered with is in its answers; when the workspace's
    differs (``msgen add field``, or ``msgen.yaml`` edited by hand), the update renders the
    new domain and adds the Alembic revision between the two (and new rules modules).
    The change is planned first, so a change that would lose rows is refused before
    anything is rendered; the sandbox reuses that plan when what planning reads (the
    revision files, the rules modules) is the same there, and plans again otherwise.
    """
    from msgen.domain.generate import plan_change, plan_inputs, write_domain_files
    from msgen.domain.view import template_entities

    if domains is None:
        return answers, None
    old, new = domains
    package = str(recorded.get("package_name") or name.replace("-", "_"))
    service_dir = workspace.service_dir(name)
    planned = plan_change(service_dir, package=package, old=old, new=new, service_name=name)
    inputs = plan_inputs(service_dir, package=package, old=old, new=new)
    answers["entities"] = template_entities(new)

    def step(project: Path) -> DomainChange:
        change = (
            planned
            if plan_inputs(project, package=package, old=old, new=new) == inputs
            else plan_change(project, package=package, old=old, new=new, service_name=name)
        )
        write_domain_files(project, change)
        return change

    return answers, step


def _quick_template(
    template: str, *, old: str | None, new: str, answers: Mapping[str, Any], conflict: Conflict
) -> Template | None:
    """The template to merge ``answers`` without copier, or None for copier's update.

    Only a change of the domain (``entities``) at the current template version, with
    conflicts left inline, and a template :mod:`msgen.template_render` can render.
    """
    if old != new or conflict != "inline" or not answers or set(answers) - QUICK_ANSWERS:
        return None
    from msgen.template_render import load_template

    loaded = load_template(template_source(template))
    if loaded is None or any("validator" in loaded.questions.get(k, {}) for k in answers):
        return None  # copier validates a changed answer; the renderer does not
    return loaded


QUICK_ANSWERS = {"entities", "workflows"}
"""Answers the quick path merges: computed by msgen, with no validator in the template."""


@contextlib.contextmanager
def _warm_export(needed: bool, ahead: WarmExport | None = None) -> Iterator[WarmExport | None]:
    """A Python for the contract export, started now when the quick path will export.

    Its interpreter start and pydantic import overlap the planning and the render; it is
    stopped if unused. ``ahead`` is one the caller started earlier (see
    :func:`export_ahead`): used when the export is needed, stopped now when it is not.
    """
    if not needed:
        if ahead is not None:
            ahead.close()
        yield None
        return
    if ahead is not None:
        yield ahead  # the caller's, stopped by the caller
        return
    from msgen.warm_export import WarmExport

    with WarmExport() as warm:
        yield warm


@contextlib.contextmanager
def export_ahead(
    workspace: WorkspaceFile, name: str, *, conflict: Conflict
) -> Iterator[WarmExport | None]:
    """The contract export's Python, started before a domain change of ``name`` is read.

    A domain change (``msgen add field``) of a service with events takes the quick path
    (conflicts left inline), which exports the contracts: started here, before the
    workspace checks and the answers are read, the interpreter has warmed up when the files
    are ready. Hand it to :func:`update_service` (``warm=``); it is stopped on leaving.
    """
    entry = workspace.model.services[name]
    if entry.kind != "service" or entry.broker == "none" or conflict != "inline":
        yield None
        return
    from msgen.warm_export import WarmExport

    with WarmExport() as warm:
        yield warm


def _start_contracts(
    project: Path, answers: Mapping[str, Any], *, warm: WarmExport | None = None
) -> Callable[[], None]:
    """Start regenerating ``contracts/`` in the sandbox when the service has events.

    The event models may have arrived with this update (``msgen add broker``) or changed in
    it; the committed schema files must follow them, or the service's own contract test
    fails. A merge that leaves ``events.py`` conflicted cannot be exported: the conflict is
    already reported, and the files are refreshed when the user reruns the export. Returns
    the wait for it: with ``warm`` the export runs meanwhile, without it in the wait.
    """
    package = answers.get("package_name")
    if answers.get("broker", "none") == "none" or not isinstance(package, str):
        return lambda: None
    from msgen.errors import ContractError

    def wait() -> None:
        with contextlib.suppress(ContractError):
            if warm is not None:
                warm.wait()
            else:
                from msgen.contracts import write_contract_file

                write_contract_file(project, package=package)

    if warm is not None:
        with contextlib.suppress(ContractError):
            warm.start(project, package=package)
    return wait


def _copier_path(
    project: Path, answers: Mapping[str, Any], *, conflict: Conflict, source: str
) -> None:
    """Copier's update of the sandbox ``project`` (a git repository made here)."""
    git("init", "-q", cwd=project)
    git("add", "-A", "--force", cwd=project)
    git("commit", "-q", "--allow-empty", "-m", "before msgen update", cwd=project)
    _copier_update(project, data=answers, conflict=conflict)
    _set_source(project / ANSWERS_FILE, src_path=source, commit=None)


def _quick_path(
    project: Path,
    template: Template,
    *,
    recorded: Mapping[str, Any],
    answers: Mapping[str, Any],
    files: list[str],
    source: str,
    domain_step: SandboxStep | None,
    warm: WarmExport | None,
) -> tuple[dict[str, Any], DomainChange | None]:
    """The quick update of the sandbox ``project``: its final answers and domain change."""
    from msgen.merge_render import merge_render

    write_answers = merge_render(
        project, template, recorded=recorded, answers=answers, files=files, src_path=source
    )
    change = domain_step(project) if domain_step is not None else None
    # The export reads neither the answers file nor the revision: it runs while the answers
    # file is rendered (which the quick path need not read back: it knows what it wrote).
    exported = _start_contracts(project, recorded, warm=warm)
    final_answers = write_answers()
    _set_source(project / ANSWERS_FILE, src_path=source, commit=None)
    exported()
    return final_answers, change


def _recorded_entry(
    workspace: WorkspaceFile,
    name: str,
    record: EntryUpdate,
    answers: Mapping[str, Any],
    change: DomainChange | None,
) -> ServiceEntry:
    """The workspace entry after the update; a domain change also renames what it publishes."""
    entry = record(workspace.model.services[name], answers)
    entry = _routed_entry(workspace, entry, answers)
    if change is not None and entry.broker != "none":
        from msgen.messaging import domain_events

        entry = entry.model_copy(update={"publishes": domain_events(name, entry.domain())})
    return entry


def _client_upstreams(workspace: WorkspaceFile, name: str) -> dict[str, Path]:
    """The upstreams a service builds clients of (a gateway forwards: it builds none)."""
    entry = workspace.model.services[name]
    return upstream_dirs(workspace, entry.upstreams) if entry.kind == "service" else {}


def _refresh_snapshots(
    target: Path, upstreams: Mapping[str, Path], *, service: str, package: str, dry_run: bool
) -> list[FileChange]:
    """Bring ``contracts/upstreams/`` and the typed clients up to the upstreams' documents.

    The update that changes nothing else: each file is replaced atomically, so an
    interrupted run leaves every file whole and a rerun finishes the rest. A dry run
    generates the clients from the snapshots as they would be, staged aside.
    """
    changed = snapshot_upstreams(target, upstreams, write=not dry_run)
    if not dry_run:
        changed += sync_clients(target, package=package, service=service)
    else:
        with tempfile.TemporaryDirectory(prefix=f"{SANDBOX_PREFIX}{os.getpid()}-") as tmp:
            staged = Path(tmp)
            current = target / UPSTREAMS_DIR
            if current.is_dir():
                shutil.copytree(current, staged / UPSTREAMS_DIR)
            snapshot_upstreams(staged, upstreams)
            changed += sync_clients(
                target,
                package=package,
                service=service,
                write=False,
                snapshots=staged / UPSTREAMS_DIR,
            )
    return [
        FileChange(path=path.relative_to(target).as_posix(), status="added" if new else "modified")
        for path, new in changed
    ]


@changes_workspace
def update_service(
    workspace: WorkspaceFile,
    name: str,
    *,
    answers: Mapping[str, Any] | None = None,
    conflict: Conflict = "inline",
    dry_run: bool = False,
    force: bool = False,
    report: Reporter | None = None,
    record: EntryUpdate = _with_version,
    warm: WarmExport | None = None,
) -> ServiceUpdate:
    """Re-apply the current template (with ``answers`` changed) to one service.

    Refuses a service with uncommitted git changes unless ``force``. Writes nothing when
    ``dry_run``; otherwise writes the changed files (conflicts included) and the workspace
    entry ``record`` makes from the old one and the new answers, in one journaled change.
    ``warm`` is a contract export started ahead (:func:`export_ahead`) for the quick path.
    """
    say = report or (lambda _message: None)
    template = template_of(workspace, name)
    target = workspace.service_dir(name)
    under_git = check_clean(name, target, force=force)
    recorded = read_answers(target)
    old = None if recorded.get("msgen_version") is None else str(recorded["msgen_version"])
    new = template_version(template)
    domains = _domains(workspace, name, recorded)
    # A domain change at the current version takes the quick path; its contract export
    # starts warming up now (unless ``warm`` did before), before the change is planned.
    exports = domains is not None and old == new and not answers and conflict == "inline"
    with _warm_export(exports and recorded.get("broker", "none") != "none", warm) as export:
        answers, domain_step = _domain_step(workspace, name, recorded, dict(answers or {}), domains)
        answers, domain_step = _consumes_step(workspace, name, recorded, answers, domain_step)
        answers = _workspace_step(workspace, name, recorded, answers)
        called = _client_upstreams(workspace, name)
        if old == new and not answers:
            return ServiceUpdate(
                name=name,
                target=target,
                old_version=old,
                new_version=new,
                changes=tuple(
                    _refresh_snapshots(
                        target,
                        called,
                        service=name,
                        package=str(recorded["package_name"]),
                        dry_run=dry_run,
                    )
                ),
                diff="",
                under_git=under_git,
                dry_run=dry_run,
                answers=recorded,
            )
        quick = _quick_template(template, old=old, new=new, answers=answers, conflict=conflict)
        # named with the pid, so recovery can tell a killed run's sandbox (msgen.recovery)
        with tempfile.TemporaryDirectory(prefix=f"{SANDBOX_PREFIX}{os.getpid()}-") as tmp:
            scratch = Path(tmp)
            if quick is None:
                say(f"{name}: preparing the template versions")
                base = _base_template(workspace, template, old, new, scratch)
                template_repo(scratch / "template", old=base, new=template_source(template))
            say(f"{name}: copying the service into a sandbox")
            files = service_files(target, scratch, under_git=under_git)
            if ANSWERS_FILE not in files:
                raise UpdateError(
                    f"git ignores {target / ANSWERS_FILE}, so the update cannot see the service",
                    hint="stop ignoring the service's directory (see git check-ignore -v)",
                )
            project = scratch / "project" / target.name
            for file in files:
                (project / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(target / file, project / file)
            source = str(template_source(template))
            answers = {**answers, "msgen_version": new}
            if quick is None:
                say(f"{name}: merging template {old or '(unrecorded)'} -> {new}")
                _set_source(
                    project / ANSWERS_FILE, src_path=str(scratch / "template"), commit="0.0.1"
                )
                _copier_path(project, answers, conflict=conflict, source=source)
                change = domain_step(project) if domain_step is not None else None
                final_answers = read_answers(project)
                _start_contracts(project, final_answers)()
            else:
                say(f"{name}: merging the new answers (template {new})")
                final_answers, change = _quick_path(
                    project,
                    quick,
                    recorded=recorded,
                    answers=answers,
                    files=files,
                    source=source,
                    domain_step=domain_step,
                    warm=export,
                )
            take_upstreams(
                project, called, package=str(final_answers["package_name"]), service=name
            )
            changes = _compare(target, project, files)
            diff = _diff(target, project, changes) if dry_run else ""
            if not dry_run:
                store_template(workspace.root, template)  # the base of the next update
                say(f"{name}: writing {len(changes)} files")
                entry = _recorded_entry(workspace, name, record, final_answers, change)
                _write_back(workspace, name, updated=project, changes=changes, entry=entry)
    return ServiceUpdate(
        name=name,
        target=target,
        old_version=old,
        new_version=new,
        changes=tuple(changes),
        diff=diff,
        under_git=under_git,
        dry_run=dry_run,
        answers=final_answers,
        migration=change.description if change else (),
        revision=change.revision_file if change else None,
    )
