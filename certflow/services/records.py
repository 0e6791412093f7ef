"""Use cases of the master data: Jugendämter, Träger, users, Kitas (CSV import), Familienzentren.

Who may (decided here):

* Jugendämter, Träger and users: admin. The very first user of an empty
  database may create itself as admin (bootstrap), so a new installation can start.
* Kitas from CSV: admin, or the coordinator of a Jugendamt for that Jugendamt's
  Kitas only. The import is all or nothing: every bad row is reported by its line
  (format errors from :func:`certflow.kita_csv.parse_kitas`; then unknown Träger
  or Jugendamt, an id that exists already, a Kita of another Jugendamt) and
  nothing of a bad file is imported.
* Familienzentren: admin, or the coordinator of the Jugendamt of its Kitas (the
  Jugendamt selects the Kitas [L1][C1]); one Kita makes an Einzeleinrichtung,
  two or more a Verbund (composition rules of :mod:`certflow.lifecycle.verbund`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, BinaryIO

from ..catalogue.model import Form
from ..errors import Problem
from ..kita_csv import KitaCsvError, parse_kitas
from ..lifecycle import guards
from ..lifecycle.entities import Familienzentrum, Jugendamt, Role, Traeger, User
from ..lifecycle.ids import ID_MAX_LENGTH, id_problem, require_id
from ..lifecycle.machinery import Refused, refuse_if
from ..lifecycle.verbund import composition_refusal
from ..yamlsource import MAX_INPUT_BYTES, read_text
from .actors import resolve
from .common import Result, need_reason

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork

__all__ = [
    "add_jugendamt", "add_traeger", "add_user", "create_familienzentrum", "import_kitas", "import_kitas_upload",
    "list_users",
]

_ADMIN = frozenset({Role.ADMIN})


def _admin(actor: User, action: str) -> None:
    refuse_if(guards.actor_refusal(actor, _ADMIN, action))


def _add_party(uow: UnitOfWork, actor_id: str, repository, entity, label: str, reason: str) -> Result:
    """Create a Jugendamt or a Träger (admin only); refuse an id that exists or breaks the id syntax."""
    require_id(entity.id, label)
    reason = need_reason(reason, f"{label} anlegen")
    actor = resolve(uow, actor_id)
    _admin(actor, f"{label} anlegen")
    if repository.find(entity.id) is not None:
        raise Refused(f"{label} {entity.id} gibt es schon")
    repository.add(entity, actor_id=actor.id, reason=reason)
    return Result("record.created", {"label": label, "name": entity.name, "id": entity.id})


def add_jugendamt(uow: UnitOfWork, actor_id: str, jugendamt: Jugendamt, reason: str) -> Result:
    return _add_party(uow, actor_id, uow.jugendaemter, jugendamt, "Jugendamt", reason)


def add_traeger(uow: UnitOfWork, actor_id: str, traeger: Traeger, reason: str) -> Result:
    return _add_party(uow, actor_id, uow.traeger, traeger, "Träger", reason)


def add_user(uow: UnitOfWork, actor_id: str, user: User, reason: str) -> Result:
    """Create a user (admin); the first user of an empty database may create itself as admin."""
    require_id(user.id, "Benutzer")
    reason = need_reason(reason, "Benutzer anlegen")
    bootstrap = actor_id == user.id and user.role is Role.ADMIN and not uow.users.all()
    if not bootstrap:
        _admin(resolve(uow, actor_id), "Benutzer anlegen")
    if uow.users.find(user.id) is not None:
        raise Refused(f"Benutzer {user.id} gibt es schon")
    scope = {Role.COORDINATOR: ("jugendamt_id", "einem Jugendamt"),
             Role.KITA_LEAD: ("familienzentrum_id", "einem Familienzentrum")}.get(user.role)
    if scope is not None and getattr(user, scope[0]) is None:
        raise Refused(f"Die Rolle '{user.role.label}' gehört zu {scope[1]}: bitte angeben")
    if user.jugendamt_id is not None:
        uow.jugendaemter.get(user.jugendamt_id)
    if user.familienzentrum_id is not None:
        uow.familienzentren.get(user.familienzentrum_id)
    if user.traeger_id is not None:
        uow.traeger.get(user.traeger_id)
    uow.users.add(user, actor_id=actor_id, reason=reason)
    return Result("user.created", {"name": user.name, "id": user.id, "role": user.role.label})


def _row_lines(text: str) -> list[int]:
    """The line of each data row, read as :func:`certflow.kita_csv.parse_kitas` reads them."""
    text = text.removeprefix("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=";,")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    return [reader.line_num for _ in reader]


def import_kitas(uow: UnitOfWork, actor_id: str, source: str | Path, reason: str, *,
                 text: str | None = None) -> Result:
    """Import the Kitas of a CSV file (``source``; or ``text`` named ``source``): all of them or none."""
    actor, reason = _kita_importer(uow, actor_id, reason)
    name = str(source)
    if text is None:
        text = read_text(Path(source), KitaCsvError)
    return _import_kitas_text(uow, actor, name, text, reason)


def _kita_importer(uow: UnitOfWork, actor_id: str, reason: str) -> tuple[User, str]:
    """Who imports Kitas (admin, or a coordinator for their Jugendamt) and why: checked before any file is read."""
    reason = need_reason(reason, "Kitas einlesen")
    actor = resolve(uow, actor_id)
    if actor.role not in (Role.ADMIN, Role.COORDINATOR):
        raise Refused(f"Kitas einlesen ist der Rolle '{actor.role.label}' nicht erlaubt "
                      f"(erlaubt: {Role.COORDINATOR.label}, {Role.ADMIN.label})")
    return actor, reason


_UPLOAD_NAME_MAX = 120


def import_kitas_upload(uow: UnitOfWork, actor_id: str, filename: str | None, upload: bytes | BinaryIO,
                        reason: str) -> Result:
    """Import the Kitas of an uploaded CSV file (the web's import): all of them or none, like :func:`import_kitas`.

    ``upload`` is the file's bytes or a binary stream; at most :data:`~certflow.yamlsource.MAX_INPUT_BYTES`
    are read (one byte more is refused as too large, before anything is parsed), and the text must be UTF-8.
    Problems name the uploaded file by its base name (``filename``, default ``kitas.csv``) and the line.
    """
    actor, reason = _kita_importer(uow, actor_id, reason)
    name = PurePath((filename or "").replace("\\", "/")).name.strip()[:_UPLOAD_NAME_MAX] or "kitas.csv"
    data = upload if isinstance(upload, bytes) else upload.read(MAX_INPUT_BYTES + 1)
    limit = MAX_INPUT_BYTES
    if len(data) > limit:
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} Bytes"
        raise KitaCsvError([Problem(name, None, (), f"Datei zu groß (mehr als {size})")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KitaCsvError([Problem(name, None, (), "keine CSV-Textdatei in UTF-8 (bitte als CSV, UTF-8 speichern)")]) \
            from None
    return _import_kitas_text(uow, actor, name, text, reason)


_KITA_COLUMN_LIMITS = (("id", "id", 64), ("name", "name", 200), ("street", "strasse", 200), ("city", "ort", 100))
"""(Kita attribute, CSV column, most characters the database keeps): longer values are bad rows, not a failed insert."""


def _import_kitas_text(uow: UnitOfWork, actor: User, name: str, text: str, reason: str) -> Result:
    kitas = parse_kitas(text, name)
    lines = _row_lines(text)
    known_traeger = {t.id for t in uow.traeger.all()}
    known_jugendaemter = {j.id for j in uow.jugendaemter.all()}
    existing = {k.id for k in uow.kitas.all()}
    problems: list[Problem] = []
    for kita, line in zip(kitas, lines, strict=True):
        if len(kita.id) <= ID_MAX_LENGTH and (problem := id_problem(kita.id)) is not None:  # too long: below
            problems.append(Problem(name, line, ("id",), problem))
        for attribute, column, limit in _KITA_COLUMN_LIMITS:
            if len(getattr(kita, attribute)) > limit:
                problems.append(Problem(name, line, (column,), f"höchstens {limit} Zeichen "
                                                               f"(angegeben: {len(getattr(kita, attribute))})"))
        if kita.id in existing:
            problems.append(Problem(name, line, ("id",), f"Kita '{kita.id}' gibt es schon"))
        if kita.traeger_id not in known_traeger:
            problems.append(Problem(name, line, ("traeger_id",), f"unbekannter Träger '{kita.traeger_id}'"))
        if kita.jugendamt_id not in known_jugendaemter:
            problems.append(Problem(name, line, ("jugendamt_id",), f"unbekanntes Jugendamt '{kita.jugendamt_id}'"))
        elif actor.role is Role.COORDINATOR and kita.jugendamt_id != actor.jugendamt_id:
            problems.append(Problem(name, line, ("jugendamt_id",),
                                    f"{actor.name} darf nur Kitas des Jugendamts {actor.jugendamt_id} einlesen"))
    if problems:
        raise KitaCsvError(problems)
    for kita in kitas:
        uow.kitas.add(kita, actor_id=actor.id, reason=reason)
    return Result("kitas.imported", {"source": name}, count=len(kitas))


def create_familienzentrum(uow: UnitOfWork, actor_id: str, familienzentrum_id: str, name: str,
                           kita_ids: Iterable[str], reason: str, *, zuschussempfaenger_id: str | None = None,
                           radius_exception_reason: str | None = None) -> Result:
    """Form a Familienzentrum from one Kita (Einzeleinrichtung) or several (Verbund)."""
    require_id(familienzentrum_id, "Familienzentrum")
    reason = need_reason(reason, "Familienzentrum anlegen")
    actor = resolve(uow, actor_id)
    kitas = [uow.kitas.get(k) for k in kita_ids]
    if not kitas:
        raise Refused("Ein Familienzentrum braucht mindestens eine Kita")
    if uow.familienzentren.find(familienzentrum_id) is not None:
        raise Refused(f"Familienzentrum {familienzentrum_id} gibt es schon")
    jugendaemter = {k.jugendamt_id for k in kitas}
    if len(jugendaemter) > 1:
        raise Refused(f"Die Kitas gehören zu verschiedenen Jugendämtern ({', '.join(sorted(jugendaemter))})")
    form = Form.EINZEL if len(kitas) == 1 else Form.VERBUND
    fz = Familienzentrum(familienzentrum_id, name, form, tuple(k.id for k in kitas),
                         zuschussempfaenger_id or (kitas[0].id if form is Form.EINZEL else None),
                         kitas[0].jugendamt_id, radius_exception_reason=radius_exception_reason)
    refuse_if(guards.actor_refusal(actor, {Role.ADMIN, Role.COORDINATOR}, "Familienzentrum anlegen", fz))
    for kita in kitas:
        elsewhere = uow.familienzentren.of_kita(kita.id)
        if elsewhere is not None:
            raise Refused(f"{kita.name} gehört schon zum Familienzentrum {elsewhere}")
    refuse_if(composition_refusal(fz, kitas))
    uow.familienzentren.add(fz, actor_id=actor.id, reason=reason)
    return Result("familienzentrum.created", {"name": name, "id": familienzentrum_id, "form": form.value,
                                              "members": len(kitas)}, familienzentrum=fz)


def list_users(uow: UnitOfWork, actor_id: str) -> list[User]:
    """The users ``actor_id`` may see: certifier and admin all; a coordinator the users of their
    Jugendamt (coordinators and the leads of its Familienzentren); anyone else only themselves."""
    actor = resolve(uow, actor_id)
    users = uow.users.all()
    if actor.role in (Role.CERTIFIER, Role.ADMIN):
        return users
    if actor.role is Role.COORDINATOR:
        centres = {fz.id for fz in uow.familienzentren.all(actor.jugendamt_id)}
        return [u for u in users if u.jugendamt_id == actor.jugendamt_id or u.familienzentrum_id in centres]
    return [actor]
