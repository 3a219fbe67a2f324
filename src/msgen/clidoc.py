"""The CLI reference page, generated from the typer app (never written by hand).

``python -m msgen.clidoc > docs/reference/cli.md`` walks the click command tree behind the
typer app and writes, for every command and group, its one-line summary and exactly the
``--help`` text a user sees (at a fixed width, so the page does not depend on the
terminal). ``python -m msgen.clidoc --check docs/reference/cli.md`` exits 1 when the page
is stale; msgen's tests do the same, so the docs cannot drift from the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["WIDTH", "main", "render_reference", "walk"]

WIDTH = 100
REGENERATE = "python -m msgen.clidoc > docs/reference/cli.md"


# typer (0.29+) vendors its own click: commands and contexts are duck-typed here, and each
# command makes its own context class.
Command = Any
Context = Any


def _context(command: Command, name: str, parent: Context | None) -> Context:
    return command.context_class(
        command, info_name=name, parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )


def walk(
    command: Command, name: str = "msgen", parent: Context | None = None
) -> Iterator[tuple[Context, Command]]:
    """Every command below (and including) ``command``, depth first, in registration order."""
    ctx = _context(command, name, parent)
    yield ctx, command
    if hasattr(command, "list_commands"):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, sub_name, ctx)


def _anchor(path: str) -> str:
    return path.replace(" ", "-")


def _summary(command: Command) -> str:
    return str(command.get_short_help_str(limit=WIDTH)).replace("|", "\\|")


def render_reference() -> str:
    """The Markdown of docs/reference/cli.md."""
    import typer

    from msgen.cli import app

    root = typer.main.get_command(app)
    commands = list(walk(root))
    lines = [
        "# CLI reference",
        "",
        f"<!-- Generated from the typer app by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Every command and its `--help`, as `msgen` prints it. Run any command with `--help`",
        "for the same text; `msgen --verbose COMMAND` prints tracebacks of errors for bug reports.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for ctx, command in commands[1:]:
        path = ctx.command_path
        lines.append(f"| [`{path}`](#{_anchor(path)}) | {_summary(command)} |")
    for ctx, command in commands:
        path = ctx.command_path
        level = "#" * min(2 + path.count(" ") - 1, 4) if path.count(" ") else "##"
        lines += [
            "",
            f"{level} `{path}` {{#{_anchor(path)}}}",
            "",
        ]
        if command.help:
            lines += [_summary(command), ""]
        help_text = command.get_help(ctx).rstrip()
        lines += ["```text", help_text, "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m msgen.clidoc [--check FILE]``: print the page, or check FILE is current."""
    args = sys.argv[1:] if argv is None else argv
    text = render_reference()
    if args[:1] == ["--check"] and len(args) == 2:
        current = Path(args[1]).read_text(encoding="utf-8") if Path(args[1]).exists() else ""
        if current != text:
            sys.stderr.write(f"{args[1]} is out of date; regenerate it: {REGENERATE}\n")
            return 1
        return 0
    if args:
        sys.stderr.write("usage: python -m msgen.clidoc [--check FILE]\n")
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
