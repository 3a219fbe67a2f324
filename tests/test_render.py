from pathlib import Path

import pytest

from msgen.errors import RenderError, TargetExistsError
from msgen.naming import derive_names
from msgen.render import render_template, templates_dir
from msgen.scaffold import template_data

DATA = template_data(derive_names("orders"), port=8001, db="sqlite")


def test_templates_are_found() -> None:
    assert (templates_dir() / "service" / "copier.yml").is_file()


def test_unknown_template_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="unknown template 'nope'"):
        render_template("nope", data=DATA, target=tmp_path / "x")


def test_render_creates_parents_and_reports_files(tmp_path: Path) -> None:
    result = render_template("service", data=DATA, target=tmp_path / "a" / "b" / "orders")
    assert result.created
    assert "pyproject.toml" in result.files
    assert (tmp_path / "a" / "b" / "orders" / "pyproject.toml").is_file()
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["orders"]


def _half_written(out: Path) -> None:
    out.mkdir(parents=True)
    (out / "half.txt").write_text("x")


@pytest.mark.parametrize("renderer", ["msgen", "copier"])
def test_failed_render_removes_scratch_and_created_parents(
    renderer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copier
    import jinja2

    from msgen.template_render import Template

    def broken_copier(src_path: str, dst_path: Path, **kwargs: object) -> None:
        _half_written(Path(dst_path))
        raise copier.errors.CopierError("template exploded")

    def broken_msgen(self: Template, answers: object, *, out: Path, src_path: str) -> None:
        _half_written(out)
        raise jinja2.TemplateError("template exploded")

    if renderer == "copier":
        monkeypatch.setattr("msgen.template_render.load_template", lambda _root: None)
    monkeypatch.setattr(copier, "run_copy", broken_copier)
    monkeypatch.setattr(Template, "write", broken_msgen)
    with pytest.raises(RenderError, match="template exploded"):
        render_template("service", data=DATA, target=tmp_path / "new" / "orders")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("renderer", ["msgen", "copier"])
def test_interrupted_render_leaves_nothing(
    renderer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copier

    from msgen.template_render import Template

    def interrupted(*args: object, **kwargs: object) -> None:
        _half_written(Path(str(kwargs.get("out") or args[1])))
        raise KeyboardInterrupt

    if renderer == "copier":
        monkeypatch.setattr("msgen.template_render.load_template", lambda _root: None)
    monkeypatch.setattr(copier, "run_copy", interrupted)
    monkeypatch.setattr(Template, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render_template("service", data=DATA, target=tmp_path / "orders")
    assert list(tmp_path.iterdir()) == []


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "orders").write_text("x")
    with pytest.raises(TargetExistsError, match="not a directory"):
        render_template("service", data=DATA, target=tmp_path / "orders", force=True)


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    result = render_template("service", data=DATA, target=tmp_path / "orders", dry_run=True)
    assert "pyproject.toml" in result.files
    assert list(tmp_path.iterdir()) == []


def test_bad_answer_type_is_a_render_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError):
        render_template("service", data={**DATA, "db": "mysql"}, target=tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_finish_step_leaves_nothing(tmp_path: Path) -> None:
    def finish(out: Path) -> None:
        assert (out / "pyproject.toml").is_file()
        raise RenderError("the finishing step failed")

    with pytest.raises(RenderError, match="finishing step"):
        render_template("service", data=DATA, target=tmp_path / "new" / "orders", finish=finish)
    assert list(tmp_path.iterdir()) == []


def test_the_finish_step_adds_to_the_reported_files(tmp_path: Path) -> None:
    def finish(out: Path) -> None:
        (out / "extra.txt").write_text("x")

    result = render_template("service", data=DATA, target=tmp_path / "orders", finish=finish)
    assert "extra.txt" in result.files
    assert (tmp_path / "orders" / "extra.txt").read_text() == "x"


def test_template_data_gives_a_database_service_the_starter_entity_unless_told() -> None:
    from msgen.domain.model import Domain, Entity
    from msgen.domain.syntax import parse_cli_field
    from msgen.domain.view import starter_domain, template_entities

    names = derive_names("orders")
    assert DATA["entities"] == template_entities(starter_domain("Order"))
    assert template_data(names, port=8001, db="none")["entities"] == []
    domain = Domain(entities=(Entity(name="Order", fields=(parse_cli_field("sku:str"),)),))
    given = template_data(names, port=8001, db="sqlite", entities=template_entities(domain))
    assert given["entities"] == template_entities(domain)
