"""Opening procedures: nomination from a contingent, re-certification, restructuring."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from test_lifecycle_world import ADMIN, CERTIFIER, COORD, FZ, KITAS, LEAD, certificate, clock, procedure

from certflow.calendar import KindergartenYear
from certflow.catalogue.model import ProcedureKind
from certflow.lifecycle import (
    DEFAULT_CATALOGUE_KEY, Contingent, ProcedureState, Refused, fire, open_first_certification,
    open_recertification, open_restructuring, restructure_to_verbund,
)

KGJ = KindergartenYear(2025)


def test_nomination_takes_a_contingent_place() -> None:
    opening = open_first_certification(FZ, Contingent("ja-1", KGJ, granted=1), procedure_id="p-1", kgj=KGJ,
                                       actor=COORD, reason="JHA-Beschluss vom 10.06.2025", clock=clock())
    proc, change = opening.procedure, opening.change
    assert (proc.kind, proc.state, proc.catalogue_key) == (ProcedureKind.ERST, ProcedureState.NOMINATED,
                                                           DEFAULT_CATALOGUE_KEY)
    assert (proc.period_start, proc.period_end) == (date(2025, 8, 1), date(2026, 7, 31))
    assert (change.from_state, change.to_state, change.event, change.actor_id) == (
        None, "nominated", "nominate", COORD.id)
    assert opening.contingent.free == 0
    full = r"Kein freier Platz im Kontingent des Jugendamts Kreis Musterland für 2025/26 \(1 von 1 vergeben\)"
    with pytest.raises(Refused, match=full):
        open_first_certification(FZ, opening.contingent, procedure_id="p-2", kgj=KGJ, actor=COORD, reason="x",
                                 jugendamt_name="Kreis Musterland", clock=clock())


def test_nomination_refusals() -> None:
    c = Contingent("ja-1", KGJ, granted=2)
    with pytest.raises(Refused, match="Nominieren ist der Rolle 'Kita-Leitung' nicht erlaubt"):
        open_first_certification(FZ, c, procedure_id="p", kgj=KGJ, actor=LEAD, reason="x", clock=clock())
    with pytest.raises(Refused, match="gehört nicht zum Jugendamt"):
        open_first_certification(FZ, c, procedure_id="p", kgj=KGJ, actor=replace(COORD, jugendamt_id="ja-2"),
                                 reason="x", clock=clock())
    with pytest.raises(Refused, match="läuft bereits"):
        open_first_certification(FZ, c, procedure_id="p", kgj=KGJ, actor=COORD, reason="x",
                                 procedures=[procedure()], clock=clock())
    with pytest.raises(Refused, match="bitte einen Grund"):
        open_first_certification(FZ, c, procedure_id="p", kgj=KGJ, actor=COORD, reason="", clock=clock())


def test_recertification_opens_registered_in_its_due_year() -> None:
    fz = replace(FZ, certificate_number="FZ-0001")
    opening = open_recertification(fz, certificate(), procedure_id="p-re", actor=CERTIFIER, reason="Unterlagen da",
                                   clock=clock(datetime(2024, 10, 1, tzinfo=timezone.utc)))
    proc = opening.procedure
    assert (proc.kind, proc.state, proc.kgj) == (ProcedureKind.RE, ProcedureState.REGISTERED, KGJ)
    assert (proc.period_start, proc.period_end) == (date(2025, 1, 1), date(2026, 1, 31))
    assert opening.contingent is None and opening.change.to_state == "registered"


def test_withdraw_and_restart_later_is_refused() -> None:
    fz = replace(FZ, certificate_number="FZ-0001")
    today = clock(datetime(2025, 3, 1, tzinfo=timezone.utc))
    first = open_recertification(fz, certificate(), procedure_id="p-re", actor=CERTIFIER, reason="x", clock=today)
    with pytest.raises(Refused, match="läuft bereits"):
        open_recertification(fz, certificate(), procedure_id="p-re2", actor=CERTIFIER, reason="x",
                             procedures=[first.procedure], clock=today)
    fire(first.procedure, "withdraw", LEAD, "Personalmangel", familienzentrum=fz, clock=today)
    with pytest.raises(Refused, match="Eine Re-Zertifizierung kann nicht verschoben werden"):
        open_recertification(fz, certificate(), procedure_id="p-re2", actor=CERTIFIER, reason="nächstes Jahr",
                             kgj=KGJ.next(), procedures=[first.procedure], clock=today)
    again = open_recertification(fz, certificate(), procedure_id="p-re2", actor=CERTIFIER, reason="doch",
                                 procedures=[first.procedure], clock=today)
    assert (again.procedure.period_end, again.procedure.kgj) == (first.procedure.period_end, KGJ)


def test_recertification_after_the_seal_lapsed_is_refused() -> None:
    with pytest.raises(Refused, match="nur eine neue Erst-Zertifizierung"):
        open_recertification(FZ, certificate(), procedure_id="p", actor=ADMIN, reason="x",
                             clock=clock(datetime(2026, 8, 1, 8, tzinfo=timezone.utc)))
    with pytest.raises(Refused, match="nicht erlaubt"):
        open_recertification(FZ, certificate(), procedure_id="p", actor=COORD, reason="x", clock=clock())


def test_restructuring_opens_a_new_certification_without_a_contingent_place() -> None:
    plan = restructure_to_verbund(replace(FZ, certificate_number="FZ-0001"), KITAS, ["k1", "k2"], "k1", certificate())
    opening = open_restructuring(plan, procedure_id="p-v", actor=CERTIFIER, reason="Verbund mit Kita 2",
                                 clock=clock())
    assert (opening.procedure.kind, opening.procedure.state, opening.procedure.kgj) == (
        ProcedureKind.ERST, ProcedureState.REGISTERED, KGJ)
    with pytest.raises(Refused, match="spätestens im Kindergartenjahr 2025/26"):
        open_restructuring(plan, procedure_id="p-v", actor=CERTIFIER, reason="x", kgj=KGJ.next(), clock=clock())
    no_seal = restructure_to_verbund(FZ, KITAS, ["k1", "k2"], "k1")
    with pytest.raises(Refused, match="Kindergartenjahr angeben"):
        open_restructuring(no_seal, procedure_id="p-v", actor=CERTIFIER, reason="x", clock=clock())
    assert open_restructuring(no_seal, procedure_id="p-v", actor=ADMIN, reason="x", kgj=KGJ.next(),
                              clock=clock()).procedure.kgj == KGJ.next()


def test_a_recertification_is_refused_before_its_window_unless_forced() -> None:
    fz = replace(FZ, certificate_number="FZ-0001")
    issued_today = certificate(issued=date(2026, 3, 2))        # NOW: valid until 31.07.2030, window from 01.10.2028
    with pytest.raises(Refused, match=r"^Die Re-Zertifizierung des Gütesiegels FZ-0001 \(gültig bis 31\.07\.2030\) "
                                      r"beginnt frühestens am 01\.10\.2028; vorher nur erzwungen, mit Begründung$"):
        open_recertification(fz, issued_today, procedure_id="p-re", actor=CERTIFIER, reason="gleich mit", clock=clock())
    day_before = clock(datetime(2028, 9, 30, 12, tzinfo=timezone.utc))
    with pytest.raises(Refused, match="frühestens am 01.10.2028"):
        open_recertification(fz, issued_today, procedure_id="p-re", actor=CERTIFIER, reason="x", clock=day_before)
    forced = open_recertification(fz, issued_today, procedure_id="p-re", actor=CERTIFIER, clock=clock(),
                                  reason="Träger wünscht frühen Beginn", force=True)
    assert (forced.procedure.kgj, forced.procedure.period_start) == (KindergartenYear(2029), date(2029, 1, 1))
    assert forced.change.reason == "Träger wünscht frühen Beginn"
    assert forced.change.warnings == (
        "Vor dem Re-Zertifizierungsfenster eröffnet (erzwungen): es beginnt am 01.10.2028",)
    with pytest.raises(Refused, match="bitte einen Grund"):
        open_recertification(fz, issued_today, procedure_id="p-re", actor=CERTIFIER, reason=" ", force=True,
                             clock=clock())
    in_window = open_recertification(fz, issued_today, procedure_id="p-re", actor=CERTIFIER, reason="x", force=True,
                                     clock=clock(datetime(2028, 10, 1, 8, tzinfo=timezone.utc)))
    assert in_window.change.warnings == ()                   # forcing an open window changes nothing
