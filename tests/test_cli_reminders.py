"""``certflow reminders plan|run|outbox|retry|contact``, ``certflow inbox``, ``certflow calendar`` on both databases."""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner
from icalendar import Calendar
from test_scheduler_support import NOW, Server, counts, inbox, outbox, reminders, world  # noqa: F401

from certflow.cli.reminders import calendar_command, inbox as inbox_command, reminders as reminders_group
from certflow.scheduler import scan
from db_support import backend, db_url, engine, postgres_admin  # noqa: F401

NO_SMTP = {"CERTFLOW_SMTP_HOST": "", "COLUMNS": "200"}


def invoke(command, *args, env=NO_SMTP):
    result = CliRunner().invoke(command, list(args), env=env)
    return result


def test_plan_shows_what_would_go_out_and_to_whom_without_sending(world, db_url):
    before = counts(world)
    result = invoke(reminders_group, "plan", "--as-of", "2027-06-30", "--db", db_url)
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
    after = invoke(reminders_group, "plan", "--as-of", "2027-06-30", "--db", db_url)
    assert "0 würden am 30.06.2027 versandt, 4 bereits übergeben" in after.output
    assert "ja (1 versandt)" in after.output
    assert counts(world)["outbox_item"] == 3


def test_run_catches_up_a_day_and_reports(world, db_url):
    result = invoke(reminders_group, "run", "--as-of", "2027-06-30", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "Kein Mailserver eingerichtet" in result.output
    assert "Lauf 30.06.2027:" in result.output and "4 fällig übergeben" in result.output
    assert "3 warten auf einen Mailserver" in result.output
    assert reminders(world)["certificate:FZ-2023-007/2023-06-01|validity_1m|2027-06-30"] == "queued"
    with Server() as server:
        env = {"CERTFLOW_SMTP_HOST": "127.0.0.1", "CERTFLOW_SMTP_PORT": str(server.port), "CERTFLOW_SMTP_TLS": "none",
               "CERTFLOW_SMTP_FROM": "certflow <noreply@certflow.example>"}
        again = invoke(reminders_group, "run", "--as-of", "2027-06-30T14:00", "--db", db_url, env=env)
        assert again.exit_code == 0, again.output
        assert "3 versandt" in again.output and len(server.handler.received) == 3
    bad = invoke(reminders_group, "run", "--as-of", "30.06.2027", "--db", db_url)
    assert bad.exit_code == 2 and "kein Datum" in bad.output


def test_a_broken_smtp_configuration_is_a_usage_error(tmp_path):
    db = f"sqlite:///{tmp_path / 'unused.sqlite'}"
    result = invoke(reminders_group, "run", "--db", db, env={"CERTFLOW_SMTP_HOST": "mail.example"})
    assert result.exit_code == 2 and "CERTFLOW_SMTP_FROM" in result.output


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
    unknown = invoke(inbox_command, "--as", "u-nobody", "--db", db_url)
    assert unknown.exit_code == 2 and "gibt es nicht" in unknown.output


def test_outbox_retry_and_contact(world, db_url):
    with Server(replies=["550 5.1.1 Mailbox unbekannt"]) as server:
        scan(world, NOW, smtp=server.config)
    (failed,) = [r for r in outbox(world) if r.status == "failed"]
    listing = invoke(reminders_group, "outbox", "--status", "failed", "--db", db_url)
    assert listing.exit_code == 0 and "fehlgeschlagen" in listing.output and "550" in listing.output
    retry = invoke(reminders_group, "retry", failed.key, "--db", db_url)
    assert retry.exit_code == 0, retry.output
    assert next(r for r in outbox(world) if r.key == failed.key).status == "pending"
    assert invoke(reminders_group, "retry", "gibt-es-nicht", "--db", db_url).exit_code == 2
    shown = invoke(reminders_group, "contact", "u-lead", "--db", db_url)
    assert "anna.mueller@kita.example, sofort" in shown.output
    changed = invoke(reminders_group, "contact", "u-lead", "--preference", "weekly", "--db", db_url)
    assert "anna.mueller@kita.example, wöchentlich" in changed.output
    assert "nur Posteingang" in invoke(reminders_group, "contact", "u-admin", "--db", db_url).output


def test_calendar_feeds_are_written_and_parse_back(world, db_url, tmp_path):
    sonnenblume = ("Gültigkeit des Gütesiegels: Familienzentrum Sonnenblume", date(2027, 7, 31))
    regenbogen = ("Gültigkeit des Gütesiegels: Familienzentrum Regenbogen", date(2028, 7, 31))
    for scope, ident in (("jugendamt", "ja-1"), ("familienzentrum", "fz-2")):
        target = tmp_path / f"{scope}.ics"
        args = (f"--{scope}", ident, "-o", str(target), "--as-of", "2027-06-30", "--db", db_url)
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
    missing = invoke(calendar_command, "--jugendamt", "ja-9", "-o", str(tmp_path / "x.ics"), "--db", db_url)
    assert missing.exit_code == 2 and "Jugendamt ja-9 gibt es nicht" in missing.output


def test_calendar_needs_exactly_one_scope(tmp_path):
    result = invoke(calendar_command, "-o", str(tmp_path / "x.ics"), "--db", f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert result.exit_code == 2 and "Genau eines angeben" in result.output
