"""A tiny code formatter for the calls a revision file is made of.

Revision files must pass ``ruff format --check`` (line length 100) as written, without
running ruff. Calls are laid out as ruff (and black) lay them out: on one line when they
fit; else the arguments on one indented line; else one argument per line with a trailing
comma, each formatted the same way. String literals use double quotes unless that needs
more escapes, and a string too long for its line becomes an implicit concatenation.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LINE_LENGTH", "Call", "Kw", "Node", "Seq", "Str", "format_node", "quote"]

LINE_LENGTH = 100


def quote(text: str) -> str:
    """A Python string literal for ``text`` as ruff format writes it."""
    body = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    if body.count('"') > body.count("'"):
        return "'" + body.replace("'", "\\'") + "'"
    return '"' + body.replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Str:
    """A string literal (split into an implicit concatenation when too long)."""

    value: str


@dataclass(frozen=True, slots=True)
class Call:
    """``func(args...)``; ``args`` are nodes or raw source."""

    func: str
    args: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Seq:
    """A list (``[...]``) or tuple (``(...)``) display."""

    items: tuple[Node, ...]
    brackets: str = "[]"


@dataclass(frozen=True, slots=True)
class Kw:
    """A keyword argument ``name=value``."""

    name: str
    value: Node


Node = str | Str | Call | Seq | Kw


def flat(node: Node) -> str:
    """The node on one line."""
    if isinstance(node, str):
        return node
    if isinstance(node, Str):
        return quote(node.value)
    if isinstance(node, Kw):
        return f"{node.name}={flat(node.value)}"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(flat(arg) for arg in node.args)})"
    inner = ", ".join(flat(item) for item in node.items)
    if node.brackets == "()" and len(node.items) == 1:
        inner += ","
    return f"{node.brackets[0]}{inner}{node.brackets[1]}"


def _split_string(value: str, width: int) -> list[str]:
    """Pieces of ``value``, cut after spaces, whose literals fit in ``width`` columns."""
    words = value.split(" ")
    pieces: list[str] = []
    current = words[0]
    for word in words[1:]:
        candidate = f"{current} {word}"
        if len(quote(candidate + " ")) > width:
            pieces.append(current + " ")
            current = word
        else:
            current = candidate
    return [*pieces, current]


def _format_str(node: Str, one: str, indent: int, *, prefix: str, suffix: str) -> list[str]:
    pieces = _split_string(node.value, LINE_LENGTH - indent - len(suffix))
    if len(pieces) == 1 or prefix:
        return [one]
    lines = [" " * indent + quote(piece) for piece in pieces]
    lines[-1] += suffix
    return lines


def _format_kw(node: Kw, one: str, indent: int, *, prefix: str, suffix: str) -> list[str]:
    if not isinstance(node.value, Str):
        return format_node(node.value, indent, prefix=f"{prefix}{node.name}=", suffix=suffix)
    pieces = format_node(node.value, indent + 4)
    if len(pieces) == 1:
        return [one]
    pad = " " * indent
    return [f"{pad}{prefix}{node.name}=(", *pieces, pad + ")" + suffix]


def format_node(node: Node, indent: int, *, prefix: str = "", suffix: str = "") -> list[str]:
    """Lines (indentation included) for ``prefix + node + suffix`` at ``indent`` spaces."""
    pad = " " * indent
    one = pad + prefix + flat(node) + suffix
    if len(one) <= LINE_LENGTH or isinstance(node, str):
        return [one]
    if isinstance(node, Kw):
        return _format_kw(node, one, indent, prefix=prefix, suffix=suffix)
    if isinstance(node, Str):
        return _format_str(node, one, indent, prefix=prefix, suffix=suffix)
    if isinstance(node, Call):
        opening, closing, items = f"{node.func}(", ")", node.args
    else:
        opening, closing, items = node.brackets[0], node.brackets[1], node.items
    head = pad + prefix + opening
    tail = pad + closing + suffix
    inner = " " * (indent + 4)
    if len(items) == 1:
        return [head, *format_node(items[0], indent + 4), tail]
    body = inner + ", ".join(flat(item) for item in items)
    if len(body) <= LINE_LENGTH:
        return [head, body, tail]
    lines = [head]
    for item in items:
        lines += format_node(item, indent + 4, suffix=",")
    return [*lines, tail]
