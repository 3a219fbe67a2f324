"""Who may call what: a service's scopes and its calls to upstreams, from ``msgen.yaml``.

With ``auth:`` in the workspace every API route needs a token with a scope:
``<service>:read`` to read, ``<service>:write`` to change. A service's own ``auth:``
overrides that per entity and per operation, and says which upstreams it calls on the
caller's behalf::

    services:
      orders:
        auth:
          scopes:
            Order:
              read: orders:read        # every read of Order (list, get, children, events)
              write: orders:manage     # every change (create, update, delete, commands)
              delete: orders:admin     # one operation: list, get, create, update, delete,
              pay: payments:capture    # or one of the entity's commands
          forward: [billing]           # these calls carry the caller's token

Calls to the other upstreams carry the service's own token (the client-credentials
grant). :func:`check_service_auth` checks the section against the service's domain, and
:func:`access_answers` turns it into the templates' answers. Nothing here prints or exits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from msgen.domain.model import Entity
    from msgen.workspace import ServiceEntry, Workspace

__all__ = [
    "ENTITY_KEYS",
    "OPERATIONS",
    "ServiceAuth",
    "access_answers",
    "check_service_auth",
    "client_scopes",
    "default_scopes",
    "service_scopes",
    "system_scopes",
]

Scope = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$")]
"""One OAuth 2.0 scope token (RFC 6749 section 3.3, without spaces or quotes)."""

OPERATIONS = ("list", "get", "create", "update", "delete")
"""The CRUD operations of an entity, as keys of its scopes."""
ENTITY_KEYS = ("read", "write")
"""Keys of an entity's scopes that cover all its reads, or all its changes."""


class ServiceAuth(BaseModel):
    """A service's ``auth:``: scopes per entity and operation, and upstreams to forward to."""

    model_config = ConfigDict(extra="forbid")

    scopes: dict[str, dict[str, Scope]] = Field(default_factory=dict)
    """Entity -> {read | write | operation | command: scope}."""
    forward: list[str] = Field(default_factory=list)
    """Upstreams called on the caller's behalf: they get the caller's token."""


def default_scopes(service: str) -> tuple[str, str]:
    """The read and write scopes of ``service`` when ``msgen.yaml`` sets none."""
    return f"{service}:read", f"{service}:write"


def service_scopes(name: str, svc: ServiceEntry) -> list[str]:
    """Every scope the API of ``svc`` asks for: the defaults and those set in its ``auth:``."""
    scopes = list(default_scopes(name))
    if svc.auth is not None:
        for mapping in svc.auth.scopes.values():
            scopes.extend(mapping.values())
    return list(dict.fromkeys(scopes))


def client_scopes(workspace: Workspace, name: str) -> list[str]:
    """The scopes the issuer grants ``name``'s client: every scope of its upstreams' APIs.

    A gateway's client has none: it forwards its callers' tokens, and its own calls (the
    readiness checks) need no scope.
    """
    svc = workspace.services[name]
    if svc.kind != "service":
        return []
    scopes = [
        scope
        for upstream in svc.upstreams
        if upstream in workspace.services
        for scope in service_scopes(upstream, workspace.services[upstream])
    ]
    return list(dict.fromkeys(scopes))


def system_scopes(workspace: Workspace) -> list[str]:
    """Every scope of every service's API, in the file's order."""
    scopes = [
        scope
        for name, svc in workspace.services.items()
        if svc.kind == "service"
        for scope in service_scopes(name, svc)
    ]
    return list(dict.fromkeys(scopes))


def _keys_of(entity: Entity) -> list[str]:
    commands = [command.name for command in entity.commands if not command.creates]
    return [*ENTITY_KEYS, *OPERATIONS, *commands]


def check_service_auth(  # noqa: PLR0911 (one return per problem)
    svc: ServiceEntry,
) -> tuple[list[str | int], str, str | None] | None:
    """The first problem of a service's ``auth:`` (location under it, message, hint)."""
    auth = svc.auth
    if auth is None:
        return None
    if svc.kind == "gateway" and (auth.scopes or auth.forward):
        return (
            ["scopes" if auth.scopes else "forward"],
            "a gateway checks no scopes and always forwards its callers' tokens",
            "set scopes on the services behind it",
        )
    for index, upstream in enumerate(auth.forward):
        if upstream not in svc.upstreams:
            known = ", ".join(svc.upstreams) or "none"
            return (
                ["forward", index],
                f"{upstream!r} is not an upstream of this service (its upstreams: {known})",
                "add it with msgen add upstream, or remove it here",
            )
    if not auth.scopes:
        return None
    if svc.db == "none":
        return (["scopes"], "this service has no database, so no API to set scopes on", None)
    domain = svc.domain()
    for entity_name, mapping in auth.scopes.items():
        entity = domain.entity(entity_name)
        if entity is None:
            known = ", ".join(e.name for e in domain.entities) or "none"
            return (
                ["scopes", entity_name],
                f"{entity_name} is not an entity of this service ({known})",
                None,
            )
        keys = _keys_of(entity)
        for key in mapping:
            if key not in keys:
                creates = entity.command(key)
                if creates is not None:
                    return (
                        ["scopes", entity_name, key],
                        f"{entity_name}.{key} creates from events: it has no route to guard",
                        None,
                    )
                return (
                    ["scopes", entity_name, key],
                    f"{key!r} is not an operation of {entity_name} (use one of: {', '.join(keys)})",
                    None,
                )
    return None


def access_answers(svc: ServiceEntry | None) -> dict[str, Any]:
    """The templates' ``auth_scopes`` and ``auth_forward_upstreams`` for ``svc``."""
    auth = svc.auth if svc is not None else None
    if auth is None:
        return {"auth_scopes": {}, "auth_forward_upstreams": []}
    return {
        "auth_scopes": {entity: dict(mapping) for entity, mapping in auth.scopes.items()},
        "auth_forward_upstreams": list(auth.forward),
    }
