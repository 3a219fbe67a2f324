"""A fresh render without copier: ``msgen new`` writes what ``copier copy`` writes.

:func:`msgen.render.render_template` renders msgen's own templates with
:mod:`msgen.template_render` (copier is not imported); copier renders any template that
renderer does not cover. Both must give the same tree, byte for byte and mode for mode, and
refuse the same answers with the same message.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from msgen import render
from msgen.errors import RenderError
from msgen.render import render_template, templates_dir
from tests.test_quick_update import VARIANTS, answers_of


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled templates go to the test's own cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


GATEWAY: dict[str, dict[str, Any]] = {
    "two-upstreams": {
        "service_name": "edge",
        "package_name": "edge",
        "port": 8000,
        "discovery": "static",
        "upstreams": {"billing": "http://127.0.0.1:8002", "orders": "http://127.0.0.1:8001"},
        "tracing": True,
        "metrics": True,
        "msgen_version": "0.1.0",
        "ci": "github",
        "auth": False,
    },
    "consul-auth-no-upstreams": {
        "service_name": "edge",
        "package_name": "edge",
        "port": 8000,
        "discovery": "consul",
        "upstreams": {},
        "tracing": False,
        "metrics": False,
        "msgen_version": "0.1.0",
        "ci": "none",
        "auth": True,
        "auth_issuer": "http://127.0.0.1:8900",
        "auth_audience": "shop",
    },
}

CASES = [("service", name, answers_of(v)) for name, v in sorted(VARIANTS.items())] + [
    ("gateway", name, data) for name, data in sorted(GATEWAY.items())
]


@pytest.mark.parametrize(
    ("template", "data"),
    [(t, d) for t, _, d in CASES],
    ids=[f"{t}-{n}" for t, n, _ in CASES],
)
def test_a_fresh_render_is_copiers_byte_for_byte_and_mode_for_mode(
    template: str, data: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = render_template(template, data=data, target=tmp_path / "ours" / "svc")
    monkeypatch.setattr("msgen.template_render.load_template", lambda _root: None)
    theirs = render_template(template, data=data, target=tmp_path / "theirs" / "svc")
    assert ours.files == theirs.files
    assert snapshot(ours.target) == snapshot(theirs.target)


def test_msgen_new_does_not_import_copier(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from msgen.render import render_template\n"
        "from tests.test_quick_update import VARIANTS, answers_of\n"
        f"render_template('service', data=answers_of(VARIANTS['starter-sqlite']), "
        f"target=Path({str(tmp_path / 'svc')!r}))\n"
        "print('copier' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        env={**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
    assert (tmp_path / "svc" / ".copier-answers.yml").is_file()


REFUSED = [
    ("port", 70000),
    ("service_name", "Orders"),
    ("db", "mysql"),
    ("broker", "kafka"),
    ("resource_class", "order"),
]


@pytest.mark.parametrize(("question", "value"), REFUSED, ids=[q for q, _ in REFUSED])
def test_answers_copier_refuses_are_refused_with_copiers_words(
    question: str, value: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = {**answers_of(VARIANTS["starter-sqlite"]), question: value}
    with pytest.raises(RenderError) as ours:
        render_template("service", data=data, target=tmp_path / "ours")
    monkeypatch.setattr("msgen.template_render.load_template", lambda _root: None)
    with pytest.raises(RenderError) as theirs:
        render_template("service", data=data, target=tmp_path / "theirs")
    assert f"'{question}'" in str(ours.value)
    assert str(ours.value) == str(theirs.value)
    assert not (tmp_path / "ours").exists()
    assert not (tmp_path / "theirs").exists()


def test_a_template_the_renderer_does_not_cover_goes_to_copier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    copy = tmp_path / "templates"
    shutil.copytree(templates_dir(), copy)
    service = copy / "service"
    (service / "copier.yml").write_text(
        (service / "copier.yml").read_text() + "\n_exclude:\n  - Dockerfile\n"
    )
    monkeypatch.setenv(render.TEMPLATES_ENV, str(copy))
    result = render_template(
        "service", data=answers_of(VARIANTS["starter-sqlite"]), target=tmp_path / "svc"
    )
    assert "README.md" in result.files
    assert "Dockerfile" not in result.files  # copier honoured the setting msgen's renderer lacks
