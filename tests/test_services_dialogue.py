"""The dialogue per criterion and the Qualitätsprofil's feedback (services.dialogue), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from certflow import services
from certflow.db import ConflictError
from certflow.lifecycle import Outcome, Refused
from certflow.lifecycle.dialogue import MAX_COMMENT_CHARS
from certflow.messages import describe
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import db_world  # noqa: F401


@pytest.fixture
def submitted(db_world):
    """fz-1's procedure, submitted and with aud-1 scheduled."""
    pid = db_world.nominate()
    db_world.to_development(pid)
    db_world.submit(pid)
    db_world.schedule(pid)
    return db_world, pid


def test_the_auditor_asks_and_the_kita_lead_answers_per_criterion(submitted):
    world, pid = submitted
    asked = world.do(services.comment, "aud-1", pid, "1.1", "Bitte den Aushang zur Elternberatung nachreichen.")
    world.do(services.comment, "lead-1", pid, "1.1", "Aushang hängt seit März, Foto folgt.")
    world.do(services.comment, "cert-1", pid, "2.1", "Bitte Kooperationsvertrag prüfen.")
    assert describe(asked) == f"Kommentar zu Kriterium 1.1 im Verfahren {pid} gespeichert"
    by_criterion = world.read(lambda uow: services.thread(uow, "lead-1", pid))
    assert sorted(by_criterion) == ["1.1", "2.1"]
    assert [(c.author_id, c.author_name, c.body) for c in by_criterion["1.1"]] == [
        ("aud-1", "Anna Audit", "Bitte den Aushang zur Elternberatung nachreichen."),
        ("lead-1", "Lea Eins", "Aushang hängt seit März, Foto folgt.")]
    # coordinators read along; the trail records who wrote on which criterion, with a hash of the text
    assert world.read(lambda uow: services.thread(uow, "coord-a", pid))["2.1"][0].author_id == "cert-1"
    added = [e for e in world.entries("procedure", pid) if e.action == "criterion_comment.added"]
    assert [(e.actor_id, e.payload["criterion"]) for e in added] == [("aud-1", "1.1"), ("lead-1", "1.1"),
                                                                     ("cert-1", "2.1")]
    assert all(len(e.payload["sha256"]) == 64 for e in added)


@pytest.mark.parametrize(("actor", "criterion", "body", "message"), [
    ("lead-v", "1.1", "x", "darf Verfahren"),                       # another Familienzentrum's lead
    ("coord-b", "1.1", "x", "darf Verfahren"),                      # another Jugendamt
    ("aud-2", "1.1", "x", "darf Verfahren"),                        # an auditor not assigned
    ("coord-a", "1.1", "x", "Kommentieren ist der Rolle"),          # may read, not write
    ("aud-1", "99.9", "x", "Das Kriterium 99.9 gibt es"),
    ("aud-1", "1.1", "   ", "bitte einen Text eingeben"),
    ("aud-1", "1.1", "x" * (MAX_COMMENT_CHARS + 1), f"höchstens {MAX_COMMENT_CHARS} Zeichen"),
])
def test_comments_outside_the_rules_are_refused_and_nothing_is_written(submitted, actor, criterion, body, message):
    world, pid = submitted
    before = len(world.entries())
    with pytest.raises(Refused, match=message):
        world.do(services.comment, actor, pid, criterion, body)
    assert len(world.entries()) == before
    assert world.read(lambda uow: uow.dialogue.comments(pid)) == []


def test_no_comments_before_the_submission_nor_after_the_decision(db_world):
    pid = db_world.nominate()
    with pytest.raises(Refused, match="noch keine Selbstbewertung eingereicht"):
        db_world.do(services.comment, "lead-1", pid, "1.1", "Frage")
    db_world.do(services.withdraw, "coord-a", pid, "Zurückgezogen")
    with pytest.raises(Refused, match="abgeschlossen"):
        db_world.do(services.comment, "lead-1", pid, "1.1", "Frage")


def test_the_feedback_is_versioned_for_the_certification_body_and_frozen_by_the_decision(submitted):
    world, pid = submitted
    assert world.read(lambda uow: services.feedback(uow, "cert-1", pid)) is None
    first = world.do(services.write_feedback, "cert-1", pid, "Stark in der Elternberatung.", version=None)
    assert describe(first) == f"Rückmeldung zum Qualitätsprofil im Verfahren {pid} gespeichert (Fassung 1)"
    with pytest.raises(ConflictError):  # cert-2 read "none yet" too: its save would overwrite cert-1's
        world.do(services.write_feedback, "cert-2", pid, "Anderer Text", version=None)
    world.do(services.write_feedback, "cert-2", pid, "Stark in der Elternberatung; Sprachförderung ausbauen.",
             version=1)
    seen = world.read(lambda uow: services.feedback(uow, "lead-1", pid))
    assert (seen.text, seen.author_id, seen.version) == (
        "Stark in der Elternberatung; Sprachförderung ausbauen.", "cert-2", 2)
    for actor, message in (("aud-1", "schreibt die Zertifizierungsstelle"),
                           ("lead-1", "schreibt die Zertifizierungsstelle"), ("lead-v", "darf Verfahren")):
        with pytest.raises(Refused, match=message):
            world.do(services.write_feedback, actor, pid, "Text", version=2)
    world.record(pid)
    world.sign_off(pid)
    world.do(services.decide, "cert-2", pid, Outcome.CERTIFIED, "Alle Bereiche erfüllt")
    with pytest.raises(Refused, match="eingefroren"):
        world.do(services.write_feedback, "cert-1", pid, "Nachtrag", version=2)
