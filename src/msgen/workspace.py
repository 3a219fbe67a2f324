"""The workspace file, ``msgen.yaml``: one typed model, found upward, saved atomically.

The file is parsed with ruamel.yaml's round-trip loader so that a save keeps the user's
comments, key order and formatting; the data is validated by one pydantic model, and a
validation error names the file, line and key. Saves write a temporary file next to the
workspace file and rename it over the old one, so a crash never leaves half a file; a
``msgen.yaml`` that is a symbolic link stays one (the file it points at gets the new text).

Commands that change the workspace hold its lock (:mod:`msgen.locking`) from load to save;
:meth:`WorkspaceFile.locked` takes it for a core function handed a loaded workspace.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from msgen.access import ServiceAuth, check_service_auth
from msgen.errors import (
    DomainError,
    InvalidNameError,
    UnknownServiceError,
    UsageError,
    WorkspaceError,
    WorkspaceExistsError,
    WorkspaceInvalidError,
    WorkspaceNotFoundError,
)
from msgen.faults import checkpoint
from msgen.inputs import shorten
from msgen.naming import validate_service_name, validate_system_name

if TYPE_CHECKING:
    from msgen.domain.model import Domain
    from msgen.locking import WaitReporter

__all__ = [
    "DEFAULT_AUTH",
    "DEV_ISSUER_PORT",
    "SCHEMA_FILE",
    "SCHEMA_MODELINE",
    "SCHEMA_VERSION",
    "WORKSPACE_FILE",
    "AuthSettings",
    "ConsumeAction",
    "ServiceEntry",
    "Workspace",
    "WorkspaceFile",
    "auth_settings",
    "create_workspace",
    "default_system_name",
    "find_workspace",
    "init_workspace",
    "load_workspace",
    "open_workspace",
    "set_aside",
]

WORKSPACE_FILE = "msgen.yaml"
SCHEMA_VERSION = 1
SCHEMA_FILE = ".msgen/msgen.schema.json"
"""The JSON Schema of ``msgen.yaml``, written beside it (relative to the workspace root)."""
SCHEMA_MODELINE = f"yaml-language-server: $schema={SCHEMA_FILE}"
"""The first line of a new ``msgen.yaml`` (a comment): editors find the schema through it."""

Db = Literal["sqlite", "postgres", "none"]
Broker = Literal["rabbitmq", "none"]
Discovery = Literal["consul", "static", "dns"]
Ci = Literal["github", "gitlab", "none"]


def _service_name(value: str) -> str:
    try:
        return validate_service_name(value)
    except InvalidNameError as exc:
        raise ValueError(exc.message) from None


ServiceName = Annotated[str, AfterValidator(_service_name)]
Kind = Literal["service", "gateway"]


class ConsumeAction(BaseModel):
    """What a consumed event does: run a command of one of this service's entities.

    ``command`` is ``Entity.command``. A transition command runs on the entity whose id is
    in the payload field ``id``; a creation command (no ``from:``) makes a new entity whose
    fields are taken from the payload: each field from the payload field of the same name,
    or from the one ``fields`` maps it to (``{order_id: id, amount: total}``).
    """

    model_config = ConfigDict(extra="forbid")

    command: Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9]*\.[a-z][a-z0-9_]*$")]
    id: Annotated[str | None, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = None
    fields: dict[str, Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] = Field(
        default_factory=dict
    )

    @property
    def entity(self) -> str:
        return self.command.split(".", 1)[0]

    @property
    def command_name(self) -> str:
        return self.command.split(".", 1)[1]


class ServiceEntry(BaseModel):
    """One service (or gateway) of the system, as recorded in ``msgen.yaml``."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = "service"
    path: str
    owner: str | None = None
    """Who answers for the service (a team, a person, a channel); the catalog shows it."""
    port: Annotated[int, Field(ge=1024, le=65535, strict=True)]
    version: str = "0.1.0"
    template_version: str | None = None
    db: Db = "sqlite"
    resource: str | None = None
    broker: Broker = "none"
    discovery: Discovery = "static"
    features: list[str] = Field(default_factory=list)
    publishes: list[str] = Field(default_factory=list)
    consumes: list[str] | dict[str, ConsumeAction | None] = Field(default_factory=list)
    """Event names, or a mapping of event name to what it does (see :class:`ConsumeAction`)."""
    upstreams: list[str] = Field(default_factory=list)
    auth: ServiceAuth | None = None
    """Scopes per entity and operation, upstreams called on the caller's behalf."""
    versions: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=dict)
    entities: dict[str, Any] = Field(default_factory=dict)
    """The domain exactly as written (short forms stay short); see :meth:`domain`."""

    @field_validator("entities", mode="before")
    @classmethod
    def _entities_mapping(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("path")
    @classmethod
    def _path_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("versions")
    @classmethod
    def _canary_versions(cls, value: dict[str, int]) -> dict[str, int]:
        import re

        for name in value:
            if len(name) > 20 or not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", name):
                raise ValueError(
                    f"version {name!r} must be up to 20 lowercase letters, digits and hyphens"
                )
        if value and sum(value.values()) != 100:
            weights = ", ".join(f"{name}: {weight}" for name, weight in value.items())
            total = sum(value.values())
            raise ValueError(f"canary weights must sum to 100 ({weights} sum to {total})")
        return value

    def to_data(self) -> dict[str, Any]:
        """The entry as written to the file: identity keys always, the rest when set.

        ``entities`` is written back as it was read, so the user's text stays theirs.
        """
        data = self.model_dump(mode="json", exclude_none=True, exclude={"entities"})
        data["entities"] = copy.deepcopy(self.entities)
        if isinstance(self.consumes, dict):
            data["consumes"] = {
                event: action.model_dump(mode="json", exclude_defaults=True) if action else None
                for event, action in self.consumes.items()
            }
        always = {"kind", "path", "port", "version", "db"}
        return {
            key: value
            for key, value in data.items()
            if key in always
            or value != type(self).model_fields[key].get_default(call_default_factory=True)
        }

    @property
    def consumed_events(self) -> list[str]:
        """The names of the events the service consumes, in the file's order."""
        return list(self.consumes)

    def consume_actions(self) -> dict[str, ConsumeAction]:
        """Consumed event -> the command it runs (events without one are left out)."""
        if not isinstance(self.consumes, dict):
            return {}
        return {event: action for event, action in self.consumes.items() if action is not None}

    def domain(self) -> Domain:
        """The service's entities, parsed and validated (raises :class:`DomainError`)."""
        from msgen.domain.syntax import parse_entities

        return parse_entities(self.entities)

    def feature_labels(self) -> list[str]:
        """What a person scanning ``msgen list`` wants to see about this service."""
        labels = [] if self.kind == "gateway" else [f"db:{self.db}"]
        if self.broker != "none":
            labels.append(f"broker:{self.broker}")
        if self.discovery != "static":
            labels.append(f"discovery:{self.discovery}")
        return [*labels, *self.features]


DEV_ISSUER_PORT = 8900
"""The port of msgen's local development issuer (``msgen dev up``, ``msgen token``)."""


class AuthSettings(BaseModel):
    """The token issuer every service trusts (OpenID Connect), and the audience of its tokens.

    ``provider: dev`` is msgen's local development issuer (keys under ``.msgen/issuer/``,
    run by ``msgen dev up``); ``oidc`` is any other issuer (Keycloak, Auth0, ...), found
    through ``<issuer>/.well-known/openid-configuration``.
    """

    model_config = ConfigDict(extra="forbid")

    provider: Literal["dev", "oidc"] = "dev"
    issuer: Annotated[str, Field(max_length=300)] = f"http://127.0.0.1:{DEV_ISSUER_PORT}"
    audience: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$")] = "msgen"

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        import re

        if not re.match(r'^https?://[^\s/?#"\\]+(/[^\s?#"\\]*)?$', value):
            raise ValueError("must be the issuer's http(s) URL, e.g. https://auth.example.com")
        return value  # exactly: a token's iss must equal it (Auth0's ends in a slash)


DEFAULT_AUTH = AuthSettings()
"""A new workspace's ``auth:``: msgen's development issuer on 127.0.0.1:8900."""


def auth_settings(
    provider: str, *, issuer: str | None = None, audience: str | None = None
) -> AuthSettings | None:
    """The ``auth:`` of ``msgen init --auth PROVIDER [--issuer URL] [--audience A]``.

    ``none`` is no ``auth:`` (open APIs) and takes no issuer; ``oidc`` needs the issuer's URL.
    """
    if provider == "none":
        if issuer is not None or audience is not None:
            raise UsageError("--issuer and --audience need --auth dev or --auth oidc")
        return None
    if provider == "oidc" and issuer is None:
        raise UsageError(
            "--auth oidc needs --issuer URL",
            hint="e.g. --issuer https://auth.example.com/realms/shop",
        )
    values: dict[str, str] = {"provider": provider}
    if issuer is not None:
        values["issuer"] = issuer
    if audience is not None:
        values["audience"] = audience
    try:
        return AuthSettings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise UsageError(f"--{field}: {message}") from None


class Workspace(BaseModel):
    """The whole system: its name and its services, keyed by service name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: Annotated[int, Field(alias="schema", strict=True)] = SCHEMA_VERSION
    name: str
    auth: AuthSettings | None = None
    """The token issuer; None: the services' APIs are open (``msgen init --auth none``)."""
    services: dict[ServiceName, ServiceEntry] = Field(default_factory=dict)

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value > SCHEMA_VERSION:
            raise ValueError(
                f"schema {value} is newer than this msgen understands ({SCHEMA_VERSION}); "
                "upgrade msgen"
            )
        if value < 1:
            raise ValueError("must be 1 or more")
        return value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        try:
            return validate_system_name(value)
        except InvalidNameError as exc:
            raise ValueError(exc.message) from None

    @field_validator("services", mode="before")
    @classmethod
    def _services_mapping(cls, value: Any) -> Any:
        return {} if value is None else value

    def require(self, names: Iterable[str]) -> None:
        """Raise UnknownServiceError for the first name that is not a service here."""
        for name in names:
            if name not in self.services:
                known = ", ".join(sorted(self.services)) or "none yet"
                raise UnknownServiceError(
                    f"unknown service {name!r} (the workspace has: {known})",
                    hint="check the name with 'msgen list'",
                )

    def auth_answers(
        self, kind: Kind, db: Db, entry: ServiceEntry | None = None
    ) -> dict[str, object]:
        """The templates' ``auth`` answers for a service or gateway of this workspace.

        With ``auth:``, a gateway and every service with a database verify tokens (the
        gateway only lets valid ones through; the services check them again with their
        scopes, as the service's own ``auth:`` sets them: :mod:`msgen.access`); a service
        without a database has no API to protect.
        """
        if self.auth is None or (kind == "service" and db == "none"):
            return {"auth": False}
        answers: dict[str, object] = {
            "auth": True,
            "auth_issuer": self.auth.issuer,
            "auth_audience": self.auth.audience,
        }
        if kind == "service":
            from msgen.access import access_answers

            answers.update(access_answers(entry))
        return answers

    def dev_issuer_port(self) -> tuple[int | None, str | None]:
        """Where msgen's development issuer serves ``auth.issuer``: its port, or the problem.

        The URL must be ``http://HOST:PORT`` with no path, on a port no service has
        (``msgen dev up`` runs the issuer there, and Compose publishes its container there).
        """
        from urllib.parse import urlsplit

        assert self.auth is not None
        parts = urlsplit(self.auth.issuer)
        try:
            port = parts.port
        except ValueError:
            port = None
        taken = [name for name, svc in self.services.items() if svc.port == port]
        if parts.scheme != "http":
            return None, "the development issuer serves plain HTTP: use an http:// URL"
        if not port:
            return None, "name the development issuer's port, e.g. http://127.0.0.1:8900"
        if parts.path:
            return None, "the development issuer serves at the root of its URL: no path"
        if taken:
            return None, f"port {port} is also the port of {taken[0]}"
        return port, None

    def used_ports(self) -> set[int]:
        """Ports taken by the services already in the workspace."""
        return {svc.port for svc in self.services.values()}


@dataclass(slots=True)
class WorkspaceFile:
    """A loaded (or new) ``msgen.yaml``: the typed model plus the round-trip document."""

    path: Path
    model: Workspace
    _document: Any = field(default=None, repr=False)
    _text: str | None = field(default=None, repr=False)
    """The file's text as last read or written, to notice changes made by someone else."""

    @property
    def root(self) -> Path:
        """The workspace directory (where ``msgen.yaml`` lives)."""
        return self.path.parent

    def service_dir(self, name: str) -> Path:
        """Absolute directory of a recorded service."""
        return (self.root / self.model.services[name].path).resolve()

    def relative_path(self, directory: Path) -> str:
        """How ``directory`` is recorded: relative to the root when inside it."""
        directory = directory.resolve()
        try:
            return directory.relative_to(self.root.resolve()).as_posix() or "."
        except ValueError:
            return directory.as_posix()

    @contextlib.contextmanager
    def locked(self, *, on_wait: WaitReporter | None = None) -> Iterator[WorkspaceFile]:
        """Hold the workspace lock, with the model re-read if the file changed meanwhile.

        A core function that changes the workspace runs its whole read-decide-write inside
        this; when its caller already holds the lock it goes straight on.
        """
        from msgen.locking import workspace_lock

        with workspace_lock(self.root, on_wait=on_wait):
            self.refresh()
            yield self

    def refresh(self) -> None:
        """Re-read ``msgen.yaml`` when it differs from what this object last read or wrote.

        Unsaved changes to the model are kept when the file is as it was.
        """
        if not self.path.is_file():
            return
        from msgen.inputs import read_text

        text = read_text(self.path, error=WorkspaceInvalidError)
        if self._text is not None and text == self._text:
            return  # as this object read or wrote it: nothing new to parse
        fresh = load_workspace(self.path)
        if fresh._text != self._text:
            self.model, self._document, self._text = fresh.model, fresh._document, fresh._text

    def save(self) -> None:
        """Write the model back atomically, keeping comments and order of the old file."""
        text = self.text()
        try:
            if SCHEMA_MODELINE in text:  # keep the schema the first line names up to date
                _write_schema(self.root / SCHEMA_FILE)
            _atomic_write(self.path, text)
        except OSError as exc:
            raise WorkspaceError(f"cannot write {self.path}: {exc.strerror}") from exc
        self._text = text

    def text(self) -> str:
        """The file as :meth:`save` would write it now (for a journaled save)."""
        from ruamel.yaml.comments import CommentedMap

        data = self.model.model_dump(mode="json", by_alias=True, exclude={"services", "auth"})
        if self.model.auth is not None:
            data["auth"] = self.model.auth.model_dump(mode="json")
        data["services"] = {name: svc.to_data() for name, svc in self.model.services.items()}
        if self._document is None:
            self._document = CommentedMap()
            self._document.yaml_set_start_comment(
                f"{SCHEMA_MODELINE}\nmsgen workspace: the services of this system. "
                "Edited by msgen; comments and order are kept."
            )
        self._document = _merge(self._document, data)
        return _dump(self._document)


def find_workspace(start: Path) -> Path | None:
    """The nearest ``msgen.yaml`` in ``start`` or its parents, like git finds ``.git``."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / WORKSPACE_FILE
        if candidate.is_file():
            return candidate
    return None


def open_workspace(start: Path) -> WorkspaceFile:
    """Find and load the workspace for ``start``, or raise WorkspaceNotFoundError."""
    path = find_workspace(start)
    if path is None:
        raise WorkspaceNotFoundError(
            f"no {WORKSPACE_FILE} in {start} or any parent directory",
            hint="run 'msgen init' to create a workspace here",
        )
    return load_workspace(path)


def create_workspace(
    root: Path, *, name: str, auth: AuthSettings | None = DEFAULT_AUTH
) -> WorkspaceFile:
    """A new, unsaved workspace in ``root``; refuses to replace an existing file.

    Secure by default: a new workspace's services require tokens from msgen's development
    issuer (``auth=None``: open APIs, ``msgen init --auth none``).
    """
    validate_system_name(name)
    path = root / WORKSPACE_FILE
    if path.exists():
        raise WorkspaceExistsError(f"{path} already exists", hint="edit it, or remove it first")
    try:
        model = Workspace(name=name, auth=auth)
    except ValidationError as exc:
        raise WorkspaceInvalidError(_first_message(exc)) from None
    return WorkspaceFile(path=path, model=model)


def default_system_name(directory: Path) -> str:
    """A valid system name derived from a directory name (``My Shop`` -> ``my-shop``)."""
    import re

    candidate = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")
    candidate = re.sub(r"^[^a-z]+", "", candidate)[:40].rstrip("-")
    try:
        return validate_system_name(candidate)
    except InvalidNameError:
        return "system"


_set_aside: dict[tuple[str, str], WorkspaceFile] = {}


def set_aside(loaded: WorkspaceFile) -> None:
    """Hand a loaded workspace its loader is done with to the next load of the same text.

    Recovery loads ``msgen.yaml`` (for the services' directories) just before the command
    loads it under the same lock: the command takes that load, not a second parse of the
    file. Only the last one set aside is kept, and it is taken once.
    """
    _set_aside.clear()
    if loaded._text is not None:
        _set_aside[(str(loaded.path), loaded._text)] = loaded


def load_workspace(path: Path) -> WorkspaceFile:
    """Parse and validate ``path``; errors name the file, line and key.

    The file is read as hostile input (:mod:`msgen.inputs`: bounded size and depth, UTF-8,
    no YAML aliases), then checked as a whole: ports, paths and the services named by
    upstreams and consumed events must agree.
    """
    from msgen.inputs import load_yaml, read_text

    text = read_text(path, error=WorkspaceInvalidError)
    spare = _set_aside.pop((str(path), text), None)
    if spare is not None:
        return spare
    document = load_yaml(text, path=path, error=WorkspaceInvalidError, round_trip=True)
    if document is None:
        raise WorkspaceInvalidError(f"{path}: the file is empty", hint="run 'msgen init' again")
    if not isinstance(document, dict):
        raise WorkspaceInvalidError(f"{path}:1: the top level must be a mapping of keys")
    try:
        model = Workspace.model_validate(_plain(document))
    except ValidationError as exc:
        raise WorkspaceInvalidError(_located_message(path, document, exc)) from None
    for name, service in model.services.items():
        try:
            service.domain()
        except DomainError as exc:
            where = ("services", name, "entities", *exc.loc)
            at, _ = _locate(document, where)
            raise DomainError(
                exc.problem, loc=where, source=f"{path}:{at}", hint=exc.hint
            ) from None
    problem = _cross_check(model)
    if problem is not None:
        loc, message, hint = problem
        line = _line_of(document, loc)
        key = ".".join(str(part) for part in loc)
        raise WorkspaceInvalidError(f"{path}:{line}: {key}: {message}", hint=hint)
    return WorkspaceFile(path=path, model=model, _document=document, _text=text)


def _cross_check(  # noqa: PLR0911 (one return per problem)
    model: Workspace,
) -> tuple[list[str | int], str, str | None] | None:
    """The first disagreement between services: (location, message, hint), or None."""
    ports: dict[int, str] = {}
    paths: dict[str, str] = {}
    known = ", ".join(sorted(model.services)) or "none"
    for name, svc in model.services.items():
        if svc.port in ports:
            return (
                ["services", name, "port"],
                f"port {svc.port} is also the port of {ports[svc.port]}",
                "give each service its own port",
            )
        ports[svc.port] = name
        where = os.path.normpath(svc.path)
        if where in paths:
            return (
                ["services", name, "path"],
                f"path {svc.path!r} is also the path of {paths[where]}",
                "give each service its own directory",
            )
        paths[where] = name
        for index, upstream in enumerate(svc.upstreams):
            if upstream not in model.services:
                return (
                    ["services", name, "upstreams", index],
                    f"upstream {shorten(repr(upstream))} is not a service of this workspace "
                    f"(it has: {known})",
                    "remove it, or add that service first",
                )
        for index, event in enumerate(svc.consumes):
            producer = event.split(".", 1)[0]
            at: str | int = event if isinstance(svc.consumes, dict) else index
            if "." not in event or producer not in model.services:
                return (
                    ["services", name, "consumes", at],
                    f"consumed event {shorten(repr(event))} does not name a service of this "
                    f"workspace as SERVICE.EVENT (it has: {known})",
                    "events are named after the service that publishes them, e.g. "
                    "orders.order_created; add that service first",
                )
        problem = check_service_auth(svc)
        if problem is not None:
            return (["services", name, "auth", *problem[0]], *problem[1:])
        for event, action in svc.consume_actions().items():
            problem = _check_action(svc, action)
            if problem is not None:
                return (["services", name, "consumes", event, *problem[0]], *problem[1:])
    return None


def _check_action(  # noqa: PLR0911 (one return per problem)
    svc: ServiceEntry, action: ConsumeAction
) -> tuple[list[str | int], str, str | None] | None:
    """Whether a consumed event's command exists in the service's domain, and fits it."""
    domain = svc.domain()
    entity = domain.entity(action.entity)
    if entity is None:
        known = ", ".join(e.name for e in domain.entities) or "none"
        return (["command"], f"{action.entity} is not an entity of this service ({known})", None)
    command = entity.command(action.command_name)
    if command is None:
        known = ", ".join(c.name for c in entity.commands) or "none"
        return (
            ["command"],
            f"{entity.name} has no command {action.command_name!r} (its commands: {known})",
            f"declare it under entities.{entity.name}.commands",
        )
    if command.creates and action.id is not None:
        return (["id"], f"{action.command} creates a {entity.name}: it takes no id", None)
    if not command.creates and action.id is None:
        return (
            ["id"],
            f"{action.command} changes an existing {entity.name}: name the payload field "
            "holding its id",
            "e.g. {command: " + action.command + ", id: order_id}",
        )
    if not command.creates and action.fields:
        return (["fields"], "only a creation command (no from:) takes fields", None)
    for target in action.fields:
        field = entity.field(target)
        if field is None or target in entity.commanded:
            return (["fields", target], f"{target!r} is not a field {action.command} sets", None)
    return None


def _line_of(document: Any, loc: list[str | int]) -> int:
    """The 1-based line of the key at ``loc`` (or of its deepest parent found)."""
    line = 1
    node = document
    for part in loc:
        position = _position(node, part)
        if position is None:
            break
        line = position + 1
        node = node[part]
    return line


def _write_schema(path: Path) -> None:
    """Write the shipped JSON Schema of ``msgen.yaml`` to ``path`` unless it is there already."""
    from msgen.workspace_schema import SHIPPED_SCHEMA

    text = SHIPPED_SCHEMA.read_text(encoding="utf-8")
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    _atomic_write(path, text)


def _plain(node: Any) -> Any:
    """Round-trip containers to plain dicts and lists for validation."""
    if isinstance(node, dict):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return node


def _first_message(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return str(error["msg"]).removeprefix("Value error, ")


def _located_message(path: Path, document: Any, exc: ValidationError) -> str:
    """``msgen.yaml:7: services.orders.port: <problem>`` for the first error."""
    errors = exc.errors()
    error = errors[0]
    loc = [part for part in error["loc"] if not (isinstance(part, str) and "[" in part)]
    line, key = _locate(document, tuple(loc))
    key = shorten(key)
    message = shorten(str(error["msg"]).removeprefix("Value error, "), 200)
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif "input" in error and not isinstance(error["input"], dict | list):
        message = f"{message} (got {shorten(repr(error['input']))})"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}:{line}: {key}: {message}{more}"


def _locate(document: Any, loc: tuple[str | int, ...]) -> tuple[int, str]:
    """The line of the deepest key of ``loc`` found in ``document``, and the dotted key."""
    line = 1
    node = document
    for part in loc:
        position = _position(node, part)
        if position is None:
            break
        line = position + 1
        node = node[part]
    return line, ".".join(str(part) for part in loc) or "(top level)"


def _position(node: Any, part: str | int) -> int | None:
    try:
        if isinstance(node, dict) and part in node:
            return int(node.lc.key(part)[0])  # type: ignore[attr-defined]
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            return int(node.lc.item(part)[0])  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError):
        return None
    return None


def _merge(node: Any, data: Any) -> Any:
    """Update a round-trip node in place with ``data``, keeping comments where keys stay."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap) and isinstance(data, dict):
        for key in [key for key in node if key not in data]:
            del node[key]
        for key, value in data.items():
            node[key] = _merge(node[key], value) if key in node else _fresh(value)
        return node
    if isinstance(node, CommentedSeq) and isinstance(data, list) and list(node) == data:
        return node
    if not isinstance(data, dict | list) and isinstance(node, type(data)) and node == data:
        return node  # the same scalar: keep how it was written (quotes, a date, 1.50)
    return _fresh(data)


def _fresh(value: Any) -> Any:
    """New YAML nodes: mappings in block style, short scalar lists in flow style."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[key] = _fresh(item)
        if isinstance(value, CommentedMap) and value.fa.flow_style():
            mapping.fa.set_flow_style()  # a short form, such as a command's
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq(_fresh(item) for item in value)
        if all(not isinstance(item, dict | list) for item in value):
            seq.fa.set_flow_style()
        return seq
    if type(value) is str:  # plain unless YAML needs quotes (a replaced value keeps no style)
        from ruamel.yaml.scalarstring import PlainScalarString

        return PlainScalarString(value)
    return value


def _dump(document: Any) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync, then rename over it.

    A symbolic link is written through: the temporary file goes beside the file it points
    at, which the rename replaces, so the link stays a link.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    checkpoint("workspace.write")
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.msgen-{os.getpid()}-", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        checkpoint("workspace.rename")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def init_workspace(
    root: Path,
    *,
    name: str | None = None,
    auth: AuthSettings | None = DEFAULT_AUTH,
    on_wait: WaitReporter | None = None,
) -> WorkspaceFile:
    """Create and save a new ``msgen.yaml`` in ``root`` (created if missing), under its lock."""
    workspace = create_workspace(root, name=name or default_system_name(root), auth=auth)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create {root}: {exc.strerror}") from exc
    from msgen.locking import workspace_lock

    with workspace_lock(root, on_wait=on_wait):
        workspace = create_workspace(root, name=workspace.model.name, auth=auth)
        workspace.save()
    return workspace
