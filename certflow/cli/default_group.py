"""A command group that falls back to one of its commands: ``certflow packet V-1 …`` = ``certflow packet render V-1 …``.

When the first argument is not the name of a subcommand (nor the group's help option),
:class:`DefaultGroup` puts the name of its default command in front of the arguments, so
the short form and the long form run the same command with the same options and checks.
The group's ``--help`` names the short form. A group using it must not have options of
its own (they would be taken for the default command's).
"""

from __future__ import annotations

from typing import Any

import click

__all__ = ["DefaultGroup"]


class DefaultGroup(click.Group):
    """A :class:`click.Group` that runs ``default_command`` when no subcommand is named."""

    def __init__(self, *args: Any, default_command: str, **kwargs: Any):
        kwargs.setdefault("subcommand_metavar", "[COMMAND] [ARGS]...")
        super().__init__(*args, **kwargs)
        self.default_command = default_command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        command = self.commands.get(self.default_command)
        if command is None:
            return
        pieces = " ".join(p for p in command.collect_usage_pieces(ctx) if p != command.options_metavar)
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(f"Ohne BEFEHL gilt {self.default_command}: {ctx.command_path} {pieces} … "
                                 f"ist {ctx.command_path} {self.default_command} {pieces} …")
