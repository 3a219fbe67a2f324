"""The quick update: new answers at the current template version, merged without copier.

``msgen add field`` changes one answer (``entities``) and keeps the template version. Copier's
update would build a template repository, a git copy of the service, render the template
twice and replay the user's edits as a patch; msgen renders the template itself
(:mod:`msgen.template_render`) and merges per file, with the same outcome:

- only the files whose template can read a changed answer are rendered (their source or a
  segment of their path names it, or the answers file's ``_copier_answers``); the others
  render the same before and after, so the user's copy stays as it is;
- a file that renders the same with the old and the new answers is left alone;
- the user's copy equal to the old render (no hand edit) is replaced by the new render;
- a hand-edited copy gets a three-way merge, ``git merge-file`` with copier's labels
  (``before updating`` / ``last update`` / ``after updating``), so a conflict leaves the
  markers :mod:`msgen.update` reports;
- a file the user deleted (or git ignores) stays as it is; a file the template no longer
  renders is removed; the answers file is always the new render (written last, while the
  contract export runs: 100 KB of YAML for a big domain).

It works on the update's sandbox copy of the service (``project``): the caller's steps after
it (the domain's revision, contracts, the comparison, the diff, the atomic write-back) are the
ones the copier path runs.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from msgen.template_render import Template, TemplateFile
from msgen.vcs import git

__all__ = ["affected", "merge_render"]

_COMPOSE = re.compile(r"{%-?\s*(include|import|from|extends)\b")
MERGE_LABELS = ("before updating", "last update", "after updating")


def affected(template: Template, item: TemplateFile, changed: frozenset[str]) -> bool:
    """Whether ``item`` may render differently when the answers in ``changed`` change.

    A Jinja template reads a variable only by naming it, so a file whose source and path
    segments name none of them renders the same. A template that includes or imports
    another is always rendered (the other may name them).
    """
    names = set(changed)
    if names & set(template.remembered()):
        names.add("_copier_answers")
    if any(name in part for part in item.parts for name in names):
        return True
    if not item.templated:
        return False
    text = (template.root / item.source).read_text(encoding="utf-8")
    return bool(_COMPOSE.search(text)) or any(name in text for name in names)


def _render(
    template: Template,
    items: Sequence[TemplateFile],
    context: Mapping[str, Any],
    *,
    skip: str | None = None,
) -> dict[str, tuple[TemplateFile, bytes]]:
    rendered: dict[str, tuple[TemplateFile, bytes]] = {}
    for item in items:
        destination = template.destination(item, context)
        if destination is not None and destination != skip:
            rendered[destination] = (item, template.render_file(item, context))
    return rendered


def _merge(current: Path, base: bytes, other: bytes, scratch: Path) -> None:
    """``git merge-file`` of ``current`` (in place) with copier's labels."""
    base_file, other_file = scratch / "base", scratch / "other"
    base_file.write_bytes(base)
    other_file.write_bytes(other)
    labels = [arg for label in MERGE_LABELS for arg in ("-L", label)]
    git(
        "merge-file",
        *labels,
        "--",
        str(current),
        str(base_file),
        str(other_file),
        cwd=scratch,
        check=False,
    )


def merge_render(
    project: Path,
    template: Template,
    *,
    recorded: Mapping[str, Any],
    answers: Mapping[str, Any],
    files: Sequence[str],
    src_path: str,
) -> Callable[[], dict[str, Any]]:
    """Bring ``project`` (a copy of the service's ``files``) to the template with ``answers``.

    ``recorded`` are the answers the service was rendered with (its answers file), and
    ``answers`` the ones that change; the template version is the same. Every file but the
    answers file is written on return; the function returned writes the answers file (the
    slowest to render: the caller starts the contract export first) and returns the answers
    it records (what reading it back would give).
    """
    old_answers = {k: v for k, v in recorded.items() if not k.startswith("_")}
    new_answers = {**old_answers, **answers}
    name = project.name
    old = template.context(old_answers, src_path=src_path, dst_name=name)
    new = template.context(new_answers, src_path=src_path, dst_name=name)
    changed = frozenset(key for key in template.questions if old.get(key) != new.get(key))
    items = [item for item in template.files if affected(template, item, changed)]
    skip = template.answers_file
    after = _render(template, items, new, skip=skip)
    before = _render(template, items, old, skip=skip)
    present = set(files)
    with tempfile.TemporaryDirectory(prefix="msgen-merge-") as tmp:
        scratch = Path(tmp)
        for destination in sorted(set(before) | set(after)):
            path = project / destination
            old_item = before.get(destination)
            new_item = after.get(destination)
            old_text = old_item[1] if old_item else None
            if new_item is None:
                if old_text is not None:
                    path.unlink(missing_ok=True)  # the template no longer renders it
                continue
            item, new_text = new_item
            if old_text == new_text:
                continue
            if destination not in present:
                if old_text is None:  # new in the template
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(new_text)
                    path.chmod(template.mode(item))
                continue  # deleted by the user, or ignored by git: left alone
            current = path.read_bytes()
            if current == new_text:
                continue
            if current == old_text:
                path.write_bytes(new_text)
                path.chmod(template.mode(item))
                continue
            _merge(path, old_text or b"", new_text, scratch)

    def write_answers() -> dict[str, Any]:
        """The answers file: always the new render, whatever the old one was."""
        for item in items:  # the answers file reads ``_copier_answers``: it is among them
            if template.destination(item, new) == skip:
                (project / skip).write_bytes(template.render_file(item, new))
        return dict(new["_copier_answers"])

    return write_answers
