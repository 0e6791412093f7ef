"""The administration's desk: users with their roles and access, the master data, and their forms.

* :func:`accounts` / :func:`account` — the users with their role, what the role is tied to
  (Jugendamt, Familienzentrum, Träger), the e-mail address and whether a password is set;
* :func:`master_data` — Jugendämter, Träger, Kitas and Familienzentren (for the lists and the
  choices of the user form);
* :func:`new_jugendamt`, :func:`new_traeger`, :func:`new_user`, :func:`invite`, :func:`import_kitas` — the forms' values
  checked field by field (identifier format, lengths the database keeps, what a role needs, known
  Jugendamt/Familienzentrum/Träger, an e-mail address for a link), bad values as
  :class:`AdminInputError` naming the field; then the use cases of :mod:`.records`, the contact
  choice of :mod:`.reminders` and the one-time link of :mod:`.accounts`, in the caller's one unit of
  work (a user, their address and their first-login link are made together or not at all).

The Kitas' CSV import itself is :func:`certflow.services.records.import_kitas_upload` (all rows or
none, every bad row by line). Only the admin has this desk; anyone else is refused before anything
is read (:func:`require_admin`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from ..errors import InputError, Problem
from ..lifecycle.entities import Familienzentrum, Jugendamt, Kita, Role, Traeger, User
from ..lifecycle.machinery import Refused, local_date
from . import accounts as account_links
from . import records
from .actors import resolve
from .common import Result
from .reminders import set_contact

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = [
    "ID_MAX", "NAME_MAX", "REASON_MAX", "Account", "AdminInputError", "MasterData", "account", "accounts", "invite",
    "import_kitas", "master_data", "new_jugendamt", "new_traeger", "new_user", "require_admin",
]

ID_MAX = 64      # the database's identifier columns
NAME_MAX = 200   # the database's name columns
REASON_MAX = 2000
EMAIL_MAX = 254
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ROLE_SCOPE = {Role.COORDINATOR: ("jugendamt_id", "Jugendamt"), Role.KITA_LEAD: ("familienzentrum_id",
                                                                                  "Familienzentrum")}


class AdminInputError(InputError):
    """A value of an administration form that cannot be used; each problem's path names the form field."""

    kind = "Eingabe"


@dataclass(frozen=True, slots=True)
class Account:
    user: User
    tied_to: str           # "Jugendamt Kreis Wiesental", "Familienzentrum Senfkorn", "Träger …" or ""
    email: str | None
    has_password: bool


@dataclass(frozen=True, slots=True)
class MasterData:
    jugendaemter: tuple[Jugendamt, ...]
    traeger: tuple[Traeger, ...]
    kitas: tuple[Kita, ...]
    familienzentren: tuple[Familienzentrum, ...]


def require_admin(uow: UnitOfWork, actor_id: str) -> None:
    """Refuse anyone but the admin (the check before a form is read)."""
    _admin(uow, actor_id)


def _admin(uow: UnitOfWork, actor_id: str) -> User:
    actor = resolve(uow, actor_id)
    if actor.role is not Role.ADMIN:
        raise Refused(f"Die Verwaltung ist der Rolle '{actor.role.label}' nicht zugänglich "
                      f"(erlaubt: {Role.ADMIN.label})")
    return actor


# --- reading ---------------------------------------------------------------------------------------------------


def _accounts(uow: UnitOfWork, users: list[User]) -> list[Account]:
    jugendaemter = {j.id: j.name for j in uow.jugendaemter.all()}
    centres = {f.id: f.name for f in uow.familienzentren.all()}
    traeger = {t.id: t.name for t in uow.traeger.all()}
    contacts = uow.contacts.all()
    with_password = uow.accounts.users_with_password([u.id for u in users])
    out = []
    for user in users:
        tied = [f"Familienzentrum: {centres.get(user.familienzentrum_id, user.familienzentrum_id)}"
                if user.familienzentrum_id else "",
                f"Jugendamt: {jugendaemter.get(user.jugendamt_id, user.jugendamt_id)}" if user.jugendamt_id else "",
                f"Träger: {traeger.get(user.traeger_id, user.traeger_id)}" if user.traeger_id else ""]
        contact = contacts.get(user.id)
        out.append(Account(user, "; ".join(t for t in tied if t), contact.email if contact else None,
                           user.id in with_password))
    return out


def accounts(uow: UnitOfWork, actor_id: str) -> list[Account]:
    """Every user (ordered by id) with what their role is tied to, their address and whether a password is set."""
    _admin(uow, actor_id)
    return _accounts(uow, uow.users.all())


def account(uow: UnitOfWork, actor_id: str, user_id: str) -> Account:
    """One user as :func:`accounts` shows them; an unknown user is refused."""
    _admin(uow, actor_id)
    user = uow.users.find(user_id)
    if user is None:
        raise Refused(f"Benutzer {user_id} gibt es nicht")
    return _accounts(uow, [user])[0]


def master_data(uow: UnitOfWork, actor_id: str) -> MasterData:
    """Jugendämter, Träger, Kitas and Familienzentren, each ordered by id."""
    _admin(uow, actor_id)
    return MasterData(tuple(uow.jugendaemter.all()), tuple(uow.traeger.all()), tuple(uow.kitas.all()),
                      tuple(uow.familienzentren.all()))


# --- the forms -------------------------------------------------------------------------------------------------


def _problem(field: str, message: str) -> Problem:
    return Problem("Formular", None, (field,), message)


def _id_problem(field: str, value: str, what: str) -> Problem | None:
    if not value:
        return _problem(field, f"Bitte eine Kennung für {what} angeben.")
    if len(value) > ID_MAX:
        return _problem(field, f"Höchstens {ID_MAX} Zeichen (eingegeben: {len(value)}).")
    if not _ID.match(value):
        return _problem(field, "Nur Buchstaben (ohne Umlaute), Ziffern, Punkt, Binde- und Unterstrich; "
                               "am Anfang ein Buchstabe oder eine Ziffer.")
    return None


def _text_problem(field: str, value: str, limit: int, missing: str) -> Problem | None:
    if not value:
        return _problem(field, missing)
    if len(value) > limit:
        return _problem(field, f"Höchstens {limit} Zeichen (eingegeben: {len(value)}).")
    return None


def _reason_problem(reason: str) -> Problem | None:
    return _text_problem("reason", reason, REASON_MAX, "Bitte einen Grund angeben (er steht im Prüfprotokoll).")


def _raise(problems: list[Problem | None]) -> None:
    found = [p for p in problems if p is not None]
    if found:
        raise AdminInputError(found)


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _new_party(uow: UnitOfWork, actor_id: str, repository, make, label: str, party_id: str, name: str,
               reason: str, add) -> Result:
    _admin(uow, actor_id)
    party_id, name, reason = _clean(party_id), _clean(name), _clean(reason)
    problems = [_id_problem("id", party_id, f"{'das' if label == 'Jugendamt' else 'den'} {label}"),
                _text_problem("name", name, NAME_MAX, "Bitte den Namen angeben."), _reason_problem(reason)]
    if problems[0] is None and repository.find(party_id) is not None:
        problems[0] = _problem("id", f"{label} {party_id} gibt es schon.")
    _raise(problems)
    return add(uow, actor_id, make(party_id, name), reason)


def new_jugendamt(uow: UnitOfWork, actor_id: str, jugendamt_id: str, name: str, reason: str) -> Result:
    """Create a Jugendamt from the form (then :func:`certflow.services.records.add_jugendamt`)."""
    return _new_party(uow, actor_id, uow.jugendaemter, Jugendamt, "Jugendamt", jugendamt_id, name, reason,
                      records.add_jugendamt)


def new_traeger(uow: UnitOfWork, actor_id: str, traeger_id: str, name: str, reason: str) -> Result:
    """Create a Träger from the form (then :func:`certflow.services.records.add_traeger`)."""
    return _new_party(uow, actor_id, uow.traeger, Traeger, "Träger", traeger_id, name, reason, records.add_traeger)


def _email_problem(email: str) -> Problem | None:
    from email.utils import parseaddr

    if len(email) > EMAIL_MAX:
        return _problem("email", f"Höchstens {EMAIL_MAX} Zeichen (eingegeben: {len(email)}).")
    if email and ("@" not in parseaddr(email)[1] or parseaddr(email)[1] != email):
        return _problem("email", f"„{email}“ ist keine E-Mail-Adresse.")
    return None


def new_user(uow: UnitOfWork, actor_id: str, *, user_id: str, name: str, role: str, jugendamt_id: str = "",
             familienzentrum_id: str = "", traeger_id: str = "", email: str = "", send_link: bool = False,
             base_url: str = "", reason: str) -> Result:
    """Create a user from the form: a Jugendamt for a coordinator, a Familienzentrum for a Kita lead, an
    auditor's employers (Träger, Jugendamt: they make the auditor partial there); with ``email`` their
    address, and with ``send_link`` their first-login link (valid 7 days) by mail and into their inbox."""
    actor = _admin(uow, actor_id)
    user_id, name, reason, email = _clean(user_id), _clean(name), _clean(reason), _clean(email)
    jugendamt_id, familienzentrum_id, traeger_id = _clean(jugendamt_id), _clean(familienzentrum_id), _clean(traeger_id)
    problems: list[Problem | None] = [_id_problem("user_id", user_id, "den Benutzer"),
                                      _text_problem("name", name, NAME_MAX, "Bitte den Namen angeben."),
                                      _reason_problem(reason), _email_problem(email)]
    if problems[0] is None and uow.users.find(user_id) is not None:
        problems[0] = _problem("user_id", f"Benutzer {user_id} gibt es schon.")
    try:
        chosen = Role(role)
    except ValueError:
        chosen = None
        problems.append(_problem("role", "Bitte eine Rolle aus der Liste wählen."))
    if chosen is not None:
        scope = _ROLE_SCOPE.get(chosen)
        given = {"jugendamt_id": jugendamt_id, "familienzentrum_id": familienzentrum_id, "traeger_id": traeger_id}
        if scope is not None and not given[scope[0]]:
            problems.append(_problem(scope[0], f"Die Rolle „{chosen.label}“ gehört zu einem {scope[1]}: bitte wählen."))
        allowed = {Role.COORDINATOR: {"jugendamt_id"}, Role.KITA_LEAD: {"familienzentrum_id"},
                   Role.AUDITOR: {"jugendamt_id", "traeger_id"}}.get(chosen, set())
        for field_name, value in given.items():
            if value and field_name not in allowed:
                problems.append(_problem(field_name, f"Gehört nicht zur Rolle „{chosen.label}“: bitte leer lassen."))
    for field_name, value, repository, what in (
            ("jugendamt_id", jugendamt_id, uow.jugendaemter, "Jugendamt"),
            ("familienzentrum_id", familienzentrum_id, uow.familienzentren, "Familienzentrum"),
            ("traeger_id", traeger_id, uow.traeger, "Träger")):
        if value and repository.find(value) is None:
            problems.append(_problem(field_name, f"{what} {value[:ID_MAX]} gibt es nicht."))
    if send_link and not email:
        problems.append(_problem("email", "Für den Zugangslink bitte eine E-Mail-Adresse angeben."))
    _raise(problems)
    assert chosen is not None  # a wrong role is a problem above
    user = User(user_id, name, chosen, jugendamt_id=jugendamt_id or None,
                familienzentrum_id=familienzentrum_id or None, traeger_id=traeger_id or None)
    created = records.add_user(uow, actor.id, user, reason)
    if email:
        set_contact(uow, actor.id, user.id, reason, email=email)
    if not send_link:
        return created
    link = account_links.issue_one_time_link(uow, actor.id, user.id, "first_login", base_url=base_url)
    return Result("user.created_invited", {**created.facts, "email": link.email, "until": local_date(link.expires_at)})


def invite(uow: UnitOfWork, actor_id: str, user_id: str, *, purpose: str, base_url: str, email: str = "",
           reason: str = "") -> Result:
    """Send a one-time link (``first_login``: 7 days; ``reset``: 2 hours) to a user; with ``email`` their
    address is set first (the reason is then required: the change is in the audit trail)."""
    actor = _admin(uow, actor_id)
    email, reason = _clean(email), _clean(reason)
    user = uow.users.find(user_id)
    if user is None:
        raise Refused(f"Benutzer {user_id} gibt es nicht")
    problems: list[Problem | None] = [_email_problem(email)]
    if purpose not in ("first_login", "reset"):
        problems.append(_problem("purpose", "Bitte wählen: Erstanmeldung oder Passwort zurücksetzen."))
    if email:
        problems.append(_reason_problem(reason))
    elif len(reason) > REASON_MAX:
        problems.append(_problem("reason", f"Höchstens {REASON_MAX} Zeichen (eingegeben: {len(reason)})."))
    _raise(problems)
    if email:
        set_contact(uow, actor.id, user.id, reason, email=email)
    elif uow.accounts.email_of(user.id) is None:
        raise AdminInputError([_problem("email", f"Für {user.name} ist keine E-Mail-Adresse hinterlegt: "
                                                 "bitte angeben.")])
    link = account_links.issue_one_time_link(uow, actor.id, user.id, purpose, base_url=base_url,
                                             reason=reason or None)
    return Result("user.invited", {"name": user.name, "id": user.id, "email": link.email,
                                   "until": local_date(link.expires_at), "purpose": purpose})


def import_kitas(uow: UnitOfWork, actor_id: str, filename: str | None, upload: bytes | BinaryIO, reason: str) -> Result:
    """The Kitas of an uploaded CSV file (:func:`certflow.services.records.import_kitas_upload`), after the form's
    reason is checked: all rows or none; bad rows are a :class:`~certflow.kita_csv.KitaCsvError` by line."""
    actor = _admin(uow, actor_id)
    _raise([_reason_problem(_clean(reason))])
    return records.import_kitas_upload(uow, actor.id, filename, upload, _clean(reason))
