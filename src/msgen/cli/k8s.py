"""``msgen k8s``: Kubernetes manifests (a kustomize base)."""

from __future__ import annotations

from typing import Annotated

import typer

from msgen.cli._outputs import report_outcomes
from msgen.cli._recover import open_workspace_recovered
from msgen.cli._ui import boundary, console

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Kubernetes manifests for the system.")


@app.command("generate")
@boundary
def generate(
    force: Annotated[
        bool, typer.Option("--force", help="Replace generated files even if edited by hand.")
    ] = False,
) -> None:
    """Write the kustomize base under deploy/k8s/ from msgen.yaml."""
    from msgen.deploy import generate_k8s

    report_outcomes(generate_k8s(open_workspace_recovered(), force=force))
    console().print("Apply with: kubectl apply -k deploy/k8s")
