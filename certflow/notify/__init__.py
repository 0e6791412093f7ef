"""Adapters that deliver reminders: mail rendering (Jinja2), SMTP, digests, back-off, iCalendar feeds.

Mail leaves through one seam, :class:`Transport` (:mod:`.transport`): :class:`SmtpTransport` over the
one SMTP conversation (:func:`send`), or :class:`MemoryTransport`, its in-memory twin for tests.

The planning itself is pure and lives in :mod:`certflow.reminders`; see docs/reminders.md for the
seams the database, outbox and scheduler call.
"""

from .digest import (
    DIGEST_SETTINGS,
    Delivery,
    DigestSettings,
    Pending,
    Preference,
    batch_for_delivery,
    slot_of,
)
from .ics import build_calendar, familienzentrum_feed, jugendamt_feed
from .mail import (
    Addressee,
    MailRenderer,
    RenderedMail,
    compose,
    digest_message,
    message_id,
    prepared_message,
    reminder_delivery_key,
    reminder_message,
)
from .retry import BACKOFF, MAX_ATTEMPTS, next_attempt
from .smtp import DeliveryError, SmtpConfig, SmtpConfigError, classify, send
from .transport import MemoryTransport, SmtpTransport, Transport, smtp_transport

__all__ = [
    "BACKOFF", "DIGEST_SETTINGS", "MAX_ATTEMPTS", "Addressee", "Delivery", "DeliveryError", "DigestSettings",
    "MailRenderer", "MemoryTransport", "Pending", "Preference", "RenderedMail", "SmtpConfig", "SmtpConfigError",
    "SmtpTransport", "Transport", "batch_for_delivery", "build_calendar", "classify", "compose", "digest_message",
    "familienzentrum_feed", "jugendamt_feed", "message_id", "next_attempt", "prepared_message", "reminder_delivery_key",
    "reminder_message", "send", "slot_of", "smtp_transport",
]
