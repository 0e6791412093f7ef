"""The Mermaid diagrams: generated from the machines, and docs/lifecycle.md kept up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from certflow.lifecycle import CERTIFICATE_MACHINE, PROCEDURE_MACHINE, mermaid
from certflow.lifecycle.diagram import REGENERATE, main, update_document

DOC = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"


def test_docs_lifecycle_md_is_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert update_document(text) == text, f"docs/lifecycle.md is stale; regenerate with: {REGENERATE}"


def test_diagram_contains_every_state_and_event() -> None:
    for machine in (PROCEDURE_MACHINE, CERTIFICATE_MACHINE):
        text = mermaid(machine)
        assert text.startswith("stateDiagram-v2\n") and f"[*] --> {machine.initial}" in text
        for state in machine.states:
            assert f" as {state}\n" in text
        for event in machine.events:
            assert f": {event}" in text


def test_diagram_shows_guards_internal_events_and_final_states() -> None:
    text = mermaid(PROCEDURE_MACHINE)
    assert "    audited --> certified: certify [decider_is_certifier, four_eyes, submission_passed]\n" in text
    assert "    submitted --> submitted: change_period (intern) [no_postponement]\n" in text
    assert "    withdrawn --> [*]\n" in text and "    submitted --> [*]" not in text
    assert 'state "Re-Zertifizierung fällig" as recertification_due' in mermaid(CERTIFICATE_MACHINE)


def test_diagram_is_deterministic() -> None:
    assert mermaid(PROCEDURE_MACHINE) == mermaid(PROCEDURE_MACHINE)


def test_update_document_needs_the_markers() -> None:
    with pytest.raises(ValueError, match="mermaid:procedure"):
        update_document("# no diagrams here\n")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "stateDiagram-v2" in capsys.readouterr().out
    stale = tmp_path / "lifecycle.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("--> registered: register", "--> x: y"), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert main(["--write", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    assert main(["--check", str(stale)]) == 0
