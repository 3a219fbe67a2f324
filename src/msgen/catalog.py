"""The system catalog: a static site of the workspace's services and their contracts.

``msgen docs build`` writes it (``msgen docs serve`` serves it and rebuilds it when
``msgen.yaml`` or a contract changes). Plain files, no server needed: it opens from disk
and deploys to any static host.

- ``index.html``: the system graph (SVG by Graphviz's ``dot``; the Mermaid text when
  ``dot`` is missing), every service with its owner (``owner:`` in ``msgen.yaml``), what it
  calls and what it publishes, and the current verdicts of ``msgen check contracts``;
- ``services/<name>.html``: the owner, the callers and upstreams (links), the events it
  publishes (with their consumers) and consumes (with their publishers), its operations,
  its HTTP API rendered by Swagger UI from ``contracts/openapi.json`` (embedded in the
  page, so it works from ``file://``), its events' payloads from ``contracts/asyncapi.json``,
  and its contract verdicts;
- ``assets/``: Swagger UI (vendored from the swagger-ui-dist release named in its
  ``VERSION``) and the catalog's stylesheet.

The site is built in a staging directory beside the output and swapped in whole: a
reader never sees half a catalog, and an interrupted build leaves the last one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgen.errors import ContractFileInvalidError, MsgenError, OutputError

if TYPE_CHECKING:
    from msgen.workspace import WorkspaceFile

MARKER = ".msgen-catalog"
"""Written into every catalog: a directory holding it may be replaced by the next build."""
DEFAULT_OUTPUT = "catalog"


@dataclass
class Operation:
    method: str
    path: str
    summary: str


@dataclass
class EventInfo:
    name: str
    peers: list[str]
    """Its consumers (for a published event) or publishers (for a consumed one)."""
    fields: list[tuple[str, str, bool]] = field(default_factory=list)
    """(name, type, required) of its payload, from the publisher's AsyncAPI document."""


@dataclass
class Verdict:
    kind: str
    """``http`` or ``event``."""
    subject: str
    """``orders -> billing`` or ``billing.invoice_paid -> orders``."""
    verdict: str
    reasons: list[str]
    services: frozenset[str]
    """The services it is about (its page shows it)."""

    @property
    def ok(self) -> bool:
        return self.verdict != "incompatible"


@dataclass
class ServicePage:
    name: str
    kind: str
    owner: str | None
    port: int
    db: str
    broker: str
    upstreams: list[str]
    callers: list[str]
    publishes: list[EventInfo]
    consumes: list[EventInfo]
    operations: list[Operation]
    openapi: Mapping[str, Any] | None
    notes: list[str]
    verdicts: list[Verdict] = field(default_factory=list)


@dataclass(frozen=True)
class CatalogResult:
    output: Path
    pages: tuple[str, ...]
    """Every page written, relative to ``output``."""
    graph: str
    """``svg`` (drawn by Graphviz) or ``mermaid`` (its text, when ``dot`` is missing)."""
    failing: int
    """Contract verdicts that fail (``msgen check contracts`` would exit 1)."""
    notes: tuple[str, ...] = ()


def _read_json(path: Path) -> tuple[Any, str | None]:
    """A contract file's JSON (None when missing), or None and why it is unusable."""
    from msgen.contracts import read_contract_json

    try:
        return read_contract_json(path, hint=""), None
    except ContractFileInvalidError as exc:
        return None, str(exc)


def _operations(document: Mapping[str, Any]) -> list[Operation]:
    from msgen.http_contracts import _operations as operations

    return [
        Operation(
            method.upper(),
            path,
            str(operation.get("summary") or operation.get("operationId") or ""),
        )
        for (_, method), (path, operation) in operations(document).items()
    ]


def _payload_fields(document: Any, event: str) -> list[tuple[str, str, bool]]:
    """The top-level fields of ``event``'s payload in an AsyncAPI document."""
    from msgen.http_contracts import _resolve

    if not isinstance(document, Mapping):
        return []
    messages = (document.get("components") or {}).get("messages") or {}
    message = _resolve(document, messages.get(event) if isinstance(messages, Mapping) else None)
    schema = _resolve(document, message.get("payload"))
    required = set(schema.get("required") or [])
    fields = []
    for name, spec in (schema.get("properties") or {}).items():
        kind = "object"
        if isinstance(spec, Mapping):
            options = spec.get("anyOf") or [spec]
            kinds = [_kind(option) for option in options if isinstance(option, Mapping)]
            kind = " | ".join(kinds) or "object"
        fields.append((str(name), kind, name in required))
    return fields


def _kind(schema: Mapping[str, Any]) -> str:
    """A field's type as the catalog shows it: its format, type or referenced schema."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
        return f"list of {_kind(schema['items'])}"
    return str(schema.get("format") or schema.get("type") or "object")


def _verdicts(workspace: WorkspaceFile) -> tuple[list[Verdict], list[str]]:
    """Every contract verdict (events, then HTTP), and why a kind could not be checked."""
    from msgen.contracts import check_contracts, load_contracts
    from msgen.http_contracts import check_http

    verdicts: list[Verdict] = []
    notes: list[str] = []
    try:
        report = check_contracts(load_contracts(workspace))
    except MsgenError as exc:
        notes.append(f"events not checked: {exc}")
    else:
        for check in report.checks:
            publishers = ", ".join(check.publishers) or "nobody"
            verdicts.append(
                Verdict(
                    "event",
                    f"{check.event}: {publishers} -> {check.consumer}",
                    check.verdict,
                    check.reasons(),
                    frozenset({*check.publishers, check.consumer}),
                )
            )
    try:
        http = check_http(workspace)
    except MsgenError as exc:
        notes.append(f"HTTP not checked: {exc}")
    else:
        for pair in http.checks:
            subject = f"{pair.caller} -> {pair.upstream}"
            parties = frozenset({pair.caller, pair.upstream})
            verdicts.append(Verdict("http", subject, pair.verdict, pair.reasons(), parties))
    return verdicts, notes


def _pages(workspace: WorkspaceFile, verdicts: list[Verdict]) -> list[ServicePage]:
    from msgen.graph import publishers_of

    model = workspace.model
    publishers = publishers_of(model)
    callers: dict[str, list[str]] = {}
    consumers: dict[str, list[str]] = {}
    for name, entry in model.services.items():
        for upstream in entry.upstreams:
            callers.setdefault(upstream, []).append(name)
        for event in entry.consumes:
            consumers.setdefault(event, []).append(name)
    asyncapi: dict[str, Any] = {}
    pages: list[ServicePage] = []
    for name, entry in sorted(model.services.items()):
        directory = workspace.service_dir(name)
        notes: list[str] = []
        openapi, problem = _read_json(directory / "contracts" / "openapi.json")
        if problem:
            notes.append(problem)
        elif openapi is None and entry.kind == "service":
            notes.append(
                "no contracts/openapi.json yet: run the service's tests "
                f"(or python -m {name.replace('-', '_')}.openapi)"
            )
        if not isinstance(openapi, Mapping):
            openapi = None
        asyncapi[name], problem = _read_json(directory / "contracts" / "asyncapi.json")
        if problem:
            notes.append(problem)
        pages.append(
            ServicePage(
                name=name,
                kind=entry.kind,
                owner=entry.owner,
                port=entry.port,
                db=entry.db,
                broker=entry.broker,
                upstreams=sorted(entry.upstreams),
                callers=sorted(callers.get(name, [])),
                publishes=[
                    EventInfo(event, sorted(consumers.get(event, [])))
                    for event in sorted(entry.publishes)
                ],
                consumes=[
                    EventInfo(event, sorted(publishers.get(event, [])))
                    for event in sorted(entry.consumes)
                ],
                operations=_operations(openapi) if openapi else [],
                openapi=openapi,
                notes=notes,
            )
        )
    for page in pages:
        _describe(page, asyncapi, verdicts)
    return pages


def _describe(page: ServicePage, asyncapi: Mapping[str, Any], verdicts: list[Verdict]) -> None:
    """Fill in the page's event payloads (from the publishers' AsyncAPI) and verdicts."""
    for event in page.publishes:
        event.fields = _payload_fields(asyncapi.get(page.name), event.name)
    for event in page.consumes:
        for publisher in event.peers:
            event.fields = event.fields or _payload_fields(asyncapi.get(publisher), event.name)
    page.verdicts = [verdict for verdict in verdicts if page.name in verdict.services]


def _graph(workspace: WorkspaceFile) -> tuple[str, str]:
    """(``svg``, the drawing) or (``mermaid``, its text) when Graphviz is missing."""
    from msgen.errors import GraphvizMissingError
    from msgen.graph import build_graph, render_image, render_mermaid

    graph = build_graph(workspace.model)
    try:
        svg = render_image(graph, "svg").decode("utf-8")
    except GraphvizMissingError:
        return "mermaid", render_mermaid(graph)
    start = svg.find("<svg")  # the drawing without its XML prologue, to inline it
    return "svg", svg[start:] if start >= 0 else svg


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from msgen.render import templates_dir

    return Environment(
        loader=FileSystemLoader(templates_dir() / "catalog"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _embedded_json(document: Any) -> str:
    """JSON safe inside a ``<script>`` element."""
    text = json.dumps(document, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def check_output(output: Path, *, force: bool) -> None:
    """Refuse to replace a directory that is not a catalog, unless ``force``."""
    if force or not output.exists():
        return
    if not output.is_dir():
        raise OutputError(f"{output} exists and is not a directory", hint="choose another --output")
    if not (output / MARKER).is_file() and any(output.iterdir()):
        raise OutputError(
            f"{output} holds files that are not a catalog msgen built",
            hint="choose another --output, or pass --force to replace it",
        )


def build_catalog(
    workspace: WorkspaceFile, output: Path, *, force: bool = False, live: bool = False
) -> CatalogResult:
    """Write the catalog into ``output``, replaced whole.

    ``live`` adds the script that reloads a page when ``msgen docs serve`` rebuilt the site.
    """
    from msgen.render import templates_dir

    output = output.resolve()
    check_output(output, force=force)
    verdicts, notes = _verdicts(workspace)
    pages = _pages(workspace, verdicts)
    graph_kind, graph = _graph(workspace)
    environment = _environment()
    common = {"system": workspace.model.name, "live": live}
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        assets = staging / "assets"
        shutil.copytree(templates_dir() / "catalog" / "assets", assets)
        written = ["index.html"]
        (staging / "index.html").write_text(
            environment.get_template("index.html.jinja").render(
                **common,
                root="",
                pages=pages,
                verdicts=verdicts,
                notes=notes,
                graph_kind=graph_kind,
                graph=graph,
            ),
            encoding="utf-8",
        )
        (staging / "services").mkdir()
        service_template = environment.get_template("service.html.jinja")
        for page in pages:
            relative = f"services/{page.name}.html"
            (staging / relative).write_text(
                service_template.render(
                    **common,
                    root="../",
                    page=page,
                    openapi=_embedded_json(page.openapi) if page.openapi else None,
                ),
                encoding="utf-8",
            )
            written.append(relative)
        (staging / MARKER).write_text("built by msgen docs build\n", encoding="utf-8")
        (staging / "version.txt").write_text(f"{time.time_ns()}\n", encoding="utf-8")
        _swap(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    failing = sum(1 for verdict in verdicts if not verdict.ok)
    return CatalogResult(output, tuple(written), graph_kind, failing, tuple(notes))


def _swap(staging: Path, output: Path) -> None:
    """Put ``staging`` where ``output`` is, the old one removed after."""
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        output.rename(old)
    staging.rename(output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    """What a rebuild depends on: ``msgen.yaml`` and every service's contract files."""
    from msgen.workspace import WORKSPACE_FILE

    found: list[tuple[str, int, int]] = []
    candidates = [root / WORKSPACE_FILE, *root.glob("*/contracts/*.json")]
    candidates += root.glob("*/contracts/upstreams/*.json")
    for path in candidates:
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


def serve_catalog(
    root: Path,
    output: Path,
    *,
    host: str,
    port: int,
    force: bool,
    interval: float,
    on_build: Callable[[CatalogResult, str], None],
    on_listen: Callable[[str], None],
    on_error: Callable[[MsgenError], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Build the catalog, serve it over HTTP, and rebuild it when ``fingerprint`` changes.

    Until ``stop`` is set (or Ctrl-C). A failed rebuild (a broken ``msgen.yaml``) is
    reported to ``on_error`` and the last site stays served.
    """
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from msgen.errors import PortInUseError
    from msgen.workspace import WORKSPACE_FILE, load_workspace

    def rebuild(reason: str, *, replace: bool) -> None:
        workspace = load_workspace(root / WORKSPACE_FILE)
        on_build(build_catalog(workspace, output, force=replace, live=True), reason)

    seen = fingerprint(root)
    rebuild("built", replace=force)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

    handler = functools.partial(Quiet, directory=str(output.resolve()))
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise PortInUseError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pass another --port",
        ) from exc
    thread = threading.Thread(target=server.serve_forever, name="catalog-http", daemon=True)
    thread.start()
    on_listen(f"http://{host}:{server.server_address[1]}/index.html")
    stop = stop or threading.Event()
    try:
        while not stop.wait(interval):
            now = fingerprint(root)
            if now == seen:
                continue
            seen = now
            try:
                rebuild("rebuilt", replace=True)
            except MsgenError as exc:
                if on_error is None:
                    raise
                on_error(exc)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
