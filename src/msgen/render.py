"""Render a copier template atomically.

Copier renders into a temporary directory next to the target; only a complete render is
moved into place (one ``rename`` when the target does not exist yet). A failed or
interrupted render leaves nothing behind. Copier is imported here, lazily, and only through
its public API; its errors become :class:`~msgen.errors.RenderError`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msgen.errors import RenderError, TargetExistsError
from msgen.faults import checkpoint

__all__ = [
    "TEMPLATES_ENV",
    "RenderResult",
    "is_empty_dir",
    "remove_tree",
    "render_template",
    "templates_dir",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderResult:
    """What a render wrote (or, for a dry run, would write)."""

    target: Path
    files: tuple[str, ...]
    created: bool
    """True when the target directory did not exist before."""
    adopted: bool = False
    """True when nothing was rendered: an earlier run's complete render was taken as is."""


TEMPLATES_ENV = "MSGEN_TEMPLATES_DIR"


def templates_dir() -> Path:
    """Where the templates are: inside the installed package, or the source checkout.

    ``MSGEN_TEMPLATES_DIR`` points msgen at another copy (a template author's working copy,
    or a test's modified templates); it must hold ``service/copier.yml``.
    """
    override = os.environ.get(TEMPLATES_ENV)
    if override:
        candidate = Path(override).expanduser().resolve()
        if not (candidate / "service" / "copier.yml").is_file():
            raise RenderError(
                f"{TEMPLATES_ENV}={override} holds no service/copier.yml",
                hint=f"point {TEMPLATES_ENV} at a copy of msgen's templates/, or unset it",
            )
        return candidate
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "templates", package_dir.parents[1] / "templates"):
        if (candidate / "service" / "copier.yml").is_file():
            return candidate
    raise RenderError(
        f"msgen's templates are missing (looked in {package_dir / 'templates'})",
        hint="reinstall msgen",
    )


def is_empty_dir(path: Path) -> bool:
    """True for an existing directory with nothing in it."""
    return path.is_dir() and next(path.iterdir(), None) is None


def remove_tree(path: Path) -> None:
    """Remove a file or directory tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def render_template(
    template: str,
    *,
    data: dict[str, Any],
    target: Path,
    force: bool = False,
    dry_run: bool = False,
    finish: Callable[[Path], object] | None = None,
) -> RenderResult:
    """Render ``templates/<template>`` with ``data`` into ``target``.

    An existing non-empty ``target`` is refused unless ``force``; then the rendered files
    replace their namesakes (each with an atomic rename) and other files are kept.
    ``dry_run`` renders into a scratch directory and reports the files, writing nothing.
    ``finish`` completes the rendered tree (in the scratch directory) before it is moved into
    place, so a failing step leaves nothing behind either.
    """
    source = templates_dir() / template
    if not (source / "copier.yml").is_file():
        raise RenderError(f"unknown template {template!r}")
    target = target.absolute()
    if target.exists() and not target.is_dir():
        raise TargetExistsError(f"{target} exists and is not a directory")
    existed = target.exists()
    if existed and not force and not is_empty_dir(target):
        raise TargetExistsError(
            f"{target} already exists and is not empty",
            hint="pass --force to render over it (its other files are kept)",
        )
    if dry_run:
        with tempfile.TemporaryDirectory(prefix="msgen-dry-run-") as scratch:
            out = Path(scratch) / target.name
            _copy(source, out, data)
            if finish is not None:
                finish(out)
            return RenderResult(target=target, files=_tree(out), created=not existed)
    try:
        with _staging(target) as out:
            _copy(source, out, data)
            if finish is not None:
                finish(out)
            files = _tree(out)
            _install(out, target, files)
    except OSError as exc:
        raise RenderError(f"cannot write {exc.filename or target}: {exc.strerror}") from exc
    return RenderResult(target=target, files=files, created=not existed)


def _copy(source: Path, out: Path, data: dict[str, Any]) -> None:
    """Render ``source`` into ``out``, with msgen's renderer when it covers the template.

    :mod:`msgen.template_render` writes the same bytes as copier, without importing copier
    and with the compiled templates cached between runs; other templates go to copier.
    """
    from msgen.template_render import load_template

    template = load_template(source)
    if template is None:
        _copier_copy(source, out, data)
        return
    import jinja2

    try:
        template.write(data, out=out, src_path=str(source))
    except (ValueError, TypeError) as exc:
        raise RenderError(f"template {source.name!r} rejected the answers: {exc}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {source.name!r} failed to render: {exc}") from exc


def _copier_copy(source: Path, out: Path, data: dict[str, Any]) -> None:
    from copier import run_copy
    from copier.errors import CopierError

    try:
        run_copy(
            str(source),
            out,
            data=data,
            defaults=True,
            overwrite=True,
            quiet=True,
            unsafe=False,
            skip_tasks=True,
            cleanup_on_error=True,
        )
    except CopierError as exc:
        raise RenderError(f"template {source.name!r} failed to render: {exc}") from exc
    except (ValueError, TypeError) as exc:  # copier's answer validation (pydantic)
        raise RenderError(f"template {source.name!r} rejected the answers: {exc}") from exc


@contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A scratch directory beside ``target`` (same file system, so rename is atomic).

    Parent directories created for it are removed again when the render fails.
    """
    created_parents = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    checkpoint("render.stage")
    scratch = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.msgen-{os.getpid()}-", dir=target.parent)
    )
    try:
        yield scratch / target.name
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        for parent in created_parents:  # innermost first
            if is_empty_dir(parent):
                parent.rmdir()
        raise
    shutil.rmtree(scratch, ignore_errors=True)


def _install(out: Path, target: Path, files: tuple[str, ...]) -> None:
    """Move a complete render into place."""
    if is_empty_dir(target):
        target.rmdir()
    if not target.exists():
        checkpoint("render.rename")
        out.rename(target)
        return
    for name in files:
        destination = target / name
        if destination.is_dir() and not destination.is_symlink():
            raise TargetExistsError(f"{destination} is a directory; cannot write a file there")
        destination.parent.mkdir(parents=True, exist_ok=True)
        checkpoint("render.install")
        (out / name).replace(destination)


def _tree(root: Path) -> tuple[str, ...]:
    """Every file under ``root``, as sorted POSIX paths relative to it."""
    return tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()))
