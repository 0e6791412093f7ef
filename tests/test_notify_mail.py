"""Mail rendering: German subject, plain-text and HTML parts, umlauts, a stable Message-ID."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime

import pytest
from test_reminders_plan import rich_snapshot
from test_reminders_support import AUDITOR, LEAD, cert, info, of_kind, proc, snapshot

from certflow.catalogue.model import Form
from certflow.lifecycle.entities import Familienzentrum, ProcedureState, Role
from certflow.notify import (
    Addressee,
    MailRenderer,
    digest_message,
    message_id,
    reminder_message,
)
from certflow.reminders import plan_reminders

NOW = datetime(2027, 1, 31, 6, 0, tzinfo=UTC)
SENDER = "certflow <noreply@certflow.example>"
ANNA = Addressee(LEAD.id, "Anna Müller", "anna.mueller@kita.example", Role.KITA_LEAD)


@pytest.fixture(scope="module")
def renderer():
    return MailRenderer(app_url="https://certflow.example/")


def parse(msg):
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def parts(msg):
    parsed = parse(msg)
    return parsed, parsed.get_body(("plain",)).get_content(), parsed.get_body(("html",)).get_content()


def test_ladder_reminder_has_subject_both_parts_and_umlauts(renderer):
    r = of_kind(plan_reminders(snapshot(certificates=(cert(date(2023, 6, 1)),))), "validity_6m")[0]
    msg = reminder_message(renderer, r, ANNA, sender=SENDER, now=NOW)
    parsed, text, html = parts(msg)
    assert parsed["Subject"] == "Gütesiegel läuft in 6 Monaten ab (31.07.2027) – Familienzentrum Sonnenblume"
    assert "=?utf-8?" in msg.as_string()  # the subject is encoded on the wire, not raw 8-bit
    assert parsed["To"].addresses[0].display_name == "Anna Müller"
    assert parsed["From"] == SENDER and parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_content_type() == "multipart/alternative"
    for body in (text, html):
        assert "Guten Tag Anna Müller" in body
        assert "31.07.2027" in body and "20.000 €" in body
        assert "Es ist noch keine Re-Zertifizierung eröffnet." in body
        assert "Prüfzeitraum" in body
    assert "sind noch 6 Monate" in text
    assert text.lstrip().startswith("Guten Tag") and "<" not in text
    assert html.lstrip().startswith("<!DOCTYPE html>") and 'lang="de"' in html
    assert "https://certflow.example" in text and 'href="https://certflow.example"' in html
    assert "Kita-Leitung" in text  # why the person gets it


def test_message_id_is_stable_and_per_person(renderer):
    rs = plan_reminders(snapshot(certificates=(cert(date(2023, 6, 1)),)))
    lapsed = of_kind(rs, "lapsed")[0]
    one = reminder_message(renderer, lapsed, ANNA, sender=SENDER, now=NOW)
    two = reminder_message(MailRenderer(), lapsed, ANNA, sender=SENDER, now=datetime(2030, 1, 1, tzinfo=UTC))
    other = reminder_message(renderer, lapsed, Addressee("u-coord", "Jörg Weiß", "j@ja.example"), sender=SENDER,
                             now=NOW)
    assert one["Message-ID"] == two["Message-ID"] == message_id(f"{lapsed.key}#{LEAD.id}", "certflow.example")
    assert one["Message-ID"] != other["Message-ID"]
    assert one["Message-ID"].startswith("<") and one["Message-ID"].endswith("@certflow.example>")
    assert one["X-Certflow-Reminder"] == lapsed.key


def test_every_planned_kind_renders_for_every_recipient(renderer):
    rs = plan_reminders(rich_snapshot())
    assert {r.family for r in rs} == {"certificate", "procedure", "calendar", "evidence", "escalation"}
    for r in rs:
        for user_id in r.user_ids:
            to = Addressee(user_id, "Frau Überall", f"{user_id}@example.org")
            rendered = renderer.render(r, to)
            assert rendered.subject == r.title
            assert "Was zu tun ist" in rendered.text and "Was zu tun ist" in rendered.html
            assert "None" not in rendered.text, (r.kind, rendered.text)


def test_procedure_mails_speak_to_the_role(renderer):
    p = proc(ProcedureState.AUDIT_SCHEDULED, auditor=AUDITOR.id)
    (r,) = plan_reminders(snapshot(procedures=(info(p, date(2027, 2, 20), audit=date(2027, 3, 18)),)))
    auditor = renderer.render(r, Addressee(AUDITOR.id, "Bea Prüfer", "bea@example.org", Role.AUDITOR))
    lead = renderer.render(r, ANNA)
    assert "Donnerstag, 18.03.2027 (in 7 Tagen)" in auditor.text
    assert "bestätigen Sie den Termin" in auditor.text and "Unterlagen zu den Angeboten" in lead.text
    assert "Ein Ergebnis wird vor Ort nicht mitgeteilt." in lead.html


def test_escalation_mail_names_the_overdue_step(renderer):
    rs = plan_reminders(snapshot(procedures=(info(proc(ProcedureState.IN_DEVELOPMENT), date(2026, 1, 1)),)))
    esc = of_kind(rs, "submission_due.escalated")[0]
    out = renderer.render(esc, Addressee("u-coord", "Jörg Weiß", "j@ja.example", Role.COORDINATOR))
    assert out.subject.startswith("Eskalation: Selbstbewertung einreichen bis 14.02.2027")
    assert "seit 14 Tagen überfällig" in out.text and "Fällig seit:  14.02.2027" in out.text
    assert "Zuständig:    Kita-Leitung" in out.text and "in Entwicklung seit 01.01.2026" in out.text
    assert "Rolle „Koordination im Jugendamt“. Ob Sie" in out.html


def test_html_escapes_names_but_the_text_part_keeps_them(renderer):
    odd = Familienzentrum("FZ-1", "Kita <Sonne> & Mond", Form.EINZEL, ("K-1",), "K-1", "JA-1")
    rs = plan_reminders(snapshot(familienzentren=(odd,), certificates=(cert(date(2023, 6, 1)),)))
    out = renderer.render(of_kind(rs, "validity_3m")[0], ANNA)
    assert "Kita <Sonne> & Mond" in out.text
    assert "Kita &lt;Sonne&gt; &amp; Mond" in out.html and "<Sonne>" not in out.html


def test_digest_lists_every_reminder_with_a_stable_message_id(renderer):
    rs = plan_reminders(rich_snapshot())[:5]
    coordinator = Addressee("u-coord", "Jörg Weiß", "j@ja.example", Role.COORDINATOR)
    msg = digest_message(renderer, "digest:daily:u-coord:2027-01-31", rs, coordinator, label="vom 31.01.2027",
                         sender=SENDER, now=NOW)
    parsed, text, html = parts(msg)
    assert parsed["Subject"] == "Gütesiegel Familienzentrum: 5 Erinnerungen vom 31.01.2027"
    assert parsed["Message-ID"] == message_id("digest:daily:u-coord:2027-01-31", "certflow.example")
    for r in rs:
        assert r.title in text and r.title in html
    assert text.count("Termin: ") == 5 and html.count("<li") == 5
    with pytest.raises(ValueError):
        renderer.render_digest([], coordinator, label="vom 31.01.2027")


def test_naive_time_is_refused(renderer):
    r = plan_reminders(snapshot(certificates=(cert(date(2023, 6, 1)),)))[0]
    with pytest.raises(ValueError):
        reminder_message(renderer, r, ANNA, sender=SENDER, now=datetime(2027, 1, 1))

