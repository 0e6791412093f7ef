"""``certflow reminders plan|run|outbox|retry|contact``, ``certflow inbox``, ``certflow calendar`` on both databases.

Every command names who acts (``--as``), proven with that user's token (conftest), and is scoped
(certflow.services.reminders): refusals exit 3 and change nothing.
"""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner
from icalendar import Calendar
from sqlalchemy.orm import Session
from test_scheduler_support import NOW, Server, counts, inbox, outbox, reminders, world  # noqa: F401

from certflow.cli.reminders import calendar_command, inbox as inbox_command, reminders as reminders_group
from certflow.cli.reminders import scheduler as scheduler_group
from certflow.db import audit_log
from certflow.scheduler import scan
from conftest import TOKENS
from db_support import backend, db_url, engine, postgres_admin  # noqa: F401

NO_SMTP = {"CERTFLOW_SMTP_HOST": "", "COLUMNS": "200"}


def invoke(command, *args, env=NO_SMTP, proof_of=None):
    """``command ARGS`` with the token of the ``--as`` user (or of ``proof_of``) on the ``--db`` of ARGS."""
    result = CliRunner().invoke(command, list(args), env={**TOKENS.env(args, user=proof_of), **env})
    return result


def audit_count(engine) -> int:
    with Session(engine) as session:
        return audit_log.count(session)


def test_plan_shows_what_would_go_out_and_to_whom_without_sending(world, db_url):
    before = counts(world)
    result = invoke(reminders_group, "plan", "--as-of", "2027-06-30", "--as", "u-admin", "--db", db_url)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Erinnerungen am 30.06.2027" in out
    assert "validity_1m" in out and "Anna Müller (sofort)" in out and "Ben Schulz (täglich)" in out
    assert "validity_3m.escalated" in out and "Jörg Weiß (sofort)" in out
    assert "niemand als Kita-Leitung (familienzentrum:fz-2)" in out
    assert "4 würden am 30.06.2027 versandt, 0 bereits übergeben" in out
    assert "Nichts wurde gesendet oder gespeichert." in out
    assert counts(world) == before == {"reminder": 0, "outbox_item": 0, "inbox_message": 0}
    with Server() as server:
        scan(world, NOW, smtp=server.config)
    after = invoke(reminders_group, "plan", "--as-of", "2027-06-30", "--as", "u-admin", "--db", db_url)
    assert "0 würden am 30.06.2027 versandt, 4 bereits übergeben" in after.output
    assert "ja (1 versandt)" in after.output
    assert counts(world)["outbox_item"] == 3
    # the coordinator sees their Jugendamt's plan (here: all of it); a Kita lead none
    mine = invoke(reminders_group, "plan", "--as-of", "2027-06-30", "--as", "u-coord", "--db", db_url)
    assert mine.exit_code == 0 and "0 würden am 30.06.2027 versandt, 4 bereits übergeben" in mine.output
    other = invoke(reminders_group, "plan", "--as", "u-coord", "--jugendamt", "ja-2", "--db", db_url)
    assert other.exit_code == 3 and "Abgelehnt: Kein Zugriff" in other.output
    lead = invoke(reminders_group, "plan", "--as-of", "2027-06-30", "--as", "u-lead", "--db", db_url)
    assert lead.exit_code == 3 and "Die Erinnerungsvorschau ist der Rolle 'Kita-Leitung' nicht erlaubt" in lead.output


def test_run_catches_up_a_day_and_reports(world, db_url):
    result = invoke(reminders_group, "run", "--as-of", "2027-06-30", "--as", "u-admin", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "Kein Mailserver eingerichtet" in result.output
    assert "Lauf 30.06.2027:" in result.output and "4 fällig übergeben" in result.output
    assert "3 warten auf einen Mailserver" in result.output
    assert reminders(world)["certificate:FZ-2023-007/2023-06-01|validity_1m|2027-06-30"] == "queued"
    with Server() as server:
        env = {"CERTFLOW_SMTP_HOST": "127.0.0.1", "CERTFLOW_SMTP_PORT": str(server.port), "CERTFLOW_SMTP_TLS": "none",
               "CERTFLOW_SMTP_FROM": "certflow <noreply@certflow.example>"}
        again = invoke(reminders_group, "run", "--as-of", "2027-06-30T14:00", "--as", "u-admin", "--db", db_url,
                       env=env)
        assert again.exit_code == 0, again.output
        assert "3 versandt" in again.output and len(server.handler.received) == 3
    bad = invoke(reminders_group, "run", "--as-of", "30.06.2027", "--as", "u-admin", "--db", db_url)
    assert bad.exit_code == 2 and "kein Datum" in bad.output


def test_only_the_admin_sends_and_the_refusal_changes_nothing(world, db_url):
    TOKENS.mint(db_url, "u-coord", "u-lead", "u-cert", "u-admin")  # before counting: minting is audited
    before = counts(world), audit_count(world)
    with Server() as server:
        env = {"CERTFLOW_SMTP_HOST": "127.0.0.1", "CERTFLOW_SMTP_PORT": str(server.port), "CERTFLOW_SMTP_TLS": "none",
               "CERTFLOW_SMTP_FROM": "certflow <noreply@certflow.example>"}
        for actor in ("u-coord", "u-lead", "u-cert"):
            result = invoke(reminders_group, "run", "--as-of", "2027-06-30", "--as", actor, "--db", db_url, env=env)
            assert result.exit_code == 3, result.output
            assert "Abgelehnt: Erinnerungen versenden ist der Rolle" in result.output
            once = invoke(scheduler_group, "run", "--once", "--as", actor, "--db", db_url, env=env)
            assert once.exit_code == 3 and "Abgelehnt: Den Scheduler starten" in once.output
        assert server.handler.received == []
    unknown = invoke(reminders_group, "run", "--as", "u-nobody", "--db", db_url, proof_of="u-admin")
    assert unknown.exit_code == 3 and "Unbekannter Benutzer" in unknown.output
    assert (counts(world), audit_count(world)) == before


def test_a_broken_smtp_configuration_is_a_usage_error(world, db_url):
    result = invoke(reminders_group, "run", "--as", "u-admin", "--db", db_url,
                    env={"CERTFLOW_SMTP_HOST": "mail.example"})
    assert result.exit_code == 2 and "CERTFLOW_SMTP_FROM" in result.output
    assert counts(world)["reminder"] == 0


def test_inbox_lists_the_messages_and_marks_them_read(world, db_url):
    scan(world, NOW)
    result = invoke(inbox_command, "--as", "u-lead", "--full", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "Posteingang von Anna Müller (1)" in result.output
    assert "Gütesiegel läuft in 1 Monat ab (31.07.2027) – Familienzentrum Sonnenblume" in result.output
    assert "Guten Tag Anna Müller" in result.output
    notices = invoke(inbox_command, "--as", "u-admin", "--unread", "--mark-read", "--db", db_url)
    assert "Hinweis" in notices.output and "Ohne Empfänger" in notices.output
    assert invoke(inbox_command, "--as", "u-admin", "--unread", "--db", db_url).output.count("keine ungelesenen") == 1
    assert all(m.read_at is not None for m in inbox(world, "u-admin"))
    assert all(m.read_at is None for m in inbox(world, "u-lead"))  # the admin marked only their own
    unknown = invoke(inbox_command, "--as", "u-nobody", "--db", db_url, proof_of="u-admin")
    assert unknown.exit_code == 3 and "Unbekannter Benutzer 'u-nobody'" in unknown.output


def test_outbox_retry_and_contact(world, db_url):
    with Server(replies=["550 5.1.1 Mailbox unbekannt"]) as server:
        scan(world, NOW, smtp=server.config)
    (failed,) = [r for r in outbox(world) if r.status == "failed"]
    listing = invoke(reminders_group, "outbox", "--status", "failed", "--as", "u-admin", "--db", db_url)
    assert listing.exit_code == 0 and "fehlgeschlagen" in listing.output and "550" in listing.output
    retry = invoke(reminders_group, "retry", failed.key, "--as", "u-admin", "--reason", "Adresse geprüft",
                   "--db", db_url)
    assert retry.exit_code == 0, retry.output
    assert next(r for r in outbox(world) if r.key == failed.key).status == "pending"
    missing = invoke(reminders_group, "retry", "gibt-es-nicht", "--as", "u-admin", "--reason", "x", "--db", db_url)
    assert missing.exit_code == 3 and "Keine fehlgeschlagene E-Mail" in missing.output
    shown = invoke(reminders_group, "contact", "--as", "u-lead", "--db", db_url)
    assert "anna.mueller@kita.example, sofort" in shown.output
    changed = invoke(reminders_group, "contact", "u-lead", "--preference", "weekly", "--as", "u-lead",
                     "--reason", "lieber gesammelt", "--db", db_url)
    assert changed.exit_code == 0 and "anna.mueller@kita.example, wöchentlich" in changed.output
    why = invoke(reminders_group, "contact", "--preference", "daily", "--as", "u-lead", "--db", db_url)
    assert why.exit_code == 2 and "--reason" in why.output
    assert "nur Posteingang" in invoke(reminders_group, "contact", "--as", "u-admin", "--db", db_url).output
    by_admin = invoke(reminders_group, "contact", "u-lead2", "--as", "u-admin", "--db", db_url)
    assert by_admin.exit_code == 0 and "ben.schulz@kita.example, täglich" in by_admin.output


def test_the_outbox_retry_and_others_contacts_are_refused_with_exit_3(world, db_url):
    with Server(replies=["550 5.1.1 Mailbox unbekannt"]) as server:
        scan(world, NOW, smtp=server.config)
    (failed,) = [r for r in outbox(world) if r.status == "failed"]
    TOKENS.mint(db_url, "u-coord", "u-lead", "u-lead2")  # before counting: minting is audited
    before = audit_count(world)
    listing = invoke(reminders_group, "outbox", "--as", "u-coord", "--db", db_url)
    assert listing.exit_code == 3 and "Den Postausgang ansehen ist der Rolle" in listing.output
    assert "ben.schulz" not in listing.output
    retry = invoke(reminders_group, "retry", failed.key, "--as", "u-lead", "--reason", "bitte", "--db", db_url)
    assert retry.exit_code == 3 and "Erneut versenden ist der Rolle 'Kita-Leitung' nicht erlaubt" in retry.output
    assert next(r for r in outbox(world) if r.key == failed.key).status == "failed"
    other = invoke(reminders_group, "contact", "u-lead2", "--email", "x@example.org", "--as", "u-lead",
                   "--reason", "fremd", "--db", db_url)
    assert other.exit_code == 3 and "nur die eigenen Kontaktangaben" in other.output
    look = invoke(reminders_group, "contact", "u-lead2", "--as", "u-coord", "--db", db_url)
    assert look.exit_code == 3 and "ben.schulz" not in look.output
    assert invoke(reminders_group, "contact", "--as", "u-lead2", "--db", db_url).output.strip().endswith(
        "ben.schulz@kita.example, täglich")
    assert audit_count(world) == before


def test_calendar_feeds_are_written_and_parse_back(world, db_url, tmp_path):
    sonnenblume = ("Gültigkeit des Gütesiegels: Familienzentrum Sonnenblume", date(2027, 7, 31))
    regenbogen = ("Gültigkeit des Gütesiegels: Familienzentrum Regenbogen", date(2028, 7, 31))
    for scope, ident, actor in (("jugendamt", "ja-1", "u-coord"), ("familienzentrum", "fz-2", "u-admin")):
        target = tmp_path / f"{scope}.ics"
        args = (f"--{scope}", ident, "-o", str(target), "--as-of", "2027-06-30", "--as", actor, "--db", db_url)
        result = invoke(calendar_command, *args)
        assert result.exit_code == 0, result.output
        cal = Calendar.from_ical(target.read_bytes())
        events = {(str(e["SUMMARY"]), e.decoded("DTSTART")) for e in cal.walk("VEVENT")}
        assert regenbogen in events and (sonnenblume in events) == (scope == "jugendamt")
        assert str(cal["X-WR-CALNAME"]).startswith("Gütesiegel-Termine – ")
        assert f"{len(events)} Termine" in result.output
        again = tmp_path / "again.ics"
        invoke(calendar_command, *args[:3], str(again), *args[4:])
        assert again.read_bytes() == target.read_bytes()  # same data, same bytes
    missing = invoke(calendar_command, "--jugendamt", "ja-9", "-o", str(tmp_path / "x.ics"), "--as", "u-admin",
                     "--db", db_url)
    assert missing.exit_code == 3 and "Jugendamt ja-9 gibt es nicht" in missing.output


def test_calendar_feeds_are_refused_outside_the_scope(world, db_url, tmp_path):
    target = tmp_path / "x.ics"
    for scope, ident, actor in (("jugendamt", "ja-1", "u-lead"), ("familienzentrum", "fz-2", "u-lead"),
                                ("familienzentrum", "fz-1", "u-aud"), ("jugendamt", "ja-2", "u-coord")):
        result = invoke(calendar_command, f"--{scope}", ident, "-o", str(target), "--as", actor, "--db", db_url)
        assert result.exit_code == 3 and "Abgelehnt: Kein Zugriff" in result.output, result.output
        assert not target.exists()
    mine = invoke(calendar_command, "--familienzentrum", "fz-1", "-o", "-", "--as", "u-lead", "--db", db_url)
    assert mine.exit_code == 0 and mine.output.startswith("BEGIN:VCALENDAR")


def test_calendar_needs_exactly_one_scope(world, db_url, tmp_path):
    result = invoke(calendar_command, "-o", str(tmp_path / "x.ics"), "--as", "u-admin", "--db", db_url)
    assert result.exit_code == 2 and "Genau eines angeben" in result.output


def test_the_commands_hold_no_query_and_no_rule():
    """cli/reminders.py only parses, calls a use case and prints: no database, scheduler or domain rules."""
    import ast
    import importlib
    import inspect

    module = importlib.import_module("certflow.cli.reminders")  # the attribute of certflow.cli is the group
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    forbidden = {name for name in imported if name.split(".")[0] == "sqlalchemy"
                 or name.lstrip(".").split(".")[0] in ("db", "scheduler", "notify", "reminders")}
    assert not forbidden, forbidden
