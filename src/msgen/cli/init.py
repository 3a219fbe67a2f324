"""``msgen init``: create a workspace file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from msgen.cli._ui import boundary, console, waiting_for_lock

AuthChoice = Literal["dev", "oidc", "none"]


@boundary
def init(
    path: Annotated[
        Path, typer.Argument(help="Directory of the new workspace (created if missing).")
    ] = Path(),
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="System name (default: from the directory name)."),
    ] = None,
    auth: Annotated[
        AuthChoice,
        typer.Option(
            "--auth",
            help="Who issues the tokens every API requires: dev (msgen's development issuer, "
            "run by dev up), oidc (your issuer, --issuer URL), or none (open APIs).",
            case_sensitive=False,
        ),
    ] = "dev",
    issuer: Annotated[
        str | None,
        typer.Option(
            "--issuer",
            help="The issuer URL (with --auth oidc; default for dev: http://127.0.0.1:8900).",
        ),
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option("--audience", help="The audience of the system's tokens (default: msgen)."),
    ] = None,
) -> None:
    """Create msgen.yaml, the workspace file that records the system."""
    from msgen.workspace import auth_settings, init_workspace

    settings = auth_settings(auth, issuer=issuer, audience=audience)
    workspace = init_workspace(path.absolute(), name=name, auth=settings, on_wait=waiting_for_lock)
    console().print(
        f"Created workspace [bold]{workspace.model.name}[/] in {workspace.path}", soft_wrap=True
    )
    if settings is None:
        console().print("APIs are open: no tokens (auth: none)")
    else:
        how = (
            "get one with [bold]msgen token --scope SERVICE:read[/]"
            if settings.provider == "dev"
            else "the issuer grants them"
        )
        console().print(
            f"APIs require tokens from {settings.issuer} (audience {settings.audience}); {how}",
            soft_wrap=True,
        )
    console().print("Next: [bold]msgen new service NAME[/]")
