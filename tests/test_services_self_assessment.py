"""The Kita lead's self-assessment use cases (certflow.services.self_assessment) and the staging area of
uploaded evidence (certflow.evidence_staging).

The rules (scope, role, state, form input, what a preview does not save) run on the in-memory twin
(``world``); what needs the database (the comment threads, the audit trail of a submission, a commit
that fails) runs on SQLite and PostgreSQL (``db_world``).
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import World, db_world, world  # noqa: F401

from certflow import services
from certflow.assessment.model import Assessment, Status
from certflow.evidence_staging import EvidenceStaging
from certflow.evidence_store import DEFAULT_MAX_BYTES, EvidenceStore, LocalEvidenceStore
from certflow.lifecycle.machinery import Refused
from certflow.messages import describe
from certflow.packet.sample import tiny_pdf, tiny_png
from certflow.services import dialogue
from certflow.services import self_assessment as sa
from certflow.services.runner import ErrorKind, UseCaseError

PDF = tiny_pdf("Konzeption Beratung")


def _in_development(world: World) -> str:
    """fz-1's procedure in its development year, on 2 March 2026 (records of the year so far may be entered)."""
    pid = world.nominate("fz-1")
    world.to_development(pid)
    world.at(date(2026, 3, 2))
    return pid


def _run(world: World, action):
    return world.app.run(action)


def _staging(world: World) -> tuple[EvidenceStore, EvidenceStaging]:
    store = world.app.evidence_store()
    return store, EvidenceStaging.beside(store)


def _evidence_fields(criterion: str, item: str | None = None, **over) -> dict[str, list[str]]:
    fields = {"punkt": item or criterion, "art": "konzept", "titel": "Konzeption der Beratung",
              "datum": "2025-09-10", "stunden": ""}
    fields.update(over)
    return {f"beleg:{criterion}:{k}": [v] for k, v in fields.items()}


# --- scope, role, state ------------------------------------------------------------------------------------------


def test_a_new_procedure_starts_with_an_empty_working_copy_of_its_pinned_catalogue(world):
    pid = _in_development(world)
    ws = _run(world, lambda uow: sa.workspace(uow, "lead-1", pid, "1"))
    assert (ws.source, ws.revision, ws.editable) == ("new", None, True)
    assert ws.assessment.catalogue_version == "2020" and ws.assessment.answers == {}
    assert ws.assessment.period.start == ws.procedure.period_start
    first = ws.progress[0]
    assert first.id == "1" and not first.met and first.tally.points == 0
    assert "1.1" in first.unanswered and first.reasons  # the engine says why: points and Basis criteria missing
    assert [c.criterion.id for c in ws.area.criteria][:2] == ["1.1", "1.2"]
    assert ws.area.criteria[0].items[0].answer is None


def test_only_the_kita_lead_of_the_familienzentrum_works_on_it(world):
    pid = _in_development(world)
    for actor in ("lead-v", "lead-b", "coord-a", "aud-1", "cert-1", "admin"):
        with pytest.raises(UseCaseError) as refused:
            _run(world, lambda uow, a=actor: sa.workspace(uow, a, pid))
        assert refused.value.kind is ErrorKind.REFUSED, actor
        with pytest.raises(UseCaseError):
            _run(world, lambda uow, a=actor: sa.save_area(uow, a, pid, "1", {"antwort:1.1": ["erfuellt"]}))
    with pytest.raises(UseCaseError) as unknown:
        _run(world, lambda uow: sa.workspace(uow, "lead-1", "V-2099-404"))
    assert unknown.value.kind is ErrorKind.NOT_FOUND
    assert _run(world, lambda uow: uow.submissions.draft(pid)) is None


def test_before_the_development_year_and_after_the_submission_it_cannot_be_edited(world):
    pid = world.nominate("fz-1")
    with pytest.raises(UseCaseError) as early:
        _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "1", {"antwort:1.1": ["erfuellt"]}))
    assert "lässt sich jetzt nicht bearbeiten (Verfahren nominiert)" in early.value.message
    assert _run(world, lambda uow: sa.workspace(uow, "lead-1", pid)).editable is False


# --- preview and draft --------------------------------------------------------------------------------------------


def test_the_preview_scores_the_form_without_saving_it(world):
    pid = _in_development(world)
    ws = _run(world, lambda uow: sa.workspace(uow, "lead-1", pid, "1"))
    items = [i.item.id for c in ws.area.criteria for i in c.items]
    fields = {f"antwort:{i}": ["erfuellt"] for i in items}
    shown = _run(world, lambda uow: sa.preview(uow, "lead-1", pid, "1", fields))
    area = shown.area
    assert area.unanswered == () and area.tally.points > 0
    assert any("1.7" in m for m in area.missing_evidence)  # met, but the required document is missing
    assert _run(world, lambda uow: uow.submissions.draft(pid)) is None
    assert world.entries("assessment_revision") == []


def test_saving_an_area_keeps_the_other_areas_and_records_who_saved(world):
    pid = _in_development(world)
    r1 = _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "1", {
        "antwort:1.1": ["erfuellt"], "bemerkung:1.1": ["Sprechstunde dienstags"], "antwort:1.2": ["nicht_erfuellt"],
        "akt:1.5:punkt": ["1.5"], "akt:1.5:datum": ["2025-09-02"], "akt:1.5:art": ["sprechstunde"],
        "akt:1.5:termine": ["2"], "akt:1.5:teilnehmende": ["6"], "akt:1.5:notiz": ["im Familienbüro"]}))
    assert r1.event == "self_assessment.saved" and r1.facts["revision"] == 1
    assert "Entwurf der Selbstbewertung gespeichert" in describe(r1)
    _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "2", {"antwort:2.1": ["erfuellt"]}))
    ws = _run(world, lambda uow: sa.workspace(uow, "lead-1", pid, "1"))
    a = ws.assessment
    assert (ws.source, ws.revision) == ("draft", 1)
    assert a.answers["1.1"].status is Status.ERFUELLT and a.answers["1.1"].comment == "Sprechstunde dienstags"
    assert a.answers["1.2"].status is Status.NICHT_ERFUELLT and a.answers["2.1"].status is Status.ERFUELLT
    (act,) = a.activities
    assert (act.item, act.kind, act.sessions, act.participants, act.note) == ("1.5", "sprechstunde", 2, 6,
                                                                            "im Familienbüro")
    entries = world.entries("assessment_revision")
    assert [e.action for e in entries] == ["assessment_revision.create", "assessment_revision.update"]
    assert {e.actor_id for e in entries} == {"lead-1"}
    # "offen" clears an answer; the activity is removed by its key, in its own area only
    key = sa.record_key(act)
    _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "2", {"akt-weg": [key]}))
    assert len(_run(world, lambda uow: sa.workspace(uow, "lead-1", pid)).assessment.activities) == 1
    _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "1", {"antwort:1.1": ["offen"], "akt-weg": [key]}))
    a = _run(world, lambda uow: sa.workspace(uow, "lead-1", pid)).assessment
    assert "1.1" not in a.answers and a.activities == []


@pytest.mark.parametrize("fields, field, message", [
    ({"antwort:1.1": ["vielleicht"]}, "antwort:1.1", "erfüllt, nicht erfüllt oder offen"),
    ({"antwort:1.1": ["erfuellt"], "bemerkung:1.1": ["x" * 1001]}, "bemerkung:1.1", "höchstens 1000 Zeichen"),
    ({"akt:1.5:punkt": ["1.5"], "akt:1.5:datum": ["morgen"], "akt:1.5:art": ["sprechstunde"]}, "akt:1.5:datum",
     "ist kein Datum"),
    ({"akt:1.5:punkt": ["1.5"], "akt:1.5:datum": ["9999-12-31"], "akt:1.5:art": ["sprechstunde"]}, "akt:1.5:datum",
     "das Datum muss zwischen dem 01.01.1950 und dem"),
    ({"akt:1.5:punkt": ["1.5"], "akt:1.5:datum": ["02.09.2025"], "akt:1.5:art": ["sprechstunde"],
      "akt:1.5:termine": ["zwei"]}, "akt:1.5:termine", "ganze Zahl"),
    ({"akt:1.5:punkt": ["1.5"], "akt:1.5:datum": ["02.09.2025"], "akt:1.5:art": ["sprechstunde"],
      "akt:1.5:termine": ["99999999999999999999"]}, "akt:1.5:termine", "ganze Zahl"),
    ({"akt:1.5:punkt": ["2.1"], "akt:1.5:datum": ["02.09.2025"], "akt:1.5:art": ["sprechstunde"]}, "akt:1.5:punkt",
     "aus der Liste"),
    ({"akt:1.5:punkt": ["1.5"], "akt:1.5:datum": ["02.09.2025"], "akt:1.5:art": ["zauberei"]}, "akt:1.5:art",
     "aus der Liste"),
])
def test_bad_input_is_named_at_its_field_and_nothing_is_saved(world, fields, field, message):
    pid = _in_development(world)
    with pytest.raises(UseCaseError) as bad:
        _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "1", fields))
    assert bad.value.kind is ErrorKind.INPUT
    assert [(p.path[0], message in p.message) for p in bad.value.problems] == [(field, True)], bad.value.problems
    assert _run(world, lambda uow: uow.submissions.draft(pid)) is None
    shown = _run(world, lambda uow: sa.preview(uow, "lead-1", pid, "1", fields))  # the preview leaves it out
    assert [p.path[0] for p in shown.problems] == [field]


def test_the_profiles_are_chosen_on_the_profile_area(world):
    pid = _in_development(world)
    _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "4", {"profile-gezeigt": ["1"], "profil": ["4B", "4F"]}))
    ws = _run(world, lambda uow: sa.workspace(uow, "lead-1", pid, "4"))
    assert ws.assessment.profiles == ["4B", "4F"] and ws.area.chosen == {"4B", "4F"}
    assert [p.id for p in ws.progress[3].profiles] == ["4B", "4F"]
    with pytest.raises(UseCaseError) as bad:
        _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "4", {"profile-gezeigt": ["1"], "profil": ["9Z"]}))
    assert bad.value.problems[0].path == ("profil",)
    _run(world, lambda uow: sa.save_area(uow, "lead-1", pid, "4", {"profile-gezeigt": ["1"]}))
    assert _run(world, lambda uow: sa.workspace(uow, "lead-1", pid)).assessment.profiles == []


# --- evidence: staged until the submission commits ------------------------------------------------------------------


def test_an_upload_is_staged_not_stored_and_named_in_the_draft(world):
    pid = _in_development(world)
    store, staging = _staging(world)
    fields = _evidence_fields("1.7", art="fortbildung", stunden="32,5")
    result = sa.add_evidence(world.app, "lead-1", pid, "1.7", fields, io.BytesIO(PDF),
                             "C:\\Nachweise\\weiterbildung.pdf")
    assert "ist vorgemerkt und kommt mit dem Einreichen in den Belegspeicher" in describe(result)
    (ev,) = _run(world, lambda uow: sa.workspace(uow, "lead-1", pid)).assessment.evidence
    assert (ev.file, ev.items, ev.kind, ev.hours) == ("weiterbildung.pdf", ["1.7"], "fortbildung", 32.5)
    assert staging.has(pid, ev.sha256) and not store.exists(ev.sha256)
    ws = _run(world, lambda uow: sa.workspace(uow, "lead-1", pid, "1", evidence_store=store))
    (view,) = [c for c in ws.area.criteria if c.criterion.id == "1.7"][0].evidence
    assert view.file_state == "staged"
    download = sa.evidence_file(world.app, "lead-1", pid, ev.sha256)
    assert (download.filename, download.media_type, download.content) == ("weiterbildung.pdf", "application/pdf", PDF)
    with pytest.raises(UseCaseError):
        sa.evidence_file(world.app, "lead-v", pid, ev.sha256)
    # removed from the draft on the form; without a file ("shown on paper")
    sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7", titel="Zertifikat auf Papier"))
    ws = _run(world, lambda uow: sa.workspace(uow, "lead-1", pid, "1", evidence_store=store))
    states = sorted(v.file_state for c in ws.area.criteria for v in c.evidence)
    assert states == ["none", "staged"]


class _Zeros(io.RawIOBase):
    """An endless upload that counts what was read from it."""

    def __init__(self, head: bytes):
        self.head, self.read_bytes = head, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        chunk = (self.head + b"\0" * max(n, 0))[:n]
        self.head = self.head[len(chunk):]
        self.read_bytes += len(chunk)
        return chunk


def test_a_refused_upload_leaves_nothing_behind_and_is_named_at_the_file_field(world):
    pid = _in_development(world)
    store, staging = _staging(world)
    big = _Zeros(PDF)
    with pytest.raises(UseCaseError) as too_big:
        sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7"), big, "riesig.pdf")
    assert too_big.value.kind is ErrorKind.INPUT and too_big.value.problems[0].path == ("beleg:1.7:datei",)
    assert "größer als 20 MB" in too_big.value.problems[0].message
    assert big.read_bytes <= DEFAULT_MAX_BYTES + 128 * 1024  # stopped reading right after the limit
    wrong = b"MZ\x90\x00" + b"\x00" * 200  # a Windows program
    with pytest.raises(UseCaseError) as exe:
        sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7"), io.BytesIO(wrong), "brief.pdf")
    assert "ist nicht erlaubt (erlaubt: PDF, PNG, JPEG, DOCX, XLSX, ODT)" in exe.value.problems[0].message
    with pytest.raises(UseCaseError) as bad_date:
        sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7", datum="31.02.2025"),
                        io.BytesIO(PDF), "a.pdf")
    assert bad_date.value.problems[0].path == ("beleg:1.7:datum",)
    with pytest.raises(UseCaseError) as foreign:
        sa.add_evidence(world.app, "lead-v", pid, "1.7", _evidence_fields("1.7"), io.BytesIO(PDF), "a.pdf")
    assert foreign.value.kind is ErrorKind.REFUSED
    assert staging.staged(pid) == frozenset() and not staging.root.exists() or not any(staging.root.rglob("*.pdf"))
    assert not store.root.exists()
    assert _run(world, lambda uow: uow.submissions.draft(pid)) is None


def _complete_draft(world: World, pid: str) -> None:
    """Every item answered as met, with its activities and evidence (without files)."""
    full = world.assessment(pid)
    full = full.model_copy(update={"evidence": [ev.model_copy(update={"file": None, "sha256": None})
                                                for ev in full.evidence]})
    _run(world, lambda uow: uow.submissions.save_draft(pid, full, by="lead-1"))


def test_submitting_moves_the_staged_files_into_the_store_after_the_commit(world):
    pid = _in_development(world)
    _complete_draft(world, pid)
    store, staging = _staging(world)
    sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7", art="fortbildung", stunden="40"),
                    io.BytesIO(PDF), "weiterbildung.pdf")
    sa.add_evidence(world.app, "lead-1", pid, "2.1", _evidence_fields("2.1"), io.BytesIO(tiny_png("x")), "aushang.png")
    check = _run(world, lambda uow: sa.submission_check(uow, "lead-1", pid, evidence_store=store))
    assert (check.event, check.refusal, check.missing_files) == ("submit", None, ())
    result = sa.submit_draft(world.app, "lead-1", pid, "Selbstbewertung fertig")
    assert result.event == "procedure.submitted" and result.count == 2
    assert "2 Beleg(e) gespeichert" in describe(result)
    latest = world.read(lambda uow: uow.submissions.latest_submitted(pid))
    frozen = Assessment.model_validate_json(latest.canonical_json)
    named = [ev.sha256 for ev in frozen.evidence if ev.sha256]
    assert len(named) == 2 and all(store.exists(sha) for sha in named)
    assert staging.staged(pid) == frozenset()
    (logged,) = [e for e in world.entries("assessment_revision") if e.action == "assessment_revision.evidence"]
    assert {f["file"] for f in logged.payload["files"]} == {"weiterbildung.pdf", "aushang.png"}
    assert {f["media_type"] for f in logged.payload["files"]} == {"application/pdf", "image/png"}
    assert world.read(lambda uow: uow.procedures.get(pid)).state.value == "submitted"


def test_a_refused_submission_leaves_the_files_staged_and_the_store_untouched(world):
    pid = _in_development(world)
    store, staging = _staging(world)
    sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7"), io.BytesIO(PDF), "a.pdf")
    with pytest.raises(UseCaseError) as refused:
        sa.submit_draft(world.app, "lead-1", pid, "zu früh")
    assert refused.value.kind is ErrorKind.REFUSED and "keine Angabe zu" in refused.value.message
    assert len(staging.staged(pid)) == 1 and not store.root.exists()
    check = _run(world, lambda uow: sa.submission_check(uow, "lead-1", pid, evidence_store=store))
    assert check.refusal.startswith("Einreichen nicht möglich: keine Angabe zu")


def test_a_staged_file_that_vanished_refuses_the_submission(world):
    pid = _in_development(world)
    _complete_draft(world, pid)
    store, staging = _staging(world)
    sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7", art="fortbildung", stunden="40"),
                    io.BytesIO(PDF), "a.pdf")
    (sha,) = staging.staged(pid)
    staging.discard(pid, sha)
    with pytest.raises(UseCaseError) as refused:
        sa.submit_draft(world.app, "lead-1", pid, "fertig")
    assert "ist nicht mehr vorhanden; bitte den Beleg entfernen" in refused.value.message


def test_a_failed_move_after_the_commit_keeps_the_file_staged_until_it_is_settled(world, monkeypatch):
    pid = _in_development(world)
    _complete_draft(world, pid)
    store, staging = _staging(world)
    sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7", art="fortbildung", stunden="40"),
                    io.BytesIO(PDF), "a.pdf")
    real_put = LocalEvidenceStore.put

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "Auf dem Gerät ist kein Speicherplatz mehr verfügbar")

    monkeypatch.setattr(LocalEvidenceStore, "put", full_disk)
    result = sa.submit_draft(world.app, "lead-1", pid, "fertig")
    assert result.count == 0 and any("bleibt vorgemerkt" in w and "Speicherplatz" in w for w in result.warnings)
    (sha,) = staging.staged(pid)
    monkeypatch.setattr(LocalEvidenceStore, "put", real_put)
    moved = sa.settle_evidence(world.app, "lead-1", pid)
    assert [f.sha256 for f in moved.moved] == [sha] and store.exists(sha) and staging.staged(pid) == frozenset()
    assert sa.settle_evidence(world.app, "lead-1", pid).moved == ()


def test_a_submission_whose_transaction_fails_puts_nothing_into_the_store(db_world, monkeypatch):
    world = db_world
    pid = _in_development(world)
    _complete_draft(world, pid)
    store, staging = _staging(world)
    sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7", art="fortbildung", stunden="40"),
                    io.BytesIO(PDF), "a.pdf")
    real = sa.submit

    def then_fail(uow, *args, **kwargs):
        real(uow, *args, **kwargs)
        uow.session.flush()
        raise Refused("Die Datenbank hat die Änderung nicht übernommen")  # after the snapshot was written

    monkeypatch.setattr(sa, "submit", then_fail)
    with pytest.raises(UseCaseError):
        sa.submit_draft(world.app, "lead-1", pid, "fertig")
    (sha,) = staging.staged(pid)
    assert not store.exists(sha)
    ws = world.read(lambda uow: sa.workspace(uow, "lead-1", pid))
    assert (ws.source, ws.procedure.state.value) == ("draft", "in_development")
    monkeypatch.setattr(sa, "submit", real)
    assert sa.submit_draft(world.app, "lead-1", pid, "fertig").count == 1 and store.exists(sha)


# --- changes requested: the threads, the resubmission; the tasks and documents -----------------------------------


def test_changes_requested_show_the_threads_and_the_lead_answers_and_resubmits(db_world):
    world = db_world
    pid = _in_development(world)
    world.submit(pid, passing=False)
    world.do(services.request_changes, "cert-1", pid, "Bereich 1 nachbessern")
    world.do(dialogue.comment, "cert-1", pid, "1.7", "Bitte den Nachweis der Weiterbildung nachreichen.")
    tasks = world.read(lambda uow: sa.tasks(uow, "lead-1"))
    (mine,) = tasks
    assert mine.row.state.value == "changes_requested" and mine.open_questions == ("1.7",)
    assert mine.actions == ("resubmit", "withdraw") and mine.editable
    ws = world.read(lambda uow: sa.workspace(uow, "lead-1", pid, "1"))
    assert (ws.source, ws.revision, ws.can_comment) == ("submitted", 1, True)  # starts from the last submission
    (crit,) = [c for c in ws.area.criteria if c.criterion.id == "1.7"]
    assert [c.body for c in crit.comments] == ["Bitte den Nachweis der Weiterbildung nachreichen."]
    world.do(dialogue.comment, "lead-1", pid, "1.7", "Ist hochgeladen.")
    assert world.read(lambda uow: sa.tasks(uow, "lead-1"))[0].open_questions == ()
    sa.add_evidence(world.app, "lead-1", pid, "1.7", _evidence_fields("1.7", art="fortbildung", stunden="40"),
                    io.BytesIO(PDF), "weiterbildung.pdf")
    ws = world.read(lambda uow: sa.workspace(uow, "lead-1", pid))
    assert (ws.source, ws.revision) == ("draft", 2)
    result = sa.submit_draft(world.app, "lead-1", pid, "nachgebessert")
    assert result.changes[0].event == "resubmit" and result.facts["revision"] == 2 and result.count == 1
    assert world.read(lambda uow: sa.tasks(uow, "lead-1"))[0].actions == ("withdraw",)


def test_the_tasks_name_the_next_step_and_the_documents_at_the_end(db_world):
    world = db_world
    pid = world.nominate("fz-1")
    (task,) = _run(world, lambda uow: sa.tasks(uow, "lead-1"))
    assert task.actions == ("register", "withdraw") and not task.editable and task.row.next_deadline is not None
    with pytest.raises(UseCaseError) as not_lead:
        _run(world, lambda uow: sa.tasks(uow, "coord-a"))
    assert "ist die Seite der Kita-Leitung" in not_lead.value.message
    world.to_development(pid)
    (task,) = _run(world, lambda uow: sa.tasks(uow, "lead-1"))
    assert task.actions == ("submit", "withdraw") and task.editable and task.draft_revision is None
    assert task.qualitaetsprofile == () and task.seals == ()
    certified = world.certify("fz-v", "lead-v", sites=("k2", "k3"))
    (done,) = _run(world, lambda uow: sa.tasks(uow, "lead-v"))
    assert done.qualitaetsprofile == (certified,) and len(done.seals) == 1 and done.actions == ()
    with pytest.raises(UseCaseError):  # the Qualitätsprofil after the decision only, and only one's own
        _run(world, lambda uow: sa._decided_own(uow, "lead-1", pid))
    with pytest.raises(UseCaseError):
        _run(world, lambda uow: sa._own_seal(uow, "lead-1", done.seals[0]))
    _run(world, lambda uow: sa._own_seal(uow, "lead-v", done.seals[0]))


# --- the staging area itself --------------------------------------------------------------------------------------


def test_the_staging_area_lives_beside_the_store_and_refuses_odd_procedure_ids(tmp_path):
    store = LocalEvidenceStore(tmp_path / "belege")
    staging = EvidenceStaging.beside(store)
    assert staging.root == (tmp_path / "belege-staging").absolute()
    assert (staging.max_bytes, staging.allowed) == (store.max_bytes, store.allowed)
    first = staging.stage("V-2025-001", io.BytesIO(PDF), "a.pdf")
    again = staging.stage("V-2025-001", PDF, "b.pdf")
    assert first.new and not again.new and first.stored.sha256 == again.stored.sha256
    assert staging.path("V-2025-001", first.stored.sha256).read_bytes() == PDF
    for bad in ("../x", "a/b", "..", "", ".hidden"):
        with pytest.raises(ValueError):
            staging.stage(bad, PDF, "a.pdf")
    other = staging.stage("V-2025-001", tiny_png("y"), "c.png").stored.sha256
    staging.clear("V-2025-001", keep=[other])
    assert staging.staged("V-2025-001") == {other}
    staging.clear("V-2025-001")
    assert not (staging.root / "V-2025-001").exists() and not store.root.exists()
