"""The application layer: one function per use case, each run inside one unit of work.

::

    with UnitOfWork(engine) as uow:
        result = services.submit(uow, "u-lead", "V-2025-001", "selbstbewertung.yaml", "fertig")
    print(certflow.messages.describe(result), *result.warnings)

Every function takes the unit of work, the acting user's id and a reason for
each change; it resolves the user (:func:`.actors.resolve`), checks the read
scope (:mod:`certflow.lifecycle.access`), lets the domain's guards check roles
and rules, and saves through the repositories, which record who, when, what and
why. Refusals are :class:`certflow.lifecycle.Refused` (German message); bad
input files raise :class:`certflow.errors.InputError`. No SQL and no click here.
"""

from .actors import resolve
from .certificates import advance_certificates, start_recertification
from .common import Result, catalogue_for_key
from .contingents import carry_over, grant, return_places
from .procedures import (
    decide, nominate, record_audit, record_verdicts, register, request_changes, resubmit,
    schedule_audit, sign_off, start_development, submit, verdicts_of, withdraw,
)
from .queries import HistoryRow, OverviewRow, history, overview, packet_procedures, seal_numbers
from .records import add_jugendamt, add_traeger, add_user, create_familienzentrum, import_kitas, list_users
from .verbund import join, leave, restructure
from .verdicts import VerdictError, VerdictInput, load_verdicts, parse_verdicts

__all__ = [
    "HistoryRow", "OverviewRow", "Result", "VerdictError", "VerdictInput",
    "add_jugendamt", "add_traeger", "add_user", "advance_certificates", "carry_over", "catalogue_for_key",
    "create_familienzentrum", "decide", "grant", "history", "import_kitas", "join", "restructure",
    "leave", "list_users", "load_verdicts", "nominate", "overview", "packet_procedures", "parse_verdicts",
    "record_audit", "record_verdicts", "register", "request_changes", "resolve", "resubmit", "return_places",
    "schedule_audit", "seal_numbers", "sign_off", "start_development", "start_recertification", "submit",
    "verdicts_of", "withdraw",
]

# Accounts: passwords, login, one-time links, API tokens (certflow.services.accounts).
from .accounts import (  # noqa: E402
    authenticate_token, check_link, create_token, issue_one_time_link, list_tokens, redeem_link,
    request_password_reset, revoke_token, session_user, set_password, verify_login,
)

__all__ += [
    "authenticate_token", "check_link", "create_token", "issue_one_time_link", "list_tokens", "redeem_link",
    "request_password_reset", "revoke_token", "session_user", "set_password", "verify_login",
]

# Reminders: plan preview, catch-up scan, scheduler, outbox, retry, contacts, inbox, calendar feeds
# (certflow.services.reminders).
from .reminders import (  # noqa: E402
    CalendarFeed, CatchUp, ContactView, InboxMessage, InboxView, OutboxEntry, OutboxListing, PlannedReminder,
    PlanPreview, PlanRecipient, SchedulerBusy, calendar_feed, catch_up, contact_of, mark_read, outbox_listing,
    plan_preview, read_inbox, retry_mail, scheduler_runner, set_contact,
)

__all__ += [
    "CalendarFeed", "CatchUp", "ContactView", "InboxMessage", "InboxView", "OutboxEntry", "OutboxListing",
    "PlanPreview", "PlanRecipient", "PlannedReminder", "SchedulerBusy", "calendar_feed", "catch_up", "contact_of",
    "mark_read", "outbox_listing", "plan_preview", "read_inbox", "retry_mail", "scheduler_runner", "set_contact",
]

# The dialogue per criterion and the Qualitätsprofil's feedback (certflow.services.dialogue).
from .dialogue import comment, feedback, thread, write_feedback  # noqa: E402

__all__ += ["comment", "feedback", "thread", "write_feedback"]
