"""Reading the files a person (or an attacker) can edit, as hostile input.

``msgen.yaml``, ``.copier-answers.yml``, ``.env`` and ``.gitignore`` are read through here, so
every one of them gets the same bounds and the same one-line errors:

- a file over :data:`MAX_BYTES` is refused before it is read whole;
- bytes that are not UTF-8 are refused with the offset of the first bad byte;
- YAML may nest at most :data:`MAX_DEPTH` levels (a deeper document would end in a
  RecursionError in the composer), hold at most :data:`MAX_NODES` values, and may not use
  aliases at all: msgen's files never need them, and an alias is what an "alias bomb" (a
  billion laughs) expands from;
- a value quoted in an error message is cut to :data:`SHOWN` characters (:func:`shorten`).

The error class is the caller's (a broken ``msgen.yaml`` is a WorkspaceInvalidError, a
broken answers file an InputFileError), so the one CLI boundary maps them as usual.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from msgen.errors import MsgenError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "SHOWN",
    "load_yaml",
    "read_text",
    "shorten",
]

MAX_BYTES = 512 * 1024
"""The largest file msgen reads: a ``msgen.yaml`` of 100 services is about 30 KB, and the
pure-Python YAML parsers read about 100-200 KB a second, so this bounds a parse to seconds."""
MAX_DEPTH = 50
"""The deepest YAML nesting msgen accepts (``msgen.yaml`` needs five levels)."""
MAX_NODES = 10_000
"""The most YAML values (scalars and collections) in one file (100 services need ~3,000)."""
SHOWN = 80
"""The most characters of a value an error message quotes."""
_SPECIAL = re.compile(r"[\[\]{}#'\"\\]")


def shorten(text: str, limit: int = SHOWN) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, on one line (for messages)."""
    text = " ".join(text.split("\n"))
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def read_text(path: Path, *, error: type[MsgenError], limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of ``path``, at most ``limit`` bytes; anything else raises ``error``."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise error(
            f"{path}: larger than {limit // 1024} KiB; msgen refuses to read it",
            hint="is this the right file? msgen's own files are a few KB",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="save the file as UTF-8",
        ) from None


def load_yaml(
    text: str,
    *,
    path: Path,
    error: type[MsgenError],
    round_trip: bool,
    max_nodes: int = MAX_NODES,
) -> Any:
    """Parse one YAML document with the bounds above; syntax errors name file and line.

    ``round_trip`` keeps comments and order (ruamel's round-trip loader, for files msgen
    writes back); otherwise the document is read as plain data by PyYAML's safe loader, the
    one copier reads its answers with, so both agree on every value. ``max_nodes`` raises the
    value bound for files msgen writes that grow with the domain (a service's answers).
    """
    line = _too_deep_flow(text)
    if line is not None:
        raise error(f"{path}{_refusal('depth', line)}")
    if round_trip:
        return _load_ruamel(text, path=path, error=error)
    return _load_pyyaml(text, path=path, error=error, max_nodes=max_nodes)


def _too_deep_flow(text: str) -> int | None:
    """The 0-based line where ``[``/``{`` nesting passes MAX_DEPTH, or None.

    Checked before parsing because the YAML scanners look ahead through a whole flow
    collection, at a cost that grows with the square of its depth (5,000 levels take
    seconds before the composer's depth limit is reached). Quoted strings and comments are
    skipped; a bracket in a plain scalar may count too, which errs on the side of refusing.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    quote = ""
    skip_to = 0
    for match in _SPECIAL.finditer(text):
        index, char = match.start(), match.group()
        if index < skip_to:
            continue
        previous = text[index - 1] if index else "\n"
        if quote:
            if char == "\\" and quote == '"':
                skip_to = index + 2
            elif char == quote:
                quote = ""
        elif char == "#" and previous in " \t\n":
            newline = text.find("\n", index)
            skip_to = len(text) if newline < 0 else newline
        elif char in "'\"" and previous in " \t\n[{,:":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, index)
        elif char in "]}":
            depth = max(0, depth - 1)
    return None


def _refusal(kind: str, line: int | None, max_nodes: int = MAX_NODES) -> str:
    where = f":{line + 1}" if line is not None else ""
    if kind == "alias":
        return f"{where}: YAML aliases (*name) are not allowed in msgen's files"
    if kind == "nodes":
        return f"{where}: more than {max_nodes} values; msgen refuses to read it"
    return f"{where}: nested deeper than {MAX_DEPTH} levels"


def _load_ruamel(text: str, *, path: Path, error: type[MsgenError]) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.composer import Composer, ComposerError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    class NoAliasComposer(Composer):
        nodes = 0

        def return_alias(self, a: Any) -> Any:
            mark = self.parser.last_event.start_mark if self.parser.last_event else None
            raise ComposerError(None, None, "alias", mark)

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise ComposerError(None, None, "nodes", self.parser.peek_event().start_mark)
            return super().compose_node(parent, index)

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True  # a save writes the user's quoted strings back quoted
    yaml.Composer = NoAliasComposer
    yaml.max_depth = MAX_DEPTH
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a reused anchor, a YAML 1.1 float: still data
            return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line if mark is not None else None
        if exc.problem in {"alias", "nodes"}:
            raise error(f"{path}{_refusal(str(exc.problem), line)}") from None
        if "maximum depth" in str(exc.problem):
            raise error(f"{path}{_refusal('depth', line)}") from None
        where = f":{line + 1}" if line is not None else ""
        problem = shorten(str(exc.problem or exc.context or ""), 200)
        raise error(f"{path}{where}: not valid YAML: {problem}") from None
    except YAMLError as exc:
        raise error(f"{path}: not valid YAML: {shorten(str(exc), 200)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # a value the constructor cannot build, such as the date 2024-02-30
        raise error(f"{path}: not valid YAML: {shorten(str(exc), 200)}") from None


def _load_pyyaml(text: str, *, path: Path, error: type[MsgenError], max_nodes: int) -> Any:
    import yaml

    def bounds() -> None:
        """Aliases, depth and size checked on the parser's events (libyaml's when present)."""
        depth = nodes = 0
        parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for event in yaml.parse(text, Loader=parser):
            if isinstance(event, yaml.AliasEvent):
                raise yaml.MarkedYAMLError(problem="alias", problem_mark=event.start_mark)  # type: ignore[arg-type]
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > max_nodes:
                    raise yaml.MarkedYAMLError(problem="nodes", problem_mark=event.start_mark)  # type: ignore[arg-type]
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise yaml.MarkedYAMLError(problem="depth", problem_mark=event.start_mark)  # type: ignore[arg-type]
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1

    class BoundedLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """The safe loader (libyaml's when present), run once :func:`bounds` has passed."""

    data = _plain_data(text, BoundedLoader, max_nodes=max_nodes)
    if data is not _UNUSUAL:
        return data
    try:
        bounds()
        return yaml.load(text, Loader=BoundedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line if mark is not None else None
        if exc.problem in {"alias", "depth", "nodes"}:
            raise error(f"{path}{_refusal(str(exc.problem), line, max_nodes)}") from None
        where = f":{line + 1}" if line is not None else ""
        problem = shorten(str(exc.problem or exc.context or ""), 200)
        raise error(f"{path}{where}: not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {shorten(str(exc), 200)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # a value the constructor cannot build, such as the date 2024-02-30
        raise error(f"{path}: not valid YAML: {shorten(str(exc), 200)}") from None


_UNUSUAL: Any = object()
"""What :func:`_plain_data` returns for a document it leaves to the full reader."""
_STRING = "tag:yaml.org,2002:str"


class _DeclinedError(Exception):
    """A document :func:`_plain_data` leaves to the full reader."""


def _plain_data(text: str, loader_class: Any, *, max_nodes: int) -> Any:
    """The document of ``text`` as the safe loader reads it, in one pass over the events.

    The bounds above and PyYAML's safe loader take three passes (the events for the bounds,
    then libyaml's composer, then the Python constructor), a tenth of a second for a big
    domain's answers. Plain documents (one document of mappings, sequences, strings, nulls,
    booleans and numbers, no tags, anchors or merge keys) are built here straight from the
    events with the loader's own resolver and scalar constructors, so the value is the same;
    anything else, and every error, returns :data:`_UNUSUAL`, and the full reader reads it
    (and reports the error) as before.
    """
    import yaml
    from yaml.constructor import SafeConstructor

    scalars = {
        "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
        "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
        "tag:yaml.org,2002:int": SafeConstructor.construct_yaml_int,
        "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
    }
    standard = {
        **scalars,
        _STRING: SafeConstructor.construct_yaml_str,
        "tag:yaml.org,2002:map": SafeConstructor.construct_yaml_map,
        "tag:yaml.org,2002:seq": SafeConstructor.construct_yaml_seq,
    }
    constructors = loader_class.yaml_constructors
    if loader_class.yaml_path_resolvers or any(
        constructors.get(tag) is not function for tag, function in standard.items()
    ):
        return _UNUSUAL  # a loader changed from the standard one: the full reader knows it
    loader = loader_class(text)
    try:
        return _build(loader, yaml, scalars, max_nodes=max_nodes)
    except Exception:  # declined, or an error the full reader reports as before
        return _UNUSUAL
    finally:
        loader.dispose()


def _untagged(event: Any) -> None:
    """Decline a node with an anchor or a tag (``!`` alone is no tag: the composer's rule)."""
    if event.anchor is not None or event.tag not in (None, "!"):
        raise _DeclinedError


def _scalar(loader: Any, yaml: Any, scalars: dict[str, Any], event: Any) -> Any:
    """A scalar's value, resolved and constructed as the safe loader does it."""
    _untagged(event)
    tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _STRING:
        return event.value
    if tag not in scalars:
        raise _DeclinedError  # timestamps, merge keys...
    return scalars[tag](loader, yaml.ScalarNode(tag, event.value))


def _build(loader: Any, yaml: Any, scalars: dict[str, Any], *, max_nodes: int) -> Any:
    """The body of :func:`_plain_data`: a stack of open collections, filled event by event."""
    starts = {yaml.MappingStartEvent: dict, yaml.SequenceStartEvent: list}
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    no_key = _UNUSUAL
    # Each open collection: [the dict or list, the key waiting for its value (dicts)].
    stack: list[list[Any]] = []
    result: Any = None
    documents = nodes = 0
    while loader.check_event():
        event = loader.get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            nodes += 1
            value = _scalar(loader, yaml, scalars, event)
        elif kind in starts:
            nodes += 1
            _untagged(event)
            if len(stack) >= MAX_DEPTH:
                raise _DeclinedError
            stack.append([starts[kind](), no_key])
            continue
        elif kind in ends:
            value = stack.pop()[0]
        else:  # aliases and a second document are declined; the rest marks the stream
            documents += kind is yaml.DocumentStartEvent
            if kind is yaml.AliasEvent or documents > 1:
                raise _DeclinedError
            continue
        if nodes > max_nodes:
            raise _DeclinedError
        if not stack:
            result = value
        elif type(stack[-1][0]) is list:
            stack[-1][0].append(value)
        elif stack[-1][1] is no_key:
            stack[-1][1] = value
        else:
            stack[-1][0][stack[-1][1]] = value  # an unhashable key raises: the full reader
            stack[-1][1] = no_key  # names it
    return result
