"""Pin what the gateway template renders, and keep its shared modules in step.

An intended template change updates these snapshots in the same commit:
``python -m pytest tests/test_gateway_template.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from msgen.render import render_template, templates_dir

KEY_FILES = [
    ".copier-answers.yml",
    "pyproject.toml",
    "Dockerfile",
    ".env.example",
    "README.md",
    "src/gateway/app.py",
    "src/gateway/proxy.py",
    "src/gateway/settings.py",
    "src/gateway/resilience.py",
    "tests/conftest.py",
]

# Generated projects are independent, so the gateway carries its own copy of these
# modules (and their tests); the copies must not drift from the service template's.
SHARED = [
    "src/{{package_name}}/breaker.py",
    "src/{{package_name}}/{% if metrics %}metrics.py{% endif %}",
    "tests/{% if metrics %}test_metrics.py{% endif %}.jinja",
    "src/{{package_name}}/http_client.py.jinja",
    "src/{{package_name}}/ratelimit.py",
    "src/{{package_name}}/consul.py",
    "src/{{package_name}}/discovery.py.jinja",
    "src/{{package_name}}/registration.py.jinja",
    "src/{{package_name}}/resilience.py.jinja",
    "src/{{package_name}}/health.py",
    "src/{{package_name}}/logging_config.py",
    "src/{{package_name}}/problems.py",
    "src/{{package_name}}/main.py.jinja",
    "tests/test_breaker.py.jinja",
    "tests/test_http_client.py.jinja",
    "tests/test_ratelimit.py.jinja",
    "tests/test_registration.py.jinja",
    "tests/test_discovery.py.jinja",
    "tests/test_logging.py.jinja",
    "src/{{package_name}}/{% if tracing %}telemetry.py{% endif %}.jinja",
    "{% if ci == 'github' %}.github{% endif %}/workflows/ci.yml.jinja",
    "{% if ci == 'gitlab' %}.gitlab-ci.yml{% endif %}.jinja",
]


def rendered(tmp_path: Path, discovery: str = "static") -> Path:
    data = {
        "service_name": "gateway",
        "port": 8000,
        "discovery": discovery,
        "upstreams": {"orders": "http://127.0.0.1:8001", "order-items": "http://127.0.0.1:8002"},
        "msgen_version": "0.0.0-snapshot",
    }
    return render_template("gateway", data=data, target=tmp_path / "gateway").target


@pytest.mark.parametrize("path", SHARED)
def test_shared_modules_are_identical_to_the_service_templates(path: str) -> None:
    root = templates_dir()
    gateway = (root / "gateway" / "template" / path).read_bytes()
    assert gateway == (root / "service" / "template" / path).read_bytes()


def test_file_tree(tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    root = rendered(tmp_path)
    tree = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert tree == snapshot


@pytest.mark.parametrize("name", KEY_FILES)
def test_key_file(tmp_path: Path, name: str, snapshot: SnapshotAssertion) -> None:
    path = rendered(tmp_path) / name
    if not path.exists():
        pytest.fail(f"{name} is a key file but the template no longer renders it")
    assert path.read_text().replace(str(templates_dir()), "<templates>") == snapshot


def test_consul_discovery_is_the_default_setting(tmp_path: Path) -> None:
    settings = (rendered(tmp_path, "consul") / "src/gateway/resilience.py").read_text()
    assert 'discovery: Discovery = "consul"' in settings
    assert "rate_limit_enabled: bool = True" in settings
