"""Mermaid state diagrams generated from the module-level machines, and docs/lifecycle.md kept in step.

``transitions`` 0.9.3 has a Mermaid backend (``GraphMachine(graph_engine="mermaid")``),
but it draws a *model's* graph (``machine.get_graph()`` fails on a machine
built with ``model=None``), highlights the model's current state and adds
styling classes. The documentation needs the machine itself, stable from run
to run, so :func:`mermaid` writes the text from ``machine.states`` and
``machine.events``: states in definition order, then one edge per (source,
event) in state order and event order, each labelled with the trigger and its
guards in brackets. An internal transition (no state change) is a self-loop
marked ``(intern)``; final states lead to ``[*]``.

Regenerate the diagrams in docs/lifecycle.md (between the ``mermaid:<name>``
markers; the prose around them is kept)::

    python -m certflow.lifecycle.diagram --write docs/lifecycle.md

``--check`` exits 1 when the file is stale; without options the diagrams are printed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .certificate_machine import CERTIFICATE_MACHINE
from .machinery import LifecycleMachine
from .procedure_machine import PROCEDURE_MACHINE

if TYPE_CHECKING:
    from transitions.core import Callback, Transition  # Callback exists only in the library's stubs

__all__ = ["DIAGRAMS", "REGENERATE", "mermaid", "update_document"]

DIAGRAMS: dict[str, LifecycleMachine] = {"procedure": PROCEDURE_MACHINE, "certificate": CERTIFICATE_MACHINE}
"""The diagrams in docs/lifecycle.md, by marker name."""

REGENERATE = "python -m certflow.lifecycle.diagram --write docs/lifecycle.md"


def _guards(transition: Transition) -> str:
    def name(func: Callback) -> str:
        return func.__name__ if callable(func) else str(func)

    names = [name(c.func) if c.target else f"not {name(c.func)}" for c in transition.conditions]
    return f" [{', '.join(names)}]" if names else ""


def mermaid(machine: LifecycleMachine) -> str:
    """A Mermaid ``stateDiagram-v2`` of ``machine``'s states and events (deterministic)."""
    lines = ["stateDiagram-v2"]
    states = machine.labelled_states()
    for state in states:
        lines.append(f'    state "{state.label}" as {state.name}')
    lines.append(f"    [*] --> {machine.initial}")
    for source in machine.states:
        for name, event in machine.events.items():
            for transition in event.transitions.get(source, []):
                dest = transition.dest or source
                internal = " (intern)" if transition.dest is None else ""
                lines.append(f"    {source} --> {dest}: {name}{internal}{_guards(transition)}")
    for state in states:
        if state.final:
            lines.append(f"    {state.name} --> [*]")
    return "\n".join(lines) + "\n"


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- mermaid:{name} begin -->\n)(.*?)(<!-- mermaid:{name} end -->)", re.S)


def update_document(text: str) -> str:
    """``text`` with every marked diagram block replaced by the freshly generated diagram."""
    for name, machine in DIAGRAMS.items():
        pattern = _block(name)
        if not pattern.search(text):
            raise ValueError(f"marker '<!-- mermaid:{name} begin -->' ... '<!-- mermaid:{name} end -->' not found")
        fresh = f"```mermaid\n{mermaid(machine)}```\n"
        text = pattern.sub(_keeping_markers(fresh), text)
    return text


def _keeping_markers(fresh: str) -> Callable[[re.Match[str]], str]:
    """A replacement for :func:`_block` matches: the markers kept, the diagram between them ``fresh``."""

    def replace(match: re.Match[str]) -> str:
        return match.group(1) + fresh + match.group(3)

    return replace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m certflow.lifecycle.diagram", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", type=Path, help="regenerate the diagrams in FILE")
    group.add_argument("--check", metavar="FILE", type=Path, help="exit 1 if the diagrams in FILE are stale")
    args = parser.parse_args(argv)
    if args.write is None and args.check is None:
        for name, machine in DIAGRAMS.items():
            sys.stdout.write(f"%% {name}\n{mermaid(machine)}\n")
        return 0
    path = args.write or args.check
    text = path.read_text(encoding="utf-8")
    fresh = update_document(text)
    if args.check:
        if fresh != text:
            print(f"{path} is stale; regenerate with: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
