"""The administration's desk: users with their roles and access, the master data, and their forms.

* :func:`accounts` / :func:`account` — the users a page at a time (searched by id or name, filtered
  by role and standing), with their role, what the role is tied to (Jugendamt, Familienzentrum,
  Träger), the e-mail address, whether a password is set, whether the account is active and the
  version the edit form sends back; :func:`kitas` — the Kitas a page at a time (searched by id,
  name or town) with their Träger and Jugendamt; each page in a constant number of SQL statements
  (``uow.registers``), whatever the size of the database;
* :func:`master_data` — the Jugendämter and the Träger; :func:`choices` — id and name of every
  Jugendamt, Familienzentrum and Träger for the user forms (one statement);
* :func:`new_jugendamt`, :func:`new_traeger`, :func:`new_user`, :func:`invite`, :func:`import_kitas` — the forms' values
  checked field by field (identifier format, lengths the database keeps, what a role needs, known
  Jugendamt/Familienzentrum/Träger, an e-mail address for a link), bad values as
  :class:`AdminInputError` naming the field; then the use cases of :mod:`.records`, the contact
  choice of :mod:`.reminders` and the one-time link of :mod:`.accounts`, in the caller's one unit of
  work (a user, their address and their first-login link are made together or not at all);
* :func:`change_user` — an existing user's role, scope and standing (active or deactivated), by the
  same rules of role and scope as :func:`new_user`, with a reason; optimistic locking on the user's
  version (a form filled in while someone else saved is a conflict); the last active administrator
  cannot be demoted or deactivated, nor can an administrator demote or deactivate themselves. The
  change is one audit entry (``user.update``: who, when, why, each field before → after) and ends
  the person's sessions, API tokens and open one-time links
  (:meth:`certflow.db.repositories.accounts.AccountRepository.change_user`).

The Kitas' CSV import itself is :func:`certflow.services.records.import_kitas_upload` (all rows or
none, every bad row by line). Only the admin has this desk; anyone else is refused before anything
is read (:func:`require_admin`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, TypeVar

from ..db.errors import ConflictError
from ..errors import InputError, Problem
from ..lifecycle.entities import Jugendamt, Kita, Role, Traeger, User
from ..lifecycle.machinery import Refused, local_date
from . import accounts as account_links
from . import records
from .actors import resolve
from .common import Result
from .reminders import set_contact

if TYPE_CHECKING:
    from ..db.repositories.registers import AccountLine, PartyChoices, RegisterPage
    from ..db.unit_of_work import UnitOfWork

__all__ = [
    "ID_MAX", "NAME_MAX", "PAGE_SIZE", "REASON_MAX", "Account", "AdminInputError", "KitaEntry", "MasterData", "Page",
    "account", "accounts", "change_user", "choices", "invite", "import_kitas", "kitas", "master_data",
    "new_jugendamt", "new_traeger", "new_user", "require_admin",
]

PAGE_SIZE = 50   # rows per page of the registers
SEARCH_MAX = 100

ID_MAX = 64      # the database's identifier columns
NAME_MAX = 200   # the database's name columns
REASON_MAX = 2000
EMAIL_MAX = 254
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ROLE_SCOPE = {Role.COORDINATOR: ("jugendamt_id", "Jugendamt"), Role.KITA_LEAD: ("familienzentrum_id",
                                                                                  "Familienzentrum")}
_ROLE_FIELDS = {Role.COORDINATOR: {"jugendamt_id"}, Role.KITA_LEAD: {"familienzentrum_id"},
                Role.AUDITOR: {"jugendamt_id", "traeger_id"}}
"""The scope fields a role may have (the one of :data:`_ROLE_SCOPE` it must have)."""
_SCOPE_FIELDS = ("jugendamt_id", "familienzentrum_id", "traeger_id")
STATUS_FILTERS = {"aktiv": True, "deaktiviert": False}


class AdminInputError(InputError):
    """A value of an administration form that cannot be used; each problem's path names the form field."""

    kind = "Eingabe"


@dataclass(frozen=True, slots=True)
class Account:
    user: User
    tied_to: str           # "Jugendamt Kreis Wiesental", "Familienzentrum Senfkorn", "Träger …" or ""
    email: str | None
    has_password: bool
    active: bool = True
    version: int = 1       # of the user row: the edit form sends it back (optimistic locking)


@dataclass(frozen=True, slots=True)
class KitaEntry:
    kita: Kita
    traeger_name: str
    jugendamt_name: str


@dataclass(frozen=True, slots=True)
class MasterData:
    jugendaemter: tuple[Jugendamt, ...]
    traeger: tuple[Traeger, ...]


E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class Page(Generic[E]):
    """One page of a register: its entries, page ``number`` (from 1) of ``pages``, the matching ``total``, and
    the search and filters it was made with (for the page links)."""

    entries: tuple[E, ...]
    total: int
    number: int
    size: int
    search: str = ""
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def first(self) -> int:
        """The position (from 1) of the first entry on the page (0: none)."""
        return (self.number - 1) * self.size + 1 if self.entries else 0

    @property
    def last(self) -> int:
        return (self.number - 1) * self.size + len(self.entries)


def require_admin(uow: UnitOfWork, actor_id: str) -> None:
    """Refuse anyone but the admin (the check before a form is read)."""
    _admin(uow, actor_id)


def _admin(uow: UnitOfWork, actor_id: str) -> User:
    """The acting administrator (an active account with the role admin), else refused. One query."""
    state = uow.accounts.login_state(actor_id.strip()) if isinstance(actor_id, str) and actor_id.strip() else None
    if state is None:
        resolve(uow, actor_id)  # the usual refusal of a missing or unknown actor
        raise Refused(f"Unbekannter Benutzer '{actor_id}'")
    actor = state.user
    if not state.active:
        raise Refused(f"Der Zugang von {actor.name} ({actor.id}) ist deaktiviert")
    if actor.role is not Role.ADMIN:
        raise Refused(f"Die Verwaltung ist der Rolle '{actor.role.label}' nicht zugänglich "
                      f"(erlaubt: {Role.ADMIN.label})")
    return actor


# --- reading ---------------------------------------------------------------------------------------------------


def _account(line: AccountLine) -> Account:
    user = line.user
    tied = [f"Familienzentrum: {line.familienzentrum_name or user.familienzentrum_id}" if user.familienzentrum_id
            else "",
            f"Jugendamt: {line.jugendamt_name or user.jugendamt_id}" if user.jugendamt_id else "",
            f"Träger: {line.traeger_name or user.traeger_id}" if user.traeger_id else ""]
    return Account(user, "; ".join(t for t in tied if t), line.email, line.has_password, line.active, line.version)


def _page_number(page: Any) -> int:
    try:
        return max(1, int(page))
    except (TypeError, ValueError):
        return 1


def _paged(fetch, page: Any, size: int) -> tuple[RegisterPage, int]:
    """The register page ``page`` (from 1; a page past the end: the last one) as ``fetch(limit, offset)`` reads it."""
    number = _page_number(page)
    found = fetch(size, (number - 1) * size)
    if not found.lines and found.total and number > 1:
        number = max(1, math.ceil(found.total / size))
        found = fetch(size, (number - 1) * size)
    return found, number


def accounts(uow: UnitOfWork, actor_id: str, *, search: str = "", role: str = "", status: str = "", page: Any = 1,
             size: int = PAGE_SIZE) -> Page[Account]:
    """A page of the users (ordered by id) whose id or name contains ``search``, of ``role`` (a role's value;
    anything else: every role) and ``status`` (``aktiv``/``deaktiviert``; else both), with what their role is
    tied to, their address, whether a password is set and whether the account is active. Two SQL statements
    (a page past the end: the last page, three more)."""
    _admin(uow, actor_id)
    search = _clean(search)[:SEARCH_MAX]
    chosen = next((r for r in Role if r.value == role), None)
    active = STATUS_FILTERS.get(status)
    found, number = _paged(lambda limit, offset: uow.registers.users_page(
        search=search, role=chosen, active=active, limit=limit, offset=offset), page, size)
    filters = (("rolle", chosen.value if chosen else ""), ("status", status if active is not None else ""))
    return Page(tuple(_account(line) for line in found.lines), found.total, number, size, search,
                tuple(f for f in filters if f[1]))


def account(uow: UnitOfWork, actor_id: str, user_id: str) -> Account:
    """One user as :func:`accounts` shows them; an unknown user is refused."""
    _admin(uow, actor_id)
    line = uow.registers.account(user_id)
    if line is None:
        raise Refused(f"Benutzer {user_id} gibt es nicht")
    return _account(line)


def kitas(uow: UnitOfWork, actor_id: str, *, search: str = "", page: Any = 1, size: int = PAGE_SIZE) -> Page[KitaEntry]:
    """A page of the Kitas (ordered by id) whose id, name or town contains ``search``, with the names of their
    Träger and Jugendamt. Two SQL statements."""
    _admin(uow, actor_id)
    search = _clean(search)[:SEARCH_MAX]
    found, number = _paged(lambda limit, offset: uow.registers.kitas_page(search=search, limit=limit, offset=offset),
                           page, size)
    entries = tuple(KitaEntry(line.kita, line.traeger_name or line.kita.traeger_id,
                              line.jugendamt_name or line.kita.jugendamt_id) for line in found.lines)
    return Page(entries, found.total, number, size, search)


def choices(uow: UnitOfWork, actor_id: str) -> PartyChoices:
    """Id and name of every Jugendamt, Familienzentrum and Träger, for the choices of the user forms."""
    _admin(uow, actor_id)
    return uow.registers.party_choices()


def master_data(uow: UnitOfWork, actor_id: str) -> MasterData:
    """The Jugendämter and the Träger, each ordered by id."""
    _admin(uow, actor_id)
    return MasterData(tuple(uow.jugendaemter.all()), tuple(uow.traeger.all()))


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


def _role_scope(uow: UnitOfWork, role: str, given: dict[str, str]) -> tuple[Role | None, list[Problem]]:
    """The role chosen (None: not one) and what is wrong with it and the scope ``given`` (field -> id or ""): a
    coordinator needs a Jugendamt, a Kita lead a Familienzentrum; an auditor may name employers (Jugendamt,
    Träger); no role takes other fields; each id given must exist."""
    problems = []
    chosen = next((r for r in Role if r.value == role), None)
    if chosen is None:
        problems.append(_problem("role", "Bitte eine Rolle aus der Liste wählen."))
    else:
        scope = _ROLE_SCOPE.get(chosen)
        if scope is not None and not given[scope[0]]:
            problems.append(_problem(scope[0], f"Die Rolle „{chosen.label}“ gehört zu einem {scope[1]}: bitte wählen."))
        allowed = _ROLE_FIELDS.get(chosen, set())
        for field_name, value in given.items():
            if value and field_name not in allowed:
                problems.append(_problem(field_name, f"Gehört nicht zur Rolle „{chosen.label}“: bitte leer lassen."))
    for field_name, repository, what in (("jugendamt_id", uow.jugendaemter, "Jugendamt"),
                                         ("familienzentrum_id", uow.familienzentren, "Familienzentrum"),
                                         ("traeger_id", uow.traeger, "Träger")):
        value = given[field_name]
        if value and (len(value) > ID_MAX or repository.find(value) is None):
            problems.append(_problem(field_name, f"{what} {value[:ID_MAX]} gibt es nicht."))
    return chosen, problems


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
    chosen, scope_problems = _role_scope(uow, role, {"jugendamt_id": jugendamt_id,
                                                     "familienzentrum_id": familienzentrum_id,
                                                     "traeger_id": traeger_id})
    problems.extend(scope_problems)
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


# --- changing a user -------------------------------------------------------------------------------------------

_STALE_FORM = "Die Fassung des Formulars fehlt oder ist ungültig. Bitte die Seite neu laden."


def _expected_version(given: int | str | None) -> int | None | Problem:
    """The version a form sent back (None: the caller means the current one); a bad one is a problem."""
    if given is None:
        return None
    try:
        version = int(str(given).strip())
    except ValueError:
        return _problem("version", _STALE_FORM)
    return version if version >= 1 else _problem("version", _STALE_FORM)


def _kept(new: str | None, old: str | None, field_name: str, role: Role | None) -> str:
    """A scope field's new value: given (``""`` clears it), or else the old one if the role still takes it."""
    if new is not None:
        return _clean(new)
    if role is not None and field_name not in _ROLE_FIELDS.get(role, set()):
        return ""
    return old or ""


def _admin_rule(uow: UnitOfWork, actor: User, target: User, was_active: bool, role: Role, active: bool) -> None:
    """An active administrator who stops being one: not oneself, and never the last one (their rows locked)."""
    if target.role is not Role.ADMIN or not was_active or (role is Role.ADMIN and active):
        return
    what = "deaktivieren" if role is Role.ADMIN else f"zur Rolle „{role.label}“ ändern"
    if target.id == actor.id:
        raise Refused(f"Sie können sich nicht selbst {what}: das muss eine andere Person der Administration tun")
    others = [admin_id for admin_id in uow.accounts.active_admins(lock=True) if admin_id != target.id]
    if not others:
        raise Refused(f"{target.name} ({target.id}) ist die letzte aktive Administration und kann nicht "
                      f"{'deaktiviert' if role is Role.ADMIN else 'herabgestuft'} werden: bitte zuerst eine "
                      "weitere Person zur Administration machen")


def _standing_text(values: dict[str, Any], names: dict[str, str]) -> str:
    role = Role(values["role"])
    tied = [names.get(values[f], values[f]) for f in _SCOPE_FIELDS if values.get(f)]
    return f"{role.label}{' (' + ', '.join(tied) + ')' if tied else ''}{'' if values['active'] else ', deaktiviert'}"


def change_user(uow: UnitOfWork, actor_id: str, user_id: str, *, role: str | None = None,
                jugendamt_id: str | None = None, familienzentrum_id: str | None = None,
                traeger_id: str | None = None, active: bool | None = None, reason: str,
                expected_version: int | str | None = None) -> Result:
    """Change a user's role, scope and standing (admin only; see the module). ``None`` keeps a value (a scope
    field only if the new role still takes it), ``""`` clears a scope field. ``expected_version``: the version
    the form showed (a different one now is a conflict); ``None``: the current one. Bad values are an
    :class:`AdminInputError` by field (``role``, ``jugendamt_id``, ``familienzentrum_id``, ``traeger_id``,
    ``reason``, ``version``; a change that changes nothing: ``form``)."""
    actor = _admin(uow, actor_id)
    state = uow.accounts.login_state(_clean(user_id))
    if state is None:
        raise Refused(f"Benutzer {user_id} gibt es nicht")
    target = state.user
    reason = _clean(reason)
    chosen_role = target.role.value if role is None else _clean(role)
    known = next((r for r in Role if r.value == chosen_role), None)
    given = {"jugendamt_id": _kept(jugendamt_id, target.jugendamt_id, "jugendamt_id", known),
             "familienzentrum_id": _kept(familienzentrum_id, target.familienzentrum_id, "familienzentrum_id", known),
             "traeger_id": _kept(traeger_id, target.traeger_id, "traeger_id", known)}
    chosen, problems = _role_scope(uow, chosen_role, given)
    expected = _expected_version(expected_version)
    problems_: list[Problem | None] = [*problems, _reason_problem(reason),
                                       expected if isinstance(expected, Problem) else None]
    _raise(problems_)
    assert chosen is not None and not isinstance(expected, Problem)
    now_active = state.active if active is None else bool(active)
    changed = User(target.id, target.name, chosen, jugendamt_id=given["jugendamt_id"] or None,
                   familienzentrum_id=given["familienzentrum_id"] or None, traeger_id=given["traeger_id"] or None)
    if expected is not None and expected != state.version:  # first: a stale form is a conflict, whatever it asks
        raise ConflictError("user", target.id, expected, state.version)
    if changed == target and now_active == state.active:
        raise AdminInputError([_problem("form", "Nichts zu ändern: Rolle, Zuordnung und Status sind schon so.")])
    _admin_rule(uow, actor, target, state.active, chosen, now_active)
    done = uow.accounts.change_user(changed, active=now_active, expected_version=state.version, actor_id=actor.id,
                                    reason=reason)
    names = uow.registers.party_names([v for v in (*given.values(), target.jugendamt_id, target.familienzentrum_id,
                                                   target.traeger_id) if v])
    before = {"role": target.role.value, "jugendamt_id": target.jugendamt_id,
              "familienzentrum_id": target.familienzentrum_id, "traeger_id": target.traeger_id,
              "active": state.active}
    after = {"role": chosen.value, **{k: v or None for k, v in given.items()}, "active": now_active}
    return Result("user.changed", {"name": target.name, "id": target.id, "before": _standing_text(before, names),
                                   "after": _standing_text(after, names), "tokens": done.tokens_revoked,
                                   "version": done.version})
