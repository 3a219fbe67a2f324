"""``msgen mesh``: Istio traffic management, security and canary releases."""

from __future__ import annotations

from typing import Annotated

import typer

from msgen.cli._outputs import report_outcomes
from msgen.cli._ui import boundary, console, escape, locked_workspace

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Istio service mesh: routing, mTLS, canaries.")

_FORCE_HELP = "Replace generated files even if edited by hand."


@app.command("generate")
@boundary
def generate(
    force: Annotated[bool, typer.Option("--force", help=_FORCE_HELP)] = False,
) -> None:
    """Write the Istio objects under deploy/istio/ from msgen.yaml."""
    from msgen.deploy import generate_mesh

    with locked_workspace() as workspace:
        report_outcomes(generate_mesh(workspace, force=force))
    console().print("Apply with: kubectl apply -k deploy/istio")


def _weights(weights: dict[str, int]) -> str:
    return ", ".join(f"{version} {weight}%" for version, weight in weights.items()) or "v1 100%"


@app.command("canary")
@boundary
def canary(
    service: Annotated[str, typer.Argument(help="The service to shift traffic for.")],
    version: Annotated[str, typer.Option("--version", help="The canary version, e.g. v2.")],
    weight: Annotated[
        int | None, typer.Option("--weight", help="Percent of traffic for it, 0-100.")
    ] = None,
    promote: Annotated[
        bool, typer.Option("--promote", help="Send it all traffic and retire the old versions.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help=_FORCE_HELP)] = False,
) -> None:
    """Set canary weights in msgen.yaml and regenerate the mesh (and k8s) manifests."""
    from msgen.deploy import set_canary

    with locked_workspace() as workspace:
        result, outcomes = set_canary(
            workspace, service, version=version, weight=weight, promote=promote, force=force
        )
        console().print(
            f"{escape(result.service)}: {escape(_weights(result.before))} -> "
            f"{escape(_weights(result.after))}",
            soft_wrap=True,
        )
    report_outcomes(outcomes, quiet_unchanged=True)
