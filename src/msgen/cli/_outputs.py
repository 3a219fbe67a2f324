"""Reporting written files: one line per file, and a warning for the ones kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgen.cli._ui import console, err_console, escape

if TYPE_CHECKING:
    from msgen.outputs import Outcome

_STYLE = {
    "created": "green",
    "updated": "cyan",
    "replaced": "yellow",
    "unchanged": "dim",
    "kept": "bold yellow",
    "removed": "red",
    "left": "bold yellow",
}


def report_outcomes(outcomes: list[Outcome], *, quiet_unchanged: bool = False) -> None:
    """Print what happened to each file; warn about edited files that were kept."""
    for outcome in outcomes:
        if quiet_unchanged and outcome.action == "unchanged":
            continue
        style = _STYLE[outcome.action]
        console().print(f"[{style}]{outcome.action:>9}[/] {escape(outcome.path)}", soft_wrap=True)
    kept = [o.path for o in outcomes if o.action == "kept"]
    if kept:
        err_console().print(
            f"[yellow]warning:[/] kept {len(kept)} file(s) edited by hand or not written by "
            "msgen; rerun with --force to replace them",
            soft_wrap=True,
        )
    left = [o.path for o in outcomes if o.action == "left"]
    if left:
        err_console().print(
            f"[yellow]warning:[/] left {len(left)} file(s) msgen no longer generates but did "
            "not record writing, or that were edited since; remove them yourself if unwanted",
            soft_wrap=True,
        )
