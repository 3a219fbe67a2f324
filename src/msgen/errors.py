"""The one error tree of msgen.

Every error the core raises on purpose derives from :class:`MsgenError`. The CLI has a
single boundary that turns it into one red line (plus the hint) on stderr and an exit
code; library errors are translated where they enter msgen (``raise ... from exc``).

::

    MsgenError                      exit 1
    ├── UsageError                  exit 2: the command line asked for something invalid
    │   ├── InvalidNameError        a service/system/resource name breaks a naming rule
    │   ├── PortError               a port is taken or outside 1024-65535
    │   ├── DuplicateServiceError   the name is already in the workspace
    │   ├── UnknownServiceError     a named service is not in the workspace
    │   ├── TargetExistsError       the target directory exists and is not empty
    │   ├── DomainError             a service's entities/fields break the domain rules
    │   ├── DirtyServiceError       `update`/`add` on a service with uncommitted changes
    │   ├── MigrationError          a domain change no migration can apply without losing data
    │   ├── InputFileError          a file msgen reads (answers, .env, .gitignore) is
    │   │                           unreadable, too large, not UTF-8 or malformed
    │   └── WorkspaceInvalidError   msgen.yaml is unreadable, not valid YAML, breaks the
    │                               schema or contradicts itself (also a WorkspaceError)
    ├── WorkspaceError
    │   ├── WorkspaceNotFoundError  no msgen.yaml here or in any parent directory
    │   ├── WorkspaceExistsError    msgen init where a msgen.yaml already exists
    │   ├── WorkspaceInvalidError   (see above: exit 2, like every other bad input)
    │   └── WorkspaceLockedError    another msgen kept the workspace locked too long
    ├── RenderError                 copier failed to render a template
    ├── UpdateError                 `msgen update`/`add` could not re-apply the template
    │   └── TemplateBaseMissingError  the template version a service came from is not stored
    ├── PortInUseError              a port msgen must listen on is taken by another process
    ├── DevRunError                 a local service could not be prepared or started
    ├── OutputError                 a generated file could not be written
    ├── GraphvizMissingError        `dot` is needed for SVG/PNG graphs
    ├── ContractError               a service's event contracts could not be written
    │   ├── ContractFileMissingError    a service has no contracts/events.json
    │   └── ContractFileInvalidError    contracts/events.json is unreadable or malformed
    ├── DockerError
    │   ├── DockerUnavailableError  the Docker engine is not reachable
    │   └── ComposeNotFoundError    neither `docker compose` nor `docker-compose` is installed
    ├── ConsulError                 Consul is unreachable or refused a request
    ├── AuthError                   the development issuer's keys or clients cannot be
    │                               read, written or used
    └── BrokerError                 RabbitMQ is unreachable, refused a request, or lacks a
        │                           queue msgen needs (``msgen dlq``)
        └── DeadLetterNotFoundError no message of that id in a dead-letter queue
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BrokerError",
    "ComposeNotFoundError",
    "ConsulError",
    "ContractError",
    "ContractFileInvalidError",
    "ContractFileMissingError",
    "DeadLetterNotFoundError",
    "DevRunError",
    "DirtyServiceError",
    "DockerError",
    "DockerUnavailableError",
    "DomainError",
    "DuplicateServiceError",
    "GraphvizMissingError",
    "InputFileError",
    "InvalidNameError",
    "MigrationError",
    "MsgenError",
    "OutputError",
    "PortError",
    "PortInUseError",
    "RenderError",
    "TargetExistsError",
    "TemplateBaseMissingError",
    "UnknownServiceError",
    "UpdateError",
    "UsageError",
    "WorkspaceError",
    "WorkspaceExistsError",
    "WorkspaceInvalidError",
    "WorkspaceLockedError",
    "WorkspaceNotFoundError",
]


class MsgenError(Exception):
    """Base of every error msgen raises on purpose.

    ``code`` is stable (scripts read it from ``--json`` output), ``hint`` tells the user
    what to do next, ``exit_code`` is what the CLI exits with.
    """

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MsgenError):
    """The command line asked for something msgen refuses; nothing was written."""

    code = "usage"
    exit_code = 2


class InvalidNameError(UsageError):
    """A name breaks one of the naming rules (see :mod:`msgen.naming`)."""

    code = "invalid-name"


class PortError(UsageError):
    """A port is already used in the workspace or outside the allowed range."""

    code = "port"


class DuplicateServiceError(UsageError):
    """The workspace already has a service of that name."""

    code = "duplicate-service"


class UnknownServiceError(UsageError):
    """A service named on the command line is not in the workspace."""

    code = "unknown-service"


class TargetExistsError(UsageError):
    """The target directory exists and is not empty."""

    code = "target-exists"


class DomainError(UsageError):
    """A service's domain (``entities:`` in msgen.yaml, or fields on the command line) is bad.

    An unknown type, a reserved name, a reference to nothing, a default out of bounds...

    ``loc`` is the key path of the problem (inside a service's ``entities`` mapping, or from
    the workspace root once the workspace has located it), ``problem`` the bare reason, and
    ``source`` where it was found (``PATH/msgen.yaml:LINE``), if known.
    """

    code = "domain-invalid"

    def __init__(
        self,
        problem: str,
        *,
        loc: tuple[str | int, ...] = (),
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.loc = loc
        self.source = source
        where = ".".join(str(part) for part in loc)
        message = f"{where}: {problem}" if where else problem
        super().__init__(f"{source}: {message}" if source else message, hint=hint)

    def within(self, *prefix: str | int) -> DomainError:
        """The same error, located under ``prefix`` (an entity, then ``fields``, ...)."""
        return DomainError(
            self.problem, loc=(*prefix, *self.loc), source=self.source, hint=self.hint
        )


class DirtyServiceError(UsageError):
    """The service has uncommitted git changes; an update would mix with them."""

    code = "dirty"


class InputFileError(UsageError):
    """A file msgen reads is unreadable, too large, not UTF-8 or not well-formed.

    Files a person edits are hostile input (see :mod:`msgen.inputs`): ``msgen.yaml`` has its
    own WorkspaceInvalidError; this is the error of the others.
    """

    code = "input-file"


class MigrationError(UsageError):
    """A domain change cannot become a migration that keeps every row (the reason says why)."""

    code = "migration"


class WorkspaceError(MsgenError):
    """Something is wrong with finding, reading or writing ``msgen.yaml``."""

    code = "workspace"


class WorkspaceNotFoundError(WorkspaceError):
    """No ``msgen.yaml`` in the directory or any of its parents."""

    code = "workspace-not-found"


class WorkspaceExistsError(WorkspaceError):
    """``msgen init`` found a workspace file already there."""

    code = "workspace-exists"


class WorkspaceInvalidError(UsageError, WorkspaceError):
    """``msgen.yaml`` is not valid YAML, does not match the schema, or contradicts itself.

    A usage error (exit 2) like any other bad input, and a WorkspaceError by subject.
    """

    code = "workspace-invalid"


class WorkspaceLockedError(WorkspaceError):
    """Another msgen held the workspace lock longer than msgen was willing to wait."""

    code = "workspace-locked"


class RenderError(MsgenError):
    """Copier could not render a template; nothing was written."""

    code = "render"


class UpdateError(MsgenError):
    """Re-applying the template to an existing service failed; nothing was written."""

    code = "update"


class TemplateBaseMissingError(UpdateError):
    """The template version a service was generated with is not in the template store."""

    code = "template-base-missing"


class PortInUseError(MsgenError):
    """A port a service must listen on is held by another process."""

    code = "port-in-use"


class DevRunError(MsgenError):
    """A service could not be prepared or started by ``msgen dev up``."""

    code = "dev"


class OutputError(MsgenError):
    """A generated file (manifest, compose file, ``.env``) could not be written."""

    code = "output"


class DockerError(MsgenError):
    """Docker or Docker Compose cannot be used."""

    code = "docker"


class DockerUnavailableError(DockerError):
    """The Docker engine does not answer (not running, or DOCKER_HOST points elsewhere)."""

    code = "docker-unavailable"


class ComposeNotFoundError(DockerError):
    """Neither Compose v2 (``docker compose``) nor v1 (``docker-compose``) is installed."""

    code = "compose-not-found"


class GraphvizMissingError(MsgenError):
    """Graphviz's ``dot`` is needed for SVG and PNG output and is not installed."""

    code = "graphviz-missing"


class ContractError(MsgenError):
    """A service's event contracts (``contracts/events.json``) cannot be written or used."""

    code = "contract"


class ContractFileMissingError(ContractError):
    """A service with events has no ``contracts/events.json``."""

    code = "contract-missing"


class ContractFileInvalidError(ContractError):
    """``contracts/events.json`` cannot be read, is not JSON, or has the wrong shape."""

    code = "contract-invalid"


class ConsulError(MsgenError):
    """Consul could not be reached, refused the token, or rejected the request."""

    code = "consul"


class AuthError(MsgenError):
    """The development issuer's keys or clients (``.msgen/issuer/``) cannot be used.

    Unreadable or malformed ``keys.json``/``clients.json``, or a file that cannot be written.
    A refused request of the command line (no ``auth:`` in the workspace, a bad ``--ttl``)
    is a UsageError instead.
    """

    code = "auth"


class BrokerError(MsgenError):
    """RabbitMQ could not be reached, refused the login or a request, or lacks a queue.

    aio-pika's and aiormq's errors become this one where msgen talks to the broker
    (:mod:`msgen.amqp`, for ``msgen dlq``), so the CLI shows one line, never a traceback.
    """

    code = "broker"


class DeadLetterNotFoundError(BrokerError):
    """No message of the given id is in the service's dead-letter queue."""

    code = "dead-letter-not-found"
