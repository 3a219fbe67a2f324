"""``msgen new gateway``: render the API gateway in front of the workspace's services.

The gateway knows the services of the workspace at render time (recorded as its
``upstreams``; ``msgen update`` routes the ones added since); their addresses come from
settings (``UPSTREAM_<NAME>_URL``, defaulting to the workspace ports on 127.0.0.1, or to DNS
names), or from Consul.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from msgen.locking import lock_workspace
from msgen.naming import validate_service_name
from msgen.render import render_template
from msgen.scaffold import adopt_render, ci_features, place, record, upstream_urls, workspace_for
from msgen.template_versions import template_version
from msgen.workspace import Ci, Discovery, ServiceEntry, Workspace

__all__ = [
    "GATEWAY_PORT",
    "NewGatewayOptions",
    "NewGatewayResult",
    "new_gateway",
    "rendered_upstreams",
    "routed_services",
]

GATEWAY_PORT = 8000


@dataclass(frozen=True, slots=True, kw_only=True)
class NewGatewayOptions:
    """Everything ``msgen new gateway`` can be asked for."""

    name: str = "gateway"
    port: int | None = None
    discovery: Discovery = "static"
    output: Path | None = None
    force: bool = False
    dry_run: bool = False
    ci: Ci = "github"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewGatewayResult:
    """What ``new_gateway`` did (or, for a dry run, would do)."""

    name: str
    port: int
    target: Path
    upstreams: dict[str, str]
    files: tuple[str, ...]
    workspace: Path
    workspace_created: bool
    dry_run: bool
    adopted: bool = False


def routed_services(workspace: Workspace, gateway: str) -> tuple[str, ...]:
    """The services ``gateway`` routes: every service of the workspace, in its order.

    Other gateways are not routed. ``msgen update`` re-derives a gateway's routes from this,
    so a service added after the gateway is routed once the gateway is updated.
    """
    return tuple(
        name
        for name, entry in workspace.services.items()
        if entry.kind == "service" and name != gateway
    )


def rendered_upstreams(urls: dict[str, str]) -> dict[str, str]:
    """The ``upstreams`` answer the gateway is rendered with: ``urls`` sorted by name.

    Copier writes the answers file with its keys sorted, and ``msgen update`` renders the
    recorded answers as the base of its three-way merge: a gateway rendered in another order
    would differ from that base, and the difference would be replayed as the user's edit
    (keeping a removed service's settings, or conflicting).
    """
    return dict(sorted(urls.items()))


def new_gateway(options: NewGatewayOptions, *, cwd: Path) -> NewGatewayResult:
    """Render a gateway for every service of the workspace and record it (under its lock)."""
    with lock_workspace(cwd):
        return _new_gateway(options, cwd=cwd)


def _new_gateway(options: NewGatewayOptions, *, cwd: Path) -> NewGatewayResult:
    name = validate_service_name(options.name)
    workspace, created = workspace_for(cwd)
    placement = place(
        workspace,
        name,
        cwd=cwd,
        port=options.port,
        output=options.output,
        force=options.force,
        preferred_port=GATEWAY_PORT,
    )
    services = routed_services(workspace.model, name)
    upstreams = upstream_urls(workspace, services, discovery=options.discovery)
    data = {
        "service_name": name,
        "package_name": name.replace("-", "_"),
        "port": placement.port,
        "discovery": options.discovery,
        "upstreams": rendered_upstreams(upstreams),
        "tracing": True,
        "metrics": True,
        "msgen_version": template_version("gateway"),
        "ci": options.ci,
        **workspace.model.auth_answers("gateway", "none"),
    }
    adopted = None
    if not (options.force or options.dry_run):
        adopted = adopt_render(workspace, name, target=placement.target, data=data)
    result = adopted or render_template(
        "gateway",
        data=data,
        target=placement.target,
        force=options.force,
        dry_run=options.dry_run,
    )
    if not options.dry_run:
        entry = ServiceEntry(
            kind="gateway",
            path=workspace.relative_path(placement.target),
            port=placement.port,
            db="none",
            discovery=options.discovery,
            upstreams=list(upstreams),
            features=["tracing", "metrics", *ci_features(options.ci)],
        )
        record(workspace, name, entry, result=result, template="gateway")
    return NewGatewayResult(
        name=name,
        port=placement.port,
        target=placement.target,
        upstreams=upstreams,
        files=result.files,
        workspace=workspace.path,
        workspace_created=created,
        dry_run=options.dry_run,
        adopted=result.adopted,
    )
