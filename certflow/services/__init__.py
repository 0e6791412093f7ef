"""The application layer: one function per use case; the entrypoints (command line, web) call nothing else.

::

    app = Application(Settings.from_env())                     # services.runner: engine, clock, after-commit
    result = app.run(lambda uow: services.submit(uow, "u-lead", "V-2025-001", "selbstbewertung.yaml", "fertig"))
    print(certflow.messages.describe(result), *result.warnings)

Most functions take the unit of work, the acting user's id and a reason for each change; a
few that run their own units of work around slow work (the sign-off renders its packet between
two, the documents render in worker processes, the scheduler's scan) take the
:class:`~.runner.Application`. Each resolves the user (:func:`.actors.resolve`), checks the read
scope (:mod:`certflow.lifecycle.access`), lets the domain's guards check roles and rules, and
saves through the repositories, which record who, when, what and why. Results are data
(:class:`~.common.Result`); the entrypoints word them. Refusals are
:class:`certflow.lifecycle.Refused` (German message); bad input raises
:class:`certflow.errors.InputError`. No SQL and no click here.

The modules, by concern: ``procedures`` (nominate … decide), ``certificates``, ``contingents``,
``verbund``, ``records`` (Jugendämter, Träger, users, Kitas), ``queries`` (overview, history),
``documents`` and ``rendering`` (packet, certificate, Qualitätsprofil), ``reminders``, ``dialogue``,
``accounts`` and ``identity`` (who acts), ``self_assessment``, ``review``, ``certification``,
``administration``, ``dashboard``, ``exports`` (what the web pages of each role need),
``maintenance`` (migrations, audit verification), ``runner`` (the use-case runner).
"""

from .accounts import (
    authenticate_token, check_link, create_token, issue_one_time_link, list_tokens, redeem_link,
    request_password_reset, revoke_token, session_user, set_password, verify_login,
)
from .actors import resolve
from .certificates import advance_certificates, start_recertification
from .common import Result, catalogue_for_key
from .contingents import carry_over, grant, return_places
from .dialogue import comment, feedback, thread, write_feedback
from .procedures import (
    decide, nominate, record_audit, record_verdicts, register, request_changes, resubmit, schedule_audit, sign_off,
    start_development, submit, verdicts_of, withdraw,
)
from .queries import HistoryRow, OverviewRow, history, overview, packet_procedures, seal_numbers
from .records import add_jugendamt, add_traeger, add_user, create_familienzentrum, import_kitas, list_users
from .reminders import (
    CalendarFeed, CatchUp, ContactView, InboxMessage, InboxView, OutboxEntry, OutboxListing, PlannedReminder,
    PlanPreview, PlanRecipient, SchedulerBusy, calendar_feed, catch_up, contact_of, mark_read, outbox_listing,
    plan_preview, read_inbox, retry_mail, scheduler_runner, set_contact,
)
from .verbund import join, leave, restructure
from .verdicts import VerdictError, VerdictInput, load_verdicts, parse_verdicts

__all__ = [
    "CalendarFeed", "CatchUp", "ContactView", "HistoryRow", "InboxMessage", "InboxView", "OutboxEntry",
    "OutboxListing", "OverviewRow", "PlanPreview", "PlanRecipient", "PlannedReminder", "Result", "SchedulerBusy",
    "VerdictError", "VerdictInput",
    "add_jugendamt", "add_traeger", "add_user", "advance_certificates", "authenticate_token", "calendar_feed",
    "carry_over", "catalogue_for_key", "catch_up", "check_link", "comment", "contact_of", "create_familienzentrum",
    "create_token", "decide", "feedback", "grant", "history", "import_kitas", "issue_one_time_link", "join",
    "leave", "list_tokens", "list_users", "load_verdicts", "mark_read", "nominate", "outbox_listing", "overview",
    "packet_procedures", "parse_verdicts", "plan_preview", "read_inbox", "record_audit", "record_verdicts",
    "redeem_link", "register", "request_changes", "request_password_reset", "resolve", "restructure", "resubmit",
    "retry_mail", "return_places", "revoke_token", "schedule_audit", "scheduler_runner", "seal_numbers",
    "session_user", "set_contact", "set_password", "sign_off", "start_development", "start_recertification",
    "submit", "thread", "verdicts_of", "verify_login", "withdraw", "write_feedback",
]
