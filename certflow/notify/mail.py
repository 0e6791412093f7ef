"""Reminders as German e-mails: Jinja2 templates from ``templates/mail/``, plain text and HTML.

One template pair per kind family (``certificate``, ``procedure``,
``calendar``, ``evidence``, ``escalation``) plus ``digest``; ``.txt`` is the
plain-text part, ``.html`` the HTML alternative (autoescaped). A certification
body brands its mails by pointing :class:`MailRenderer` at its own copy of the
folder.

:meth:`MailRenderer.render` gives the subject and both bodies (the in-app
inbox shows the same texts); :func:`compose` wraps them into an
:class:`~email.message.EmailMessage` whose Message-ID is derived from the
delivery key (:func:`message_id`): the same reminder to the same person always
has the same Message-ID, so a duplicate caused by a crash can be recognised.
"""

from __future__ import annotations

import html

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..calendar import format_date_de
from ..lifecycle.entities import ROLE_LABELS, Role
from ..reminders.model import Reminder, base_kind
from ..resources import templates_dir

__all__ = [
    "Addressee", "MailRenderer", "RenderedMail", "compose", "digest_message", "message_id", "reminder_delivery_key",
    "reminder_message",
]

WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


@dataclass(frozen=True, slots=True)
class Addressee:
    """A person with an e-mail address (from the user table)."""

    user_id: str
    name: str
    email: str
    role: Role | None = None

    @property
    def role_label(self) -> str | None:
        return ROLE_LABELS[self.role] if self.role else None


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _datum(value: date | datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        value = value.date()
    return format_date_de(value)


def _weekday(value: date) -> str:
    return WEEKDAYS[value.weekday()]


def _frist(days: int) -> str:
    """How far away a deadline is: ``heute``, ``morgen``, ``in 7 Tagen``; past: ``seit 3 Tagen``."""
    if days == 0:
        return "heute"
    if days == 1:
        return "morgen"
    if days < 0:
        return "seit 1 Tag" if days == -1 else f"seit {-days} Tagen"
    return f"in {days} Tagen"


def message_id(delivery_key: str, domain: str) -> str:
    """``<hex@domain>`` from the delivery key: stable, unique per reminder and person."""
    digest = hashlib.sha256(delivery_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def reminder_delivery_key(reminder: Reminder, user_id: str) -> str:
    """The outbox key of one reminder for one person: ``<reminder key>#<user id>``."""
    return f"{reminder.key}#{user_id}"


class MailRenderer:
    """Renders reminders and digests with the templates in ``folder`` (default: ``templates/mail``)."""

    def __init__(self, folder: Path | str | None = None, *, app_url: str | None = None):
        self.folder = Path(folder) if folder is not None else templates_dir() / "mail"
        self.app_url = app_url.rstrip("/") if app_url else None
        self.env = Environment(
            loader=FileSystemLoader(str(self.folder)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )
        self.env.filters["datum"] = _datum
        self.env.filters["wochentag"] = _weekday
        self.env.filters["frist"] = _frist
        self.env.filters["basis"] = base_kind

    def _context(self, addressee: Addressee, **extra) -> dict:
        return {"to": addressee, "app_url": self.app_url, **extra}

    def _pair(self, name: str, context: dict) -> tuple[str, str]:
        text = self.env.get_template(f"{name}.txt").render(context)
        html = self.env.get_template(f"{name}.html").render(context)
        return text, html

    def render(self, reminder: Reminder, addressee: Addressee) -> RenderedMail:
        """Subject (the reminder's German title) and both bodies for one person."""
        context = self._context(addressee, r=reminder, f=reminder.facts, kind=base_kind(reminder.kind))
        text, html = self._pair(reminder.family, context)
        return RenderedMail(reminder.title, text, html)

    def render_digest(self, reminders: Sequence[Reminder], addressee: Addressee, *, label: str) -> RenderedMail:
        """A digest of several reminders; ``label`` names the period (``vom 14.07.2025``, ``der Woche 29/2025``)."""
        if not reminders:
            raise ValueError("a digest needs at least one reminder")
        ordered = sorted(reminders, key=lambda r: (-r.level, r.event_date, r.subject, r.kind))
        count = len(ordered)
        noun = "Erinnerung" if count == 1 else "Erinnerungen"
        subject = f"Gütesiegel Familienzentrum: {count} {noun} {label}"
        text, html = self._pair("digest", self._context(addressee, reminders=ordered, label=label, count=count))
        return RenderedMail(subject, text, html)


def compose(rendered: RenderedMail, *, sender: str, addressee: Addressee, msg_id: str, now: datetime,
            headers: Iterable[tuple[str, str]] = ()) -> EmailMessage:
    """The e-mail: German subject, a plain-text part and an HTML alternative, UTF-8."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = Address(display_name=addressee.name, addr_spec=addressee.email)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Content-Language"] = "de"
    for name, value in headers:
        msg[name] = value
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def prepared_message(subject: str, body: str, addressee: Addressee, *, delivery_key: str, sender: str,
                     now: datetime) -> EmailMessage:
    """A mail the application prepared as plain text (a one-time login link): the text, and the same text
    escaped as the HTML alternative, with the Message-ID derived from the outbox key like every other mail."""
    paragraphs = "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in body.split("\n\n"))
    rendered = RenderedMail(subject, body, f"<!DOCTYPE html><html lang=\"de\"><body>{paragraphs}</body></html>")
    return compose(rendered, sender=sender, addressee=addressee, msg_id=message_id(delivery_key, _domain(sender)),
                   now=now)


def _domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] if "@" in address else "certflow.invalid"


def reminder_message(renderer: MailRenderer, reminder: Reminder, addressee: Addressee, *, sender: str,
                     now: datetime) -> EmailMessage:
    """One reminder to one person, Message-ID from :func:`reminder_delivery_key`."""
    key = reminder_delivery_key(reminder, addressee.user_id)
    return compose(renderer.render(reminder, addressee), sender=sender, addressee=addressee,
                   msg_id=message_id(key, _domain(sender)), now=now,
                   headers=[("X-Certflow-Reminder", reminder.key)])


def digest_message(renderer: MailRenderer, delivery_key: str, reminders: Sequence[Reminder], addressee: Addressee,
                   *, label: str, sender: str, now: datetime) -> EmailMessage:
    """A digest to one person, Message-ID from the digest's delivery key."""
    return compose(renderer.render_digest(reminders, addressee, label=label), sender=sender, addressee=addressee,
                   msg_id=message_id(delivery_key, _domain(sender)), now=now,
                   headers=[("X-Certflow-Digest", delivery_key)])

