"""``msgen k8s``: Kubernetes manifests (a kustomize base)."""

from __future__ import annotations

from typing import Annotated

import typer

from msgen.cli._outputs import report_outcomes
from msgen.cli._ui import boundary, console, err_console, escape, locked_workspace

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
    from msgen.manifests.k8s import (
        K8S_DIR,
        dev_issuer_warning,
        secret_commands,
        sqlite_warnings,
    )

    with locked_workspace() as workspace:
        report_outcomes(generate_k8s(workspace, force=force))
    model = workspace.model
    for warning in [dev_issuer_warning(model), *sqlite_warnings(model)]:
        if warning is not None:
            err_console().print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    commands = secret_commands(model)
    if commands:
        console().print("Next: create each service's Secret (put the values in place of ...):")
    else:
        console().print("Next:")
    for command in [*commands, f"kubectl apply -k {K8S_DIR}"]:
        console().print(f"  {escape(command)}", soft_wrap=True)
