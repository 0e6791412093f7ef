"""The lifecycle on the command line (CliRunner, temporary SQLite files): demo, a scripted cycle, scopes, exit codes.

Every command proves its ``--as`` with the user's API token (``demo_proven``/``cli_tokens`` in conftest);
what happens without one: tests/test_cli_auth.py.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from click.testing import CliRunner

from certflow.catalogue.model import Form, ProcedureKind, Variant
from certflow.cli import cli
from certflow.lifecycle import local_date, utc_now
from certflow.resources import default_catalogue
from certflow.samples import satisfying_assessment
from conftest import TOKENS

DAY = "2026-03-10"
FZ_ID = re.compile(r"^(fz-[a-z-]+)\s", re.M)


def invoke(*args, env=None, proof_of=None):
    """``certflow ARGS`` with the token of the ``--as`` user (or of ``proof_of``) on the ``--db`` of ARGS."""
    runner = CliRunner(env={"COLUMNS": "110", **TOKENS.env(args, user=proof_of), **(env or {})})
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def db(demo_proven, tmp_path):
    """A private copy of the demo database (built once per session, see conftest; with the users' tokens)."""
    return demo_proven.copy(tmp_path / "demo.sqlite")


def test_demo_prints_what_it_made(demo_db):
    output = demo_db.output
    assert "Demo-Datenbank certflow-demo.sqlite angelegt, Stand 10.03.2026." in output.replace("\n", "")
    flat = " ".join(output.split())
    assert ("Angelegt: 2 Jugendämter, 4 Träger, 12 Kitas, 10 Familienzentren, 17 Benutzer, 13 Verfahren, "
            "4 Urkunden, 7 Kontingente") in flat
    assert ("Verfahren: 1 nominiert, 1 registriert, 1 in Entwicklung, 1 eingereicht, 1 Nachbesserung angefordert, "
            "1 Begehung geplant, 1 begangen, 4 zertifiziert, 1 nicht zertifiziert, 1 zurückgezogen") in flat
    assert "Urkunden: 1 gültig, 1 Re-Zertifizierung fällig, 1 erneuert, 1 abgelaufen" in output
    assert "Übersicht (als admin)" in output and "Benutzer für --as" in output
    assert len(FZ_ID.findall(output.split("Benutzer für --as")[0])) == 10
    assert "certflow --db" in output and "overview --as koord-wiesental" in output
    assert max(len(line) for line in output.splitlines() if not line.startswith("  certflow")) <= 110


def _ids(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return FZ_ID.findall(result.output)


def test_the_overview_is_scoped_per_user(db):
    def rows(user):
        return _ids(invoke("--db", db, "overview", "--as", user, "--today", DAY))

    assert rows("admin") == rows("zert-1") == [
        "fz-arche-noah", "fz-kunterbunt", "fz-muehlenbach", "fz-nordstern", "fz-pusteblume", "fz-rheinwiese",
        "fz-schlossgarten", "fz-senfkorn", "fz-sonnenblume", "fz-zechenhaus"]
    assert rows("koord-hellbach") == ["fz-arche-noah", "fz-nordstern", "fz-rheinwiese", "fz-senfkorn",
                                      "fz-zechenhaus"]
    assert rows("koord-wiesental") == ["fz-kunterbunt", "fz-muehlenbach", "fz-pusteblume", "fz-schlossgarten",
                                       "fz-sonnenblume"]
    assert rows("leitung-kunterbunt") == ["fz-kunterbunt"]
    assert rows("auditor-2") == ["fz-rheinwiese", "fz-zechenhaus"]
    lead = invoke("overview", "--db", db, "--as", "leitung-kunterbunt", "--today", DAY)  # --db after the command
    assert "Kunterbunt" in lead.output and "V-2025-007" in lead.output and "Entscheidung" in lead.output


def _assessment_file(tmp_path, period_start: date, period_end: date):
    from certflow.assessment.model import Period
    from certflow.catalogue import load_catalogue

    catalogue = load_catalogue(default_catalogue())
    assessment = satisfying_assessment(catalogue, Variant(ProcedureKind.ERST, Form.EINZEL),
                                       Period(start=period_start, end=period_end), name="Familienzentrum Zechenhaus")
    path = tmp_path / "selbstbewertung.json"
    path.write_text(json.dumps(assessment.model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    return path


def test_a_short_scripted_cycle_with_as(db, tmp_path):
    today = local_date(utc_now()).isoformat()

    def step(*args, who):
        result = invoke("--db", db, *args, "--as", who, "--reason", "im Test")
        assert result.exit_code == 0, result.output
        return result.output

    nominated = step("procedure", "nominate", "fz-zechenhaus", "--kgj", "2025/26", who="koord-hellbach")
    pid = re.search(r"Verfahren (V-\d{4}-\d{3})", nominated).group(1)
    assert pid == "V-2025-008" and "(Kontingent Jugendamt der Stadt Hellbach: 4 von 5 vergeben)" in nominated
    assert step("procedure", "register", pid, who="leitung-zechenhaus") == f"Verfahren {pid}: nominiert → registriert\n"
    step("procedure", "start", pid, who="leitung-zechenhaus")
    submitted = step("procedure", "submit", pid, _assessment_file(tmp_path, date(2025, 8, 1), date(2026, 7, 31)),
                     who="leitung-zechenhaus")
    assert "eingereicht; Revision 1 eingefroren" in submitted and "Bewertung: erfüllt" in submitted
    step("procedure", "schedule-audit", pid, "--auditor", "auditor-1", "--date", today, who="zert-1")
    verdicts = tmp_path / "bewertungen.yaml"
    verdicts.write_text("1.1: {verdict: erfuellt, remark: vorgelegt}\n1.5: erfuellt\n", encoding="utf-8")
    recorded = step("procedure", "record-audit", pid, "--date", today, "--verdicts", verdicts, who="auditor-1")
    assert "2 Bewertung(en) erfasst" in recorded
    step("procedure", "sign-off", pid, who="auditor-1")
    decided = step("procedure", "decide", pid, "--outcome", "certify", who="zert-2")
    assert re.search(r"zertifiziert; Gütesiegel FZ-\d{4}-00\d ausgestellt", decided)

    history = invoke("--db", db, "history", pid, "--as", "leitung-zechenhaus")
    assert history.exit_code == 0
    for what in ("Nominiert", "Registrieren", "Einreichen (Revision 1,", "Begehung planen", "Begehung erfassen",
                 "Bewertung 1.1: erfüllt", "Begehung abgezeichnet", "Zertifizieren", "Murat Kaya", "Felix Roth"):
        assert what in history.output
    verified = invoke("audit", "verify", "--url", f"sqlite:///{db}")
    assert verified.exit_code == 0 and "Prüfprotokoll in Ordnung" in verified.output


@pytest.mark.parametrize(("args", "code", "message"), [
    (("procedure", "decide", "V-2025-007", "--outcome", "certify", "--as", "auditor-1", "--reason", "x"), 3,
     "Abgelehnt: Die Entscheidung trifft die Zertifizierungsstelle; Dr. Henrike Feldmann hat die Rolle 'Auditor'"),
    (("procedure", "register", "V-2025-003", "--as", "leitung-kunterbunt", "--reason", "x"), 3,
     "Abgelehnt: Kein Zugriff: Deniz Aksoy (Kita-Leitung) darf Verfahren V-2025-003 nicht sehen"),
    (("history", "V-2025-002", "--as", "koord-wiesental"), 3, "Abgelehnt: Kein Zugriff: Jana Wiesner"),
    (("overview", "--as", "niemand"), 3, "Abgelehnt: Unbekannter Benutzer 'niemand'"),
    (("procedure", "register", "V-1999-001", "--as", "admin", "--reason", "x"), 3,
     "Abgelehnt: Verfahren V-1999-001 gibt es nicht"),
    (("procedure", "verdicts", "V-2025-007", "{verdicts}", "--as", "auditor-1", "--reason", "x"), 3,
     "Abgelehnt: Die Begehung im Verfahren V-2025-007 wurde am"),
    (("certificate", "recertify", "fz-senfkorn", "--kgj", "2027/28", "--as", "zert-1", "--reason", "x"), 3,
     "Re-Zertifizierung kann nicht verschoben werden"),
    (("procedure", "nominate", "fz-zechenhaus", "--kgj", "2025/27", "--as", "koord-hellbach", "--reason", "x"), 2,
     "Ungültiges Kindergartenjahr „2025/27“"),
    (("procedure", "register", "V-2025-003", "--as", "leitung-sonnenblume"), 2, "Missing option '--reason'"),
    (("kitas", "import", "{csv}", "--as", "admin"), 2, "Fehler (Kita-Liste): 2 Problem(e)"),
])
def test_exit_codes_for_bad_input_and_refusals(db, tmp_path, args, code, message):
    csv = tmp_path / "kitas.csv"
    csv.write_text("id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n"
                   "k01;Doppelt;tr-kitawerk;ja-wiesental;Weg 1;59491;Ort;51,6;7,4\n"
                   "k99;Neu;tr-unbekannt;ja-wiesental;Weg 2;59491;Ort;51,6;7,4\n", encoding="utf-8")
    verdicts = tmp_path / "v.yaml"
    verdicts.write_text("1.1: nicht_erfuellt\n", encoding="utf-8")
    args = [str(a).format(csv=csv, verdicts=verdicts) for a in args]
    result = invoke("--db", db, *args, proof_of="admin" if "niemand" in args else None)  # no token of nobody
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    if args[0] == "kitas":
        assert f"{csv}:2: id: Kita 'k01' gibt es schon" in result.output
        assert f"{csv}:3: traeger_id: unbekannter Träger 'tr-unbekannt'" in result.output


def test_a_database_that_is_not_set_up_is_bad_usage(tmp_path):
    (tmp_path / "leer.sqlite").touch()  # an existing file without the schema (a missing one: test_input_limits)
    result = invoke("--db", tmp_path / "leer.sqlite", "overview", "--as", "admin")
    assert result.exit_code == 2
    assert "ist nicht eingerichtet: zuerst certflow db upgrade" in result.output


def _reminder_kinds(path, subject: str) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT kind FROM reminder WHERE subject = ? AND status != 'dropped'", (subject,))
        return {kind for (kind,) in rows}


def test_a_change_on_the_command_line_recomputes_that_familienzentrum_reminders(db):
    nominated = next(re.search(r"V-\d{4}-\d{3}", line).group(0)
                     for line in invoke("--db", db, "overview", "--as", "admin").output.splitlines()
                     if line.startswith("Sonnenblume"))
    subject = f"procedure:{nominated}"
    before = _reminder_kinds(db, subject)
    assert before and not any(kind.startswith("submission") for kind in before)
    result = invoke("--db", db, "procedure", "register", nominated, "--as", "leitung-sonnenblume",
                    "--reason", "Einladung angenommen")
    assert result.exit_code == 0, result.output
    after = _reminder_kinds(db, subject)
    assert after != before and any(kind.startswith("submission") for kind in after)
