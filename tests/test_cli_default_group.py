"""DefaultGroup: a group that runs its default command when the first argument names no subcommand."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from certflow.cli.default_group import DefaultGroup


@click.group(cls=DefaultGroup, default_command="render")
def tool() -> None:
    """Ein Werkzeug."""


@tool.command("render")
@click.argument("name", required=False)
@click.option("-o", "out", default="-")
def render(name, out) -> None:
    """Erzeugen."""
    click.echo(f"render name={name} out={out}")


@tool.command("check")
@click.argument("name")
def check(name) -> None:
    """Prüfen."""
    click.echo(f"check name={name}")


def run(*args):
    return CliRunner().invoke(tool, list(args), catch_exceptions=False, prog_name="tool")


@pytest.mark.parametrize("args, output", [
    (("X", "-o", "f.pdf"), "render name=X out=f.pdf\n"),          # the short form
    (("render", "X", "-o", "f.pdf"), "render name=X out=f.pdf\n"),  # the long form
    (("-o", "f.pdf", "X"), "render name=X out=f.pdf\n"),          # an option first
    (("-o", "f.pdf"), "render name=None out=f.pdf\n"),
    (("check", "X"), "check name=X\n"),                           # the other commands stay
    (("X", "check"), None),                                       # a name after the first is an argument
])
def test_the_default_command_runs_unless_a_subcommand_is_named(args, output):
    result = run(*args)
    if output is None:
        assert result.exit_code == 2 and "unexpected extra argument (check)" in result.output
    else:
        assert (result.exit_code, result.output) == (0, output)


def test_help_of_the_group_names_the_short_form():
    result = run("--help")
    assert result.exit_code == 0
    assert result.output == (
        "Usage: tool [OPTIONS] [COMMAND] [ARGS]...\n"
        "\n"
        "  Ein Werkzeug.\n"
        "\n"
        "  Ohne BEFEHL gilt render: tool [NAME] … ist tool render [NAME] …\n"
        "\n"
        "Options:\n"
        "  --help  Show this message and exit.\n"
        "\n"
        "Commands:\n"
        "  check   Prüfen.\n"
        "  render  Erzeugen.\n")


def test_help_after_an_argument_is_the_default_commands_help():
    result = run("X", "--help")
    assert result.exit_code == 0
    assert result.output.startswith("Usage: tool render [OPTIONS] [NAME]\n")


def test_no_arguments_show_the_groups_help():
    result = run()
    assert result.exit_code == 2
    assert result.output.startswith("Usage: tool [OPTIONS] [COMMAND] [ARGS]...\n")
