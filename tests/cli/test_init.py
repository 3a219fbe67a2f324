from pathlib import Path

from typer.testing import CliRunner

from msgen.cli import app

runner = CliRunner()


def test_init_creates_workspace_in_path(in_tmp: Path) -> None:
    result = runner.invoke(app, ["init", "shop", "--name", "my-shop"])
    assert result.exit_code == 0, result.output
    assert "Created workspace my-shop" in result.stdout
    text = (in_tmp / "shop" / "msgen.yaml").read_text()
    assert "name: my-shop" in text
    assert "schema: 1" in text


def test_init_defaults_name_to_directory(in_tmp: Path) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (in_tmp / "msgen.yaml").is_file()


def test_init_twice_is_refused_and_keeps_file(in_tmp: Path) -> None:
    assert runner.invoke(app, ["init", "--name", "a"]).exit_code == 0
    before = (in_tmp / "msgen.yaml").read_text()
    result = runner.invoke(app, ["init", "--name", "b"])
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert "Traceback" not in result.output
    assert (in_tmp / "msgen.yaml").read_text() == before


def test_init_bad_name_is_one_line_and_a_usage_error(in_tmp: Path) -> None:
    result = runner.invoke(app, ["init", "--name", "Bad Name"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid system name 'Bad Name'")
    assert not (in_tmp / "msgen.yaml").exists()


def test_init_refuses_an_unknown_auth_in_plain_words(in_tmp: Path) -> None:
    result = runner.invoke(app, ["init", "--auth", "bogus"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--auth': 'bogus' is not one of 'dev', 'oidc', 'none'."
    )
    assert not (in_tmp / "msgen.yaml").exists()
