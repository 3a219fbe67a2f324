from typer.testing import CliRunner

from msgen import __version__
from msgen.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"msgen {__version__}"


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "list", "new"):
        assert command in result.stdout
    assert "--install-completion" in result.stdout


def test_no_arguments_shows_help_with_usage_exit_code() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert "Usage" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code == 2


def _commands() -> list[list[str]]:
    """The path of every command, from the command tree typer builds."""
    import typer.main

    def walk(command, path: list[str]) -> list[list[str]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            return [path]
        return [p for name, sub in subcommands.items() for p in walk(sub, [*path, name])]

    return walk(typer.main.get_command(app), [])


def test_every_choice_option_refuses_a_bad_value_in_plain_words() -> None:
    import re

    refused = []
    for path in _commands():
        usage = runner.invoke(app, [*path, "--help"], terminal_width=300).stdout
        for option, choices in re.findall(r"(--[a-z][a-z-]*) <([\w-]+(?:\|[\w-]+)+)>", usage):
            result = runner.invoke(app, [*path, option, "no-such-choice"])
            assert result.exit_code == 2, (path, option, result.output)
            quoted = ", ".join(repr(choice) for choice in choices.split("|"))
            assert result.stderr.splitlines()[-1].endswith(
                f"'no-such-choice' is not one of {quoted}."
            ), (path, option, result.stderr)
            assert "Value error" not in result.output
            refused.append(option)
    assert {"--auth", "--db", "--broker", "--discovery", "--ci", "--conflict", "--format"} <= set(
        refused
    )


def test_a_choice_argument_refuses_a_bad_value_in_plain_words() -> None:
    result = runner.invoke(app, ["remove", "no-such-kind", "orders", "Order"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for 'kind': 'no-such-kind' is not one of "
        "'entity', 'field', 'command'."
    )
