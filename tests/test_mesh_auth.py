"""``msgen mesh generate`` with ``auth:``: the mesh validates and requires the system's tokens.

The new objects validate against Istio's official CRD schemas (``../shared/schemas``), carry
the workspace's issuer and audience, and compose with the service-account policies: a small
model of Istio's authorization semantics (RequestAuthentication, then DENY, then ALLOW)
checks that a call needs an allowed caller *and* a token, that health checks need neither
token nor more than today, and that without ``auth:`` nothing changes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from msgen.cli import app
from msgen.manifests.istio import istio_files
from msgen.workspace import AuthSettings, Workspace
from tests.manifestkit import THREE_SERVICES, istio_errors, yaml_documents
from tests.test_manifest_properties import workspaces

ISSUER = "https://auth.example.com/realms/shop"
AUDIENCE = "shop"
NEW_KINDS = {"RequestAuthentication"}


def with_auth(text: str, **auth: str) -> Workspace:
    data = yaml.safe_load(text)
    data["auth"] = auth
    return Workspace.model_validate(data)


def by_path(workspace: Workspace) -> dict[str, dict[str, Any]]:
    return {f.path: yaml.safe_load(f.text) for f in istio_files(workspace)}


def istio_objects(workspace: Workspace) -> list[dict[str, Any]]:
    return [
        doc
        for f in istio_files(workspace)
        for doc in yaml_documents(f.text)
        if doc["kind"] != "Kustomization"
    ]


@pytest.fixture
def plain() -> Workspace:
    return Workspace.model_validate(yaml.safe_load(THREE_SERVICES))


@pytest.fixture
def oidc() -> Workspace:
    return with_auth(THREE_SERVICES, provider="oidc", issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def dev() -> Workspace:
    return with_auth(
        THREE_SERVICES, provider="dev", issuer="http://127.0.0.1:8900", audience="shop"
    )


# ---------------------------------------------------------------------------------------
# The objects


@pytest.mark.parametrize("provider", ["dev", "oidc"])
def test_every_object_validates_against_the_istio_crds(provider: str) -> None:
    workspace = with_auth(THREE_SERVICES, provider=provider, issuer=ISSUER, audience=AUDIENCE)
    docs = istio_objects(workspace)
    assert {doc["kind"] for doc in docs} == {
        "VirtualService",
        "DestinationRule",
        "Gateway",
        "PeerAuthentication",
        "AuthorizationPolicy",
        "RequestAuthentication",
    }
    assert [e for doc in docs for e in istio_errors(doc)] == []


def test_the_crd_schema_catches_a_misspelled_jwt_rule_field(dev: Workspace) -> None:
    files = by_path(dev)
    broken = copy.deepcopy(files["deploy/istio/orders/requestauthentication.yaml"])
    rule = broken["spec"]["jwtRules"][0]
    rule["jwksUrl"] = rule.pop("jwksUri")
    assert any("jwksUrl" in e for e in istio_errors(broken))
    policy = copy.deepcopy(files["deploy/istio/orders/authorizationpolicy-require-jwt.yaml"])
    policy["spec"]["rules"][0]["from"][0]["source"]["notRequestPrincipal"] = ["*"]
    assert istio_errors(policy) != []


def test_each_service_gets_a_request_authentication_with_issuer_and_audience(
    oidc: Workspace,
) -> None:
    files = by_path(oidc)
    for name in oidc.services:
        request_auth = files[f"deploy/istio/{name}/requestauthentication.yaml"]
        assert request_auth["apiVersion"] == "security.istio.io/v1"
        assert request_auth["kind"] == "RequestAuthentication"
        assert request_auth["metadata"]["name"] == name
        assert "namespace" not in request_auth["metadata"]
        assert request_auth["spec"]["selector"] == {"matchLabels": {"app": name}}
        # The same selector as the service-account policy written without auth.
        allow = files[f"deploy/istio/{name}/authorizationpolicy.yaml"]["spec"]
        assert request_auth["spec"]["selector"] == allow["selector"]
        assert request_auth["spec"]["jwtRules"] == [
            {"issuer": ISSUER, "audiences": [AUDIENCE], "forwardOriginalToken": True}
        ]


def test_dev_names_the_jwks_and_oidc_leaves_it_to_discovery() -> None:
    dev = with_auth(THREE_SERVICES, provider="dev", issuer="http://10.0.0.5:8900", audience="a")
    rule = by_path(dev)["deploy/istio/billing/requestauthentication.yaml"]["spec"]["jwtRules"][0]
    assert rule["jwksUri"] == "http://10.0.0.5:8900/.well-known/jwks.json"
    assert rule["issuer"] == "http://10.0.0.5:8900"
    # An issuer ending in a slash (as Auth0's do) is kept exactly: iss must equal it.
    auth0 = with_auth(THREE_SERVICES, provider="oidc", issuer="https://x.eu.auth0.com/")
    rule = by_path(auth0)["deploy/istio/billing/requestauthentication.yaml"]["spec"]["jwtRules"][0]
    assert rule["issuer"] == "https://x.eu.auth0.com/"
    assert "jwksUri" not in rule and "jwks" not in rule and "jwks_uri" not in rule
    assert rule["audiences"] == ["msgen"]  # AuthSettings' default audience
    slash = with_auth(THREE_SERVICES, provider="dev", issuer="http://issuer.dev:8900/")
    rule = by_path(slash)["deploy/istio/orders/requestauthentication.yaml"]["spec"]["jwtRules"][0]
    assert rule["jwksUri"] == "http://issuer.dev:8900/.well-known/jwks.json"


def test_each_service_gets_a_deny_policy_for_requests_without_a_token(dev: Workspace) -> None:
    files = by_path(dev)
    for name in dev.services:
        policy = files[f"deploy/istio/{name}/authorizationpolicy-require-jwt.yaml"]
        assert policy["metadata"]["name"] == f"{name}-require-jwt"
        assert policy["spec"] == {
            "selector": {"matchLabels": {"app": name}},
            "action": "DENY",
            "rules": [
                {
                    "from": [{"source": {"notRequestPrincipals": ["*"]}}],
                    "to": [{"operation": {"notPaths": ["/health/*"]}}],
                }
            ],
        }


def test_the_ingress_gateway_validates_tokens_when_msgen_writes_an_ingress(dev: Workspace) -> None:
    files = by_path(dev)
    request_auth = files["deploy/istio/requestauthentication-ingress.yaml"]
    assert request_auth["metadata"]["name"] == "shop-ingress"
    # Istio's root namespace: the selector then matches the ingress pods in any namespace.
    assert request_auth["metadata"]["namespace"] == "istio-system"
    gateway = files["deploy/istio/gateway.yaml"]["spec"]
    assert request_auth["spec"]["selector"] == {"matchLabels": gateway["selector"]}
    assert request_auth["spec"]["jwtRules"] == [
        {
            "issuer": "http://127.0.0.1:8900",
            "audiences": ["shop"],
            "jwksUri": "http://127.0.0.1:8900/.well-known/jwks.json",
            "forwardOriginalToken": True,
        }
    ]


def test_no_ingress_request_authentication_without_a_gateway_service() -> None:
    data = yaml.safe_load(THREE_SERVICES)
    del data["services"]["gateway"]
    data["auth"] = {"provider": "oidc", "issuer": ISSUER}
    files = by_path(Workspace.model_validate(data))
    assert "deploy/istio/gateway.yaml" not in files
    assert "deploy/istio/requestauthentication-ingress.yaml" not in files
    assert "deploy/istio/orders/requestauthentication.yaml" in files


def test_the_kustomization_lists_the_new_files(dev: Workspace) -> None:
    files = by_path(dev)
    listed = set(files["deploy/istio/kustomization.yaml"]["resources"])
    assert {
        "requestauthentication-ingress.yaml",
        "orders/requestauthentication.yaml",
        "orders/authorizationpolicy-require-jwt.yaml",
        "gateway/requestauthentication.yaml",
    } <= listed
    assert listed == {p.removeprefix("deploy/istio/") for p in files} - {"kustomization.yaml"}


def test_without_auth_nothing_is_added_and_the_rest_is_unchanged(
    plain: Workspace, dev: Workspace
) -> None:
    before = {f.path: f.text for f in istio_files(plain)}
    assert not [p for p in before if "requestauthentication" in p or "require-jwt" in p]
    assert {doc["kind"] for doc in istio_objects(plain)}.isdisjoint(NEW_KINDS)
    after = {f.path: f.text for f in istio_files(dev)}
    added = set(after) - set(before)
    assert set(before) <= set(after)
    assert added == {
        "deploy/istio/requestauthentication-ingress.yaml",
        *(f"deploy/istio/{name}/requestauthentication.yaml" for name in dev.services),
        *(f"deploy/istio/{name}/authorizationpolicy-require-jwt.yaml" for name in dev.services),
    }
    # The ALLOW policies and every other object are byte-identical: only the list changes.
    changed = {p for p in before if before[p] != after[p]}
    assert changed == {"deploy/istio/kustomization.yaml"}


# ---------------------------------------------------------------------------------------
# What the policies admit: Istio's evaluation, for the fields msgen writes


@dataclass(frozen=True)
class Call:
    """One HTTP request arriving at a workload's sidecar over mTLS."""

    caller: str  # the calling workload's service account
    path: str
    token: tuple[str, str] | None = None  # (iss, aud) of a correctly signed, unexpired JWT


INGRESS_SA = "istio-ingressgateway-service-account"


def _string_match(pattern: str, value: str) -> bool:
    """Istio's string match: exact, ``prefix*``, ``*suffix``, or ``*`` (any non-empty)."""
    if pattern == "*":
        return value != ""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _any(patterns: list[str], value: str | None) -> bool:
    return value is not None and any(_string_match(p, value) for p in patterns)


def _source_matches(source: dict[str, list[str]], principal: str, subject: str | None) -> bool:
    checks = {
        "principals": lambda v: _any(v, principal),
        "notPrincipals": lambda v: not _any(v, principal),
        "requestPrincipals": lambda v: _any(v, subject),
        "notRequestPrincipals": lambda v: not _any(v, subject),
    }
    unknown = set(source) - set(checks)
    assert not unknown, f"the model does not know {unknown}"
    return all(checks[key](value) for key, value in source.items())


def _operation_matches(operation: dict[str, list[str]], path: str) -> bool:
    checks = {
        "paths": lambda v: _any(v, path),
        "notPaths": lambda v: not _any(v, path),
    }
    unknown = set(operation) - set(checks)
    assert not unknown, f"the model does not know {unknown}"
    return all(checks[key](value) for key, value in operation.items())


def _rule_matches(rule: dict[str, Any], principal: str, subject: str | None, path: str) -> bool:
    assert set(rule) <= {"from", "to"}, rule
    sources = [entry["source"] for entry in rule.get("from", [])]
    operations = [entry["operation"] for entry in rule.get("to", [])]
    return (not sources or any(_source_matches(s, principal, subject) for s in sources)) and (
        not operations or any(_operation_matches(o, path) for o in operations)
    )


def _selects(spec: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = spec.get("selector", {}).get("matchLabels", {})
    return all(labels.get(key) == value for key, value in wanted.items())


def decide(objects: list[dict[str, Any]], labels: dict[str, str], call: Call) -> int:
    """The sidecar's answer to ``call``: 401 (bad token), 403 (denied) or 200 (admitted).

    RequestAuthentication: a token no rule accepts is refused, a valid one sets the request
    principal ``<iss>/<sub>``, no token leaves it unset. Then any matching DENY rule refuses;
    then, if the workload has ALLOW policies, one of their rules must match (an ALLOW policy
    without rules matches nothing).
    """
    mine = [o for o in objects if _selects(o["spec"], labels)]
    subject = None
    jwt_rules = [
        r for o in mine if o["kind"] == "RequestAuthentication" for r in o["spec"]["jwtRules"]
    ]
    if call.token is not None and jwt_rules:
        iss, aud = call.token
        if not any(r["issuer"] == iss and aud in r.get("audiences", [aud]) for r in jwt_rules):
            return 401
        subject = f"{iss}/client-1"
    principal = f"cluster.local/ns/shop/sa/{call.caller}"
    policies = [o["spec"] for o in mine if o["kind"] == "AuthorizationPolicy"]
    for policy in policies:
        assert policy.get("action", "ALLOW") in {"ALLOW", "DENY"}, policy
    for policy in policies:
        if policy.get("action") == "DENY" and any(
            _rule_matches(rule, principal, subject, call.path) for rule in policy.get("rules", [])
        ):
            return 403
    allows = [p for p in policies if p.get("action", "ALLOW") == "ALLOW"]
    if allows and not any(
        _rule_matches(rule, principal, subject, call.path)
        for policy in allows
        for rule in policy.get("rules", [])
    ):
        return 403
    return 200


def app_labels(name: str) -> dict[str, str]:
    return {"app": name, "version": "v1", "app.kubernetes.io/part-of": "shop"}


GOOD = (ISSUER, AUDIENCE)


@pytest.mark.parametrize(
    ("service", "call", "status"),
    [
        # The gateway service admits any caller, with a token.
        ("gateway", Call(INGRESS_SA, "/orders/orders", GOOD), 200),
        ("gateway", Call(INGRESS_SA, "/orders/orders"), 403),
        ("gateway", Call(INGRESS_SA, "/orders/orders", (ISSUER, "other")), 401),
        ("gateway", Call(INGRESS_SA, "/orders/orders", ("https://evil.example", AUDIENCE)), 401),
        # Service to service: an allowed service account and a token.
        ("orders", Call("billing", "/orders/1", GOOD), 200),
        ("orders", Call("gateway", "/orders", GOOD), 200),
        ("orders", Call("billing", "/orders/1"), 403),
        ("orders", Call("stranger", "/orders/1", GOOD), 403),
        ("billing", Call("orders", "/invoices", GOOD), 403),
        # The gateway's readiness check calls its upstreams' health without a token.
        ("orders", Call("gateway", "/health/ready"), 200),
        ("billing", Call("gateway", "/health/live"), 200),
        ("orders", Call("stranger", "/health/ready"), 403),  # as without auth
        ("orders", Call("gateway", "/healthz"), 403),
        ("orders", Call("gateway", "/api/health/ready"), 403),
        # /metrics through the sidecar was closed to Prometheus before and stays so: it is
        # scraped from the agent's merged endpoint on :15020, outside these policies.
        ("orders", Call("prometheus", "/metrics", None), 403),
    ],
)
def test_tokens_and_service_accounts_are_both_required(
    oidc: Workspace, service: str, call: Call, status: int
) -> None:
    assert decide(istio_objects(oidc), app_labels(service), call) == status


def test_the_model_tells_deny_from_a_naive_allow(oidc: Workspace) -> None:
    """With an ALLOW "requestPrincipals: *" instead, an allowed caller needs no token."""
    naive = []
    for obj in istio_objects(oidc):
        changed = copy.deepcopy(obj)
        if obj["metadata"]["name"].endswith("-require-jwt"):
            changed["spec"]["action"] = "ALLOW"
            changed["spec"]["rules"] = [{"from": [{"source": {"requestPrincipals": ["*"]}}]}]
        naive.append(changed)
    assert decide(naive, app_labels("orders"), Call("billing", "/orders/1")) == 200
    assert decide(naive, app_labels("orders"), Call("stranger", "/orders/1", GOOD)) == 200
    assert decide(istio_objects(oidc), app_labels("orders"), Call("billing", "/orders/1")) == 403


@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    workspace=workspaces(),
    provider=st.sampled_from(["dev", "oidc"]),
    path=st.sampled_from(["/items", "/health/ready", "/health/live", "/metrics", "/"]),
)
def test_auth_adds_the_token_requirement_and_nothing_else(
    workspace: Workspace, provider: str, path: str
) -> None:
    auth = AuthSettings(provider=provider, issuer=ISSUER, audience=AUDIENCE)
    secured = workspace.model_copy(update={"auth": auth})
    before, after = istio_objects(workspace), istio_objects(secured)
    assert [e for doc in after for e in istio_errors(doc)] == []
    callers = [*workspace.services, "stranger", INGRESS_SA]
    for name in workspace.services:
        for caller in callers:
            for token in (None, GOOD):
                call = Call(caller, path, token)
                today = decide(before, app_labels(name), call)
                expected = 200 if today == 200 and (token or path.startswith("/health/")) else 403
                assert decide(after, app_labels(name), call) == expected, (name, call)


# ---------------------------------------------------------------------------------------
# Through the CLI


AUTH_BLOCK = f"auth:\n  provider: oidc\n  issuer: {ISSUER}\n  audience: {AUDIENCE}\n"


def test_mesh_generate_writes_the_objects_and_removes_them_with_auth(
    tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    secured = THREE_SERVICES.replace("services:\n", AUTH_BLOCK + "services:\n", 1)
    root: Path = tree({"msgen.yaml": secured})
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["mesh", "generate"])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((root / "deploy/istio/orders/requestauthentication.yaml").read_text())
    assert written["spec"]["jwtRules"][0]["issuer"] == ISSUER
    assert (root / "deploy/istio/requestauthentication-ingress.yaml").is_file()
    assert (root / "deploy/istio/billing/authorizationpolicy-require-jwt.yaml").is_file()

    (root / "msgen.yaml").write_text(THREE_SERVICES)
    result = runner.invoke(app, ["mesh", "generate"])
    assert result.exit_code == 0, result.output
    on_disk = {
        p.relative_to(root).as_posix(): p.read_text()
        for p in (root / "deploy/istio").rglob("*")
        if p.is_file() and p.name != ".msgen-outputs.json"  # msgen's record of what it wrote
    }
    plain = Workspace.model_validate(yaml.safe_load(THREE_SERVICES))
    assert on_disk == {f.path: f.text for f in istio_files(plain)}
