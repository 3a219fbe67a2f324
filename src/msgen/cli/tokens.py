"""``msgen token``: an access token from msgen's development issuer, for curl and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msgen.cli._ui import boundary, print_json


@boundary
def token(
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            "-s",
            metavar="SCOPE",
            help="A scope the token grants, e.g. orders:read or orders:write (repeatable).",
        ),
    ] = None,
    sub: Annotated[
        str, typer.Option("--sub", metavar="SUBJECT", help="The subject: who the token stands for.")
    ] = "developer",
    ttl: Annotated[
        str,
        typer.Option(
            "--ttl",
            metavar="DURATION",
            help="How long it is valid: 30s, 15m, 1h or 1d (at most 1d).",
        ),
    ] = "1h",
    audience: Annotated[
        str | None,
        typer.Option(
            "--audience",
            metavar="AUDIENCE",
            help="The audience (default: auth.audience in msgen.yaml).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the token and its claims as JSON.")
    ] = False,
) -> None:
    """Print an access token signed by msgen's development issuer (auth.provider: dev).

    Without --scope the token grants nothing (to see a service answer 403).
    """
    from msgen.errors import UsageError
    from msgen.issuer import check_scopes, load_keys, mint_token, parse_ttl, read_claims
    from msgen.workspace import open_workspace

    workspace = open_workspace(Path.cwd())
    auth = workspace.model.auth
    if auth is None:
        raise UsageError(
            "the workspace has no auth: section, so no issuer to sign tokens for",
            hint="add 'auth: {provider: dev}' to msgen.yaml",
        )
    if auth.provider != "dev":
        raise UsageError(f"the workspace's issuer is {auth.issuer}; get tokens from it")
    seconds = parse_ttl(ttl)
    scopes = check_scopes(part for value in scope or [] for part in value.split())
    if not sub:
        raise UsageError("--sub is empty: a token needs a subject")
    keys = load_keys(workspace.root)
    access_token = mint_token(
        keys,
        issuer=auth.issuer,
        audience=audience or auth.audience,
        subject=sub,
        scopes=scopes,
        ttl_seconds=seconds,
    )
    if not as_json:
        typer.echo(access_token)
        return
    claims = read_claims(access_token)
    print_json(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": seconds,
            "scope": claims["scope"],
            "kid": keys.signing.kid,
            "claims": claims,
        }
    )
