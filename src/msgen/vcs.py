"""git, as ``msgen update`` uses it: dirty checks, file listings, throwaway repositories.

Every call runs without the user's hooks or commit signing and with a fixed identity, so a
global git configuration cannot break or slow the sandbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from msgen.errors import DirtyServiceError, UpdateError

__all__ = ["check_clean", "git", "git_changes", "service_files", "template_repo"]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "msgen",
    "GIT_AUTHOR_EMAIL": "msgen@localhost",
    "GIT_COMMITTER_NAME": "msgen",
    "GIT_COMMITTER_EMAIL": "msgen@localhost",
}


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run git; its failure becomes one UpdateError line."""
    if not cwd.is_dir():
        raise UpdateError(f"{cwd} is not a directory (was it deleted or moved?)")
    try:
        return subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", f"core.hooksPath={os.devnull}", *args],
            cwd=cwd,
            env={**os.environ, **GIT_ENV},
            capture_output=True,
            check=check,
        )
    except FileNotFoundError:
        raise UpdateError(
            "msgen update needs git (copier merges with it)", hint="install git"
        ) from None
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace").strip().splitlines()
        raise UpdateError(f"git {args[0]} failed: {message[-1] if message else exc}") from exc


def git_changes(target: Path) -> list[str] | None:
    """Uncommitted changes under ``target`` (``git status`` lines); None when not under git."""
    inside = git("rev-parse", "--is-inside-work-tree", cwd=target, check=False)
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        return None
    status = git("status", "--porcelain", "--untracked-files=all", "--", ".", cwd=target)
    return status.stdout.decode(errors="replace").splitlines()


def check_clean(name: str, target: Path, *, force: bool) -> bool:
    """Refuse a service with uncommitted changes unless ``force``; True if under git."""
    if not target.is_dir():
        raise UpdateError(
            f"the directory of {name}, {target}, is missing",
            hint="restore it (git checkout, or from a backup), or remove the service from "
            "msgen.yaml",
        )
    changes = git_changes(target)
    if changes and not force:
        raise DirtyServiceError(
            f"{name} has uncommitted changes ({len(changes)} "
            f"{'file' if len(changes) == 1 else 'files'}) in {target}",
            hint="commit or stash them first, so the update can be reviewed and undone; "
            "or pass --force",
        )
    return changes is not None


def service_files(target: Path, scratch: Path, *, under_git: bool) -> list[str]:
    """The files of the service that git does not ignore (its own .gitignore applies)."""
    if under_git:
        listing = git("ls-files", "-z", "-co", "--exclude-standard", "--", ".", cwd=target)
    else:
        probe = scratch / "probe"
        git("init", "-q", str(probe), cwd=scratch)
        listing = git(
            f"--git-dir={probe / '.git'}",
            f"--work-tree={target}",
            "ls-files",
            "-z",
            "-o",
            "--exclude-standard",
            cwd=target,
        )
    names = [name for name in listing.stdout.decode().split("\0") if name]
    return sorted(name for name in set(names) if (target / name).is_file())


def template_repo(repo: Path, *, old: Path, new: Path) -> None:
    """Two tagged commits: the template the service came from, then the current one."""
    repo.mkdir()
    git("init", "-q", cwd=repo)
    for source, tag in ((old, "0.0.1"), (new, "0.0.2")):
        for child in repo.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        shutil.copytree(source, repo, dirs_exist_ok=True)
        git("add", "-A", cwd=repo)
        git("commit", "-q", "--allow-empty", "-m", f"template {tag}", cwd=repo)
        git("tag", tag, cwd=repo)
