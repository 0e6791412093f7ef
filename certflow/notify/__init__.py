"""Adapters that deliver reminders: mail rendering (Jinja2), SMTP, digests, back-off, iCalendar feeds.

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
    reminder_delivery_key,
    reminder_message,
)
from .retry import BACKOFF, MAX_ATTEMPTS, next_attempt
from .smtp import DeliveryError, SmtpConfig, SmtpConfigError, classify, send

__all__ = [
    "BACKOFF", "DIGEST_SETTINGS", "MAX_ATTEMPTS", "Addressee", "Delivery", "DeliveryError", "DigestSettings",
    "MailRenderer", "Pending", "Preference", "RenderedMail", "SmtpConfig", "SmtpConfigError", "batch_for_delivery",
    "build_calendar", "classify", "compose", "digest_message", "familienzentrum_feed", "jugendamt_feed",
    "message_id", "next_attempt", "reminder_delivery_key", "reminder_message", "send", "slot_of",
]
