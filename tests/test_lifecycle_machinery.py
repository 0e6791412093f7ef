"""The shared-machine plumbing: attach, fire, detach; the clock; refusals."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from test_lifecycle_world import FZ, LEAD, clock, procedure

from certflow.lifecycle import PROCEDURE_MACHINE, ProcedureState, Refused, fire, local_date
from certflow.lifecycle.machinery import refuse_if


def test_refused_carries_the_message() -> None:
    exc = Refused("Nicht erlaubt")
    assert exc.message == str(exc) == "Nicht erlaubt"
    refuse_if(None)
    refuse_if("")


def test_local_date_is_the_day_in_nrw() -> None:
    assert local_date(datetime(2026, 7, 31, 21, 59, tzinfo=timezone.utc)) == date(2026, 7, 31)
    assert local_date(datetime(2026, 7, 31, 22, 0, tzinfo=timezone.utc)) == date(2026, 8, 1)
    assert local_date(datetime(2026, 1, 31, 23, 0, tzinfo=timezone.utc)) == date(2026, 2, 1)


def test_machine_has_no_auto_transitions_and_no_models() -> None:
    assert not any(name.startswith("to_") for name in PROCEDURE_MACHINE.events)
    assert PROCEDURE_MACHINE.models == [] and PROCEDURE_MACHINE.send_event
    assert PROCEDURE_MACHINE.model_attribute == "state"


def test_detached_even_when_a_guard_raises() -> None:
    proc = procedure(ProcedureState.AUDITED, auditor_id="u-aud", submitted_revision=1)
    with pytest.raises(Refused):
        fire(proc, "reject", LEAD, "x", clock=clock(), familienzentrum=FZ)  # decider_is_certifier
    with pytest.raises(ValueError):
        fire(proc, "reject", LEAD, "x", clock=clock(), familienzentrum=replace(FZ, id="fz-9"))  # prepare_event
    assert PROCEDURE_MACHINE.models == [] and proc.state is ProcedureState.AUDITED and proc.version == 0


def test_concurrent_fires_keep_their_own_states() -> None:
    procs = [procedure() for _ in range(40)]
    for i, p in enumerate(procs):
        p.id = f"p-{i}"

    def run(p) -> None:
        fire(p, "register", LEAD, "x", clock=clock(), familienzentrum=FZ)
        fire(p, "start_development", LEAD, "x", clock=clock(), familienzentrum=FZ)

    threads = [threading.Thread(target=run, args=(p,)) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {p.state.value for p in procs} == {"in_development"} and {p.version for p in procs} == {2}
    assert PROCEDURE_MACHINE.models == []
