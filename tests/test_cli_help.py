"""``certflow --help`` loads no command module: no database, web or PDF library (speed: benchmarks/bench_cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from certflow.cli import COMMANDS, cli

HEAVY = ["weasyprint", "sqlalchemy", "sqlmodel", "fastapi", "starlette", "alembic", "jinja2", "apscheduler",
         "certflow.db", "certflow.web", "certflow.packet", "certflow.services"]


def test_help_imports_no_heavy_library():
    code = ("import sys\nsys.argv = ['certflow', '--help']\nfrom certflow.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('MODULES=' + __import__('json').dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in done.stdout
    loaded = json.loads(done.stdout.rsplit("MODULES=", 1)[1])
    assert loaded == []


def test_the_listed_short_help_is_each_commands_own():
    """:data:`certflow.cli.COMMANDS` holds the short help ``--help`` shows without importing: the commands' own."""
    for name, (_module, _attribute, short) in COMMANDS.items():
        command = cli.commands[name]
        assert command.name == name
        assert short == command.get_short_help_str(limit=1000), name


def test_every_command_is_reachable_and_proves_who_acts():
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    procedure = cli.get_command(ctx, "procedure")
    assert isinstance(procedure, click.Group)
    decide = procedure.commands["decide"]
    assert "token_file" in {p.name for p in decide.params}
