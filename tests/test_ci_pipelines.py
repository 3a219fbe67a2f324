"""Generated CI pipelines: valid by SchemaStore's schemas (check-jsonschema, offline) and wired
to what the service's own tests read."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from msgen.gateway import NewGatewayOptions, new_gateway
from tests.servicekit import render

GITHUB = ".github/workflows/ci.yml"
GITLAB = ".gitlab-ci.yml"
VARIANTS = {
    "orders": {"db": "postgres"},  # PostgreSQL and RabbitMQ
    "stock": {"db": "sqlite", "broker": "none"},  # PostgreSQL only: TEST_DATABASE_URL
    "info": {"db": "none"},  # no service containers
}


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One workspace per CI flavour with the three kinds of service and a gateway."""
    roots = {}
    for ci in ("github", "gitlab", "none"):
        root = tmp_path_factory.mktemp(ci)
        for name, options in VARIANTS.items():
            render(root, name, ci=ci, **options)
        new_gateway(NewGatewayOptions(ci=ci), cwd=root)  # type: ignore[arg-type]
        roots[ci] = root
    return roots


def check_jsonschema(schema: str, files: list[Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_github_workflows_are_valid(systems: dict[str, Path]) -> None:
    files = sorted(systems["github"].glob(f"*/{GITHUB}"))
    assert len(files) == 4
    assert not list(systems["github"].glob(f"*/{GITLAB}"))
    check_jsonschema("vendor.github-workflows", files)


def test_gitlab_pipelines_are_valid(systems: dict[str, Path]) -> None:
    files = sorted(systems["gitlab"].glob(f"*/{GITLAB}"))
    assert len(files) == 4
    assert not list(systems["gitlab"].glob("*/.github"))
    check_jsonschema("vendor.gitlab-ci", files)


def test_ci_none_renders_no_pipeline(systems: dict[str, Path]) -> None:
    root = systems["none"]
    assert not list(root.glob("*/.github")) and not list(root.glob(f"*/{GITLAB}"))


def test_ci_is_recorded_in_the_workspace(systems: dict[str, Path]) -> None:
    for ci in ("github", "gitlab"):
        services = yaml.safe_load((systems[ci] / "msgen.yaml").read_text())["services"]
        assert all(f"ci:{ci}" in entry["features"] for entry in services.values())
    services = yaml.safe_load((systems["none"] / "msgen.yaml").read_text())["services"]
    assert not any(
        f.startswith("ci:") for entry in services.values() for f in entry.get("features", [])
    )


def variables_read_by_tests(service: Path) -> set[str]:
    text = "".join(p.read_text() for p in (service / "tests").glob("*.py"))
    return set(re.findall(r'environ\.get\("(TEST_[A-Z_]+)"\)', text))


def expected_containers(name: str) -> set[str]:
    options = VARIANTS.get(name, {"db": "none"})
    containers = set()
    if options["db"] != "none":
        containers.add("postgres")
    if options["db"] != "none" and options.get("broker", "rabbitmq") == "rabbitmq":
        containers.add("rabbitmq")
    return containers


def check_urls(
    env: dict[str, str], credentials: dict[str, str], package: str, host: Callable[[str], str]
) -> None:
    if "TEST_DATABASE_URL" in env:
        user, password = credentials["POSTGRES_USER"], credentials["POSTGRES_PASSWORD"]
        assert credentials["POSTGRES_DB"] == f"{package}_test"
        assert env["TEST_DATABASE_URL"] == (
            f"postgresql+asyncpg://{user}:{password}@{host('postgres')}:5432/{package}_test"
        )
    if "TEST_BROKER_URL" in env:
        # guest may only log in over loopback: the container needs another user
        user, password = credentials["RABBITMQ_DEFAULT_USER"], credentials["RABBITMQ_DEFAULT_PASS"]
        assert user != "guest"
        assert env["TEST_BROKER_URL"] == f"amqp://{user}:{password}@{host('rabbitmq')}:5672/"


@pytest.mark.parametrize("name", [*VARIANTS, "gateway"])
def test_github_workflow_lints_tests_against_containers_builds_and_pushes_on_tags(
    systems: dict[str, Path], name: str
) -> None:
    service = systems["github"] / name
    text = (service / GITHUB).read_text()
    workflow = yaml.safe_load(text)
    jobs = workflow["jobs"]
    assert set(jobs) == {"lint", "test", "image"}
    lint = [step.get("run") for step in jobs["lint"]["steps"]]
    assert "ruff check ." in lint and "ruff format --check ." in lint
    assert "mypy" in lint
    assert "python -m pytest" in [step.get("run") for step in jobs["test"]["steps"]]
    containers = jobs["test"].get("services", {})
    assert set(containers) == expected_containers(name)
    env = jobs["test"].get("env", {})
    assert set(env) == (variables_read_by_tests(service) if containers else set())
    credentials = {
        **containers.get("postgres", {}).get("env", {}),
        **containers.get("rabbitmq", {}).get("env", {}),
    }
    check_urls(env, credentials, name, lambda _: "localhost")
    for container in containers.values():
        assert container["ports"]  # published on the runner: the tests use localhost
        assert "--health-cmd" in container["options"]
    # push only on v* tags, with the built-in token: no secrets to configure
    assert "v*" in workflow[True]["push"]["tags"]  # YAML 1.1 reads `on:` as True
    build = jobs["image"]["steps"][-1]
    assert build["with"]["push"] == "${{ startsWith(github.ref, 'refs/tags/v') }}"
    assert jobs["image"]["permissions"]["packages"] == "write"
    assert set(re.findall(r"secrets\.\w+", text)) == {"secrets.GITHUB_TOKEN"}


@pytest.mark.parametrize("name", [*VARIANTS, "gateway"])
def test_gitlab_pipeline_lints_tests_against_containers_builds_and_pushes_on_tags(
    systems: dict[str, Path], name: str
) -> None:
    service = systems["gitlab"] / name
    pipeline = yaml.safe_load((service / GITLAB).read_text())
    assert pipeline["stages"] == ["lint", "test", "build"]
    assert pipeline["lint"]["script"] == ["ruff check .", "ruff format --check .", "mypy"]
    test = pipeline["test"]
    assert test["script"] == ["python -m pytest"]
    containers = {s["alias"]: s["name"] for s in test.get("services", [])}
    assert set(containers) == expected_containers(name)
    env = {k: v for k, v in test.get("variables", {}).items() if k.startswith("TEST_")}
    assert set(env) == (variables_read_by_tests(service) if containers else set())
    check_urls(env, test.get("variables", {}), name, lambda alias: alias)
    script = "\n".join(pipeline["container-image"]["script"])
    assert 'if [ -n "$CI_COMMIT_TAG" ]' in script
    assert '--password-stdin "$CI_REGISTRY"' in script
    assert 'docker push "$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG"' in script
