"""The Kita lead's self-assessment, worked on in the browser: tasks, working copy, live score, draft,
evidence uploads, submission and the documents at the end.

Every use case is the Kita lead's of the procedure's Familienzentrum (read scope first, then the
role; other roles and other Familienzentren are refused without revealing anything):

* :func:`tasks` — "Meine Aufgaben": each procedure with its state, the next deadline, what the
  lead can do now, the open draft, open questions in the comment threads, the documents;
* :func:`workspace` — the working copy (the open draft; else the last submitted revision; else an
  empty one for the procedure's pinned catalogue and variant), scored, with per area what is
  still missing and why, and, for one area, its criteria with records, file states and threads;
* :func:`preview` — an area's form applied to the working copy and scored, **not saved** (the live
  score while the lead types);
* :func:`save_area` — the same, saved as the draft (:meth:`SubmissionRepository.save_draft`);
* :func:`add_evidence` — an evidence record for a criterion, with an uploaded file kept in the
  staging area (:mod:`certflow.evidence_staging`), not in the evidence store;
* :func:`submit_draft` — submits the working copy (``submit``, or ``resubmit`` after a requested
  Nachbesserung) through :func:`certflow.services.submit`; only after the commit are the staged
  files moved into the evidence store (a failed submission leaves them staged, the store untouched);
* :func:`settle_evidence` — moves what a committed submission names but could not move then;
* :func:`evidence_file`, :func:`document` — the lead's own evidence files, the Qualitätsprofil
  and the Urkunde (rendered in worker processes by :mod:`.rendering`).

Forms come in as the browser sends them (field name -> values); this module checks them against
the catalogue and answers bad input with :class:`FormError`, whose problems name the field
(``Problem.path == (field name,)``) in German. The field names are listed in :data:`FIELDS`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..assessment.model import Activity, Answer, Assessment, Evidence, Period, Status
from ..catalogue.checks import applies
from ..catalogue.model import Area, Catalogue, Criterion, Item, Profile, Variant
from ..catalogue.wording import evidence_text, frequency_text
from ..errors import InputError, Problem
from ..evidence_staging import EvidenceStaging, Promotion
from ..evidence_store import HEAD_SIZE, EvidenceRejected, EvidenceStore, detect_media_type
from ..lifecycle import guards
from ..lifecycle.dialogue import Comment, comment_refusal
from ..lifecycle.entities import PROCEDURE_STATE_LABELS, Familienzentrum, Procedure, ProcedureState, Role, User
from ..lifecycle.machinery import Refused, refuse_if
from ..lifecycle.procedure_machine import EVENT_LABELS, EVENT_ROLES, PROCEDURE_MACHINE
from ..scoring import Scorer
from ..scoring.report import CriterionResult, Deficit, Report, Tally
from .actors import resolve
from .common import Result, catalogue_for_key, require_visible, today
from .procedures import resubmit, submit
from .queries import OverviewRow, overview, seal_numbers
from .runner import ErrorKind, UseCaseError, classify

if TYPE_CHECKING:
    from ..db.unit_of_work import UnitOfWork
    from .runner import Application

__all__ = [
    "EDITABLE", "FIELDS", "AreaProgress", "AreaView", "CriterionView", "Download", "FormError", "Preview",
    "RecordView", "SubmissionView", "Tasks", "Workspace", "add_evidence", "area_of", "check_editable", "document",
    "evidence_file", "own_procedure", "preview", "record_key", "save_area", "settle_evidence", "submission_check",
    "submit_draft", "tasks", "workspace",
]

EDITABLE = (ProcedureState.IN_DEVELOPMENT, ProcedureState.CHANGES_REQUESTED)
"""The states in which the Kita lead edits the self-assessment (and may submit it)."""
DECIDED = (ProcedureState.CERTIFIED, ProcedureState.NOT_CERTIFIED)

FIELDS = {
    "antwort:ITEM": "erfuellt | nicht_erfuellt | offen",
    "bemerkung:ITEM": "the answer's comment",
    "profile-gezeigt": "present when the form shows the profile choice",
    "profil": "a chosen profile (repeated)",
    "akt-weg": "record_key of an activity to remove (repeated)",
    "beleg-weg": "record_key of an evidence record to remove (repeated)",
    "akt:CRITERION:punkt|datum|art|termine|teilnehmende|notiz": "a new activity record",
    "beleg:CRITERION:punkt|art|titel|datum|stunden": "a new evidence record (with the uploaded file)",
}
"""The form fields the use cases read (ITEM and CRITERION are catalogue ids); anything else is ignored."""

MAX_COMMENT = 1000
MAX_NOTE = 500
MAX_TITLE = 200
MAX_FILENAME = 200
MAX_SESSIONS = 500
MAX_PARTICIPANTS = 10_000
MAX_HOURS = 5_000.0
MAX_ACTIVITIES = 3_000
MAX_EVIDENCE = 1_000
EARLIEST = date(1950, 1, 1)


class FormError(InputError):
    """A form of the self-assessment with bad input; each problem names its field (``path[0]``)."""

    kind = "Selbstbewertung"


def _problem(name: str, message: str) -> Problem:
    return Problem("Formular", None, (name,), message)


# --- loading, scope and state ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Own:
    actor: User
    procedure: Procedure
    fz: Familienzentrum
    catalogue: Catalogue


def _load(uow: UnitOfWork, actor_id: str, procedure_id: str) -> _Own:
    """The procedure, if it is the actor's own as Kita lead (refused otherwise, revealing nothing)."""
    actor = resolve(uow, actor_id)
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    require_visible(actor, fz, procedure)
    refuse_if(guards.actor_refusal(actor, {Role.KITA_LEAD}, "Die Selbstbewertung bearbeiten", fz))
    return _Own(actor, procedure, fz, catalogue_for_key(procedure.catalogue_key))


def _editable_refusal(procedure: Procedure) -> str | None:
    if procedure.state in EDITABLE:
        return None
    return (f"Die Selbstbewertung im Verfahren {procedure.id} lässt sich jetzt nicht bearbeiten (Verfahren "
            f"{PROCEDURE_STATE_LABELS[procedure.state]}); bearbeitet wird sie in der Entwicklung und nach einer "
            "angeforderten Nachbesserung")


def check_editable(uow: UnitOfWork, actor_id: str, procedure_id: str) -> None:
    """Refuse unless the actor may edit the procedure's self-assessment now (checked before an upload is read)."""
    own = _load(uow, actor_id, procedure_id)
    refuse_if(_editable_refusal(own.procedure))


def own_procedure(uow: UnitOfWork, actor_id: str, procedure_id: str) -> None:
    """Refuse unless the procedure is the actor's own as Kita lead (a page checks it before it reads a form)."""
    _load(uow, actor_id, procedure_id)


def area_of(uow: UnitOfWork, actor_id: str, procedure_id: str, criterion_id: str) -> str:
    """The area (id) a criterion of the procedure's catalogue belongs to; refused for an unknown one."""
    own = _load(uow, actor_id, procedure_id)
    for area, _profile, crit in own.catalogue.all_criteria():
        if crit.id == criterion_id:
            return area.id
    raise Refused(f"Das Kriterium {criterion_id!s:.40} gibt es im Katalog {own.catalogue.key} nicht")


@cache
def _scorer(key: str) -> Scorer:
    """One scorer per shipped catalogue (it compiles each variant once)."""
    return Scorer(catalogue_for_key(key))


def _period(procedure: Procedure) -> Period:
    return Period(start=procedure.period_start, end=procedure.period_end)


def _parse(text: str) -> Assessment:
    return Assessment.model_validate_json(text)


@dataclass(frozen=True, slots=True)
class _Copy:
    assessment: Assessment
    source: str                 # "draft" | "submitted" | "new"
    revision: int | None        # the draft's, or the submitted revision it starts from
    at: datetime | None         # saved / submitted at


def _working_copy(uow: UnitOfWork, own: _Own) -> _Copy:
    """The open draft; else the last submitted revision; else an empty one for the procedure's variant."""
    procedure, fz, catalogue = own.procedure, own.fz, own.catalogue
    draft = uow.submissions.draft(procedure.id)
    if draft is not None:
        copy = _Copy(_parse(draft.canonical_json), "draft", draft.revision, draft.created_at)
    else:
        latest = uow.submissions.latest_submitted(procedure.id)
        if latest is not None:
            copy = _Copy(_parse(latest.canonical_json), "submitted", latest.revision, latest.submitted_at)
        else:
            empty = Assessment(catalogue=catalogue.programme, catalogue_version=catalogue.version,
                               familienzentrum=fz.name, procedure=procedure.kind, form=fz.form)
            copy = _Copy(empty, "new", None, None)
    return replace(copy, assessment=copy.assessment.model_copy(update={"period": _period(procedure)}))


def record_key(record: Activity | Evidence) -> str:
    """A short, stable key of a record (its content): the form names records by it to remove them."""
    text = json.dumps(record.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --- what is still missing, per area -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileProgress:
    id: str
    title: str
    tally: Tally
    met: bool


@dataclass(frozen=True, slots=True)
class AreaProgress:
    """One area scored: points and Basis criteria against the threshold, and what is missing and why."""

    id: str
    kind: str
    title: str
    tally: Tally
    met: bool
    reasons: tuple[str, ...]             # the engine's: thresholds and profile choice not reached
    unanswered: tuple[str, ...]          # items still without an answer (applicable; chosen profiles only)
    missing_evidence: tuple[str, ...]    # "1.7 (Fortbildungsnachweis oder …)": met items without their document
    deficits: tuple[Deficit, ...]        # the engine's deficits in this area, blocking first
    profiles: tuple[ProfileProgress, ...] = ()   # chosen profiles

    @property
    def complete(self) -> bool:
        """Every item answered and every met item documented (what submitting needs)."""
        return not self.unanswered and not self.missing_evidence


def _progress(report: Report, assessment: Assessment, catalogue: Catalogue) -> tuple[AreaProgress, ...]:
    """Per area: the report's tally and reasons, the unanswered items and the met items without a document
    (the same reading as :func:`certflow.lifecycle.guards.check_submission`, per area)."""
    items = {item.id: item for _, _, crit in catalogue.all_criteria() for item in crit.all_items()}
    variant = assessment.variant
    out = []
    for area in report.areas:
        chosen = [p for p in area.profiles if p.chosen]
        criteria = [*area.criteria, *(c for p in chosen for c in p.criteria)]
        unanswered: list[str] = []
        missing: list[str] = []
        for item_id in (i.id for c in criteria for i in c.items):
            status = assessment.status_of(item_id)
            if status is Status.OFFEN:
                unanswered.append(item_id)
            elif status is Status.ERFUELLT:
                for rule in items[item_id].evidence:
                    if applies(rule.applies_to, variant) and not any(
                            ev.kind in rule.kinds and item_id in ev.items for ev in assessment.evidence):
                        kinds = " oder ".join(catalogue.evidence_kinds.get(k, k) for k in rule.kinds)
                        missing.append(f"{item_id} ({kinds})")
        deficits = sorted((d for d in report.deficits if d.area == area.id), key=lambda d: not d.blocking)
        out.append(AreaProgress(
            area.id, area.kind, area.title, area.tally, area.met, tuple(area.reasons), tuple(unanswered),
            tuple(missing), tuple(deficits),
            tuple(ProfileProgress(p.id, p.title, p.tally, p.met) for p in chosen)))
    return tuple(out)


# --- the form of one area ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordView:
    key: str
    record: Activity | Evidence
    file_state: str = ""   # evidence: "stored" (in the evidence store), "staged" (uploaded, kept until the
    #                        submission), "missing" (named, but neither), "none" (shown on paper)


@dataclass(frozen=True, slots=True)
class ItemView:
    item: Item
    answer: Answer | None
    hints: tuple[str, ...]            # the catalogue's rules on it, in German
    result: bool | None               # met by the engine (None: not scored, e.g. a profile not chosen)
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CriterionView:
    criterion: Criterion
    profile: Profile | None
    items: tuple[ItemView, ...]
    result: CriterionResult | None
    activities: tuple[RecordView, ...]
    evidence: tuple[RecordView, ...]
    comments: tuple[Comment, ...]
    evidence_kinds: tuple[str, ...]   # the kinds its rules name first, then the catalogue's others
    activity_kinds: tuple[str, ...]

    @property
    def slug(self) -> str:
        """The criterion id usable in HTML ids and CSS selectors (``1.10`` -> ``1-10``)."""
        return self.criterion.id.replace(".", "-")

    @property
    def activity_item(self) -> str:
        """The item a new activity record most likely supports: the first with a frequency rule."""
        return next((i.item.id for i in self.items if i.item.frequency), self.criterion.id)

    @property
    def evidence_item(self) -> str:
        """The item a new evidence record most likely supports: the first with an evidence rule."""
        return next((i.item.id for i in self.items if i.item.evidence), self.criterion.id)


@dataclass(frozen=True, slots=True)
class AreaView:
    area: Area
    criteria: tuple[CriterionView, ...]
    profiles: tuple[Profile, ...]     # the area's profiles (the lead chooses some)
    chosen: frozenset[str]

    @property
    def groups(self) -> list[tuple[Profile | None, tuple[CriterionView, ...]]]:
        """The criteria by profile: the area's own first (profile ``None``), then each profile's."""
        out: list[tuple[Profile | None, list[CriterionView]]] = []
        for cv in self.criteria:
            key = cv.profile.id if cv.profile else None
            if not out or (out[-1][0].id if out[-1][0] else None) != key:
                out.append((cv.profile, []))
            out[-1][1].append(cv)
        return [(profile, tuple(views)) for profile, views in out]


@dataclass(frozen=True, slots=True)
class Workspace:
    """The self-assessment as the Kita lead works on it, and what the pages show about it."""

    procedure: Procedure
    familienzentrum: Familienzentrum
    catalogue: Catalogue
    assessment: Assessment
    source: str                        # "draft" | "submitted" | "new"
    revision: int | None
    saved_at: datetime | None
    editable: bool
    report: Report
    progress: tuple[AreaProgress, ...]
    comments: Mapping[str, tuple[Comment, ...]]   # criterion id -> thread (oldest first)
    can_comment: bool
    today: date
    area: AreaView | None = None
    max_upload_bytes: int = 0
    allowed_types: tuple[str, ...] = ()

    @property
    def state_label(self) -> str:
        return PROCEDURE_STATE_LABELS[self.procedure.state]



def _hints(item: Item, catalogue: Catalogue, variant: Variant) -> tuple[str, ...]:
    out = []
    for rule in item.frequency:
        if applies(rule.applies_to, variant):
            label = catalogue.activity_kinds.get(rule.activity) if rule.activity else None
            out.append("Häufigkeit: " + frequency_text(rule, label))
    for evidence_rule in item.evidence:
        if applies(evidence_rule.applies_to, variant):
            out.append(evidence_text(evidence_rule, catalogue.evidence_kinds.get(evidence_rule.kind,
                                                                                  evidence_rule.kind),
                                     catalogue.evidence_kinds))
    return tuple(out)


def _file_state(ev: Evidence, store: EvidenceStore | None, staging: EvidenceStaging | None,
                procedure_id: str) -> str:
    if not ev.sha256:
        return "none"
    if store is not None and store.exists(ev.sha256):
        return "stored"
    if staging is not None and staging.has(procedure_id, ev.sha256):
        return "staged"
    return "missing"


def _area_view(own: _Own, assessment: Assessment, report: Report, area: Area,
               comments: Mapping[str, tuple[Comment, ...]], store: EvidenceStore | None,
               staging: EvidenceStaging | None) -> AreaView:
    catalogue, variant = own.catalogue, assessment.variant
    results = {c.id: c for a in report.areas if a.id == area.id
               for c in [*a.criteria, *(c for p in a.profiles for c in p.criteria)]}
    groups: list[tuple[Profile | None, Criterion]] = [(None, c) for c in area.criteria]
    groups += [(p, c) for p in area.profiles for c in p.criteria]
    views = []
    for profile, crit in groups:
        if not applies(crit.applies_to, variant):
            continue
        items = [i for i in crit.all_items() if applies(i.applies_to, variant)]
        ids = {i.id for i in items}
        result = results.get(crit.id)
        item_results = {r.id: r for r in result.items} if result else {}
        item_views = tuple(ItemView(i, assessment.answers.get(i.id), _hints(i, catalogue, variant),
                                    item_results[i.id].met if i.id in item_results else None,
                                    item_results[i.id].reasons if i.id in item_results else ())
                           for i in items)
        activities = tuple(RecordView(record_key(a), a) for a in assessment.activities if a.item in ids)
        evidence = tuple(RecordView(record_key(e), e, _file_state(e, store, staging, own.procedure.id))
                         for e in assessment.evidence if ids.intersection(e.items))
        named = [k for i in items for rule in i.evidence if applies(rule.applies_to, variant) for k in rule.kinds]
        ev_kinds = tuple(dict.fromkeys([*named, *catalogue.evidence_kinds]))
        act_named = [r.activity for i in items for r in i.frequency if r.activity and applies(r.applies_to, variant)]
        act_kinds = tuple(dict.fromkeys([*act_named, *catalogue.activity_kinds]))
        views.append(CriterionView(crit, profile, item_views, result, activities, evidence,
                                   comments.get(crit.id, ()), ev_kinds, act_kinds))
    return AreaView(area, tuple(views), tuple(area.profiles), frozenset(assessment.profiles))


def _find_area(catalogue: Catalogue, area_id: str) -> Area:
    for area in catalogue.areas:
        if area.id == area_id:
            return area
    raise Refused(f"Den Bereich {area_id} gibt es im Katalog {catalogue.key} nicht")


def _threads(uow: UnitOfWork, procedure: Procedure) -> dict[str, tuple[Comment, ...]]:
    if procedure.submitted_revision is None:
        return {}  # nothing submitted, nothing discussed (saves the query)
    out: dict[str, list[Comment]] = {}
    for c in uow.dialogue.comments(procedure.id):
        out.setdefault(c.criterion_id, []).append(c)
    return {k: tuple(v) for k, v in out.items()}


def _may_comment(actor: User, procedure: Procedure) -> bool:
    """Whether the domain lets the actor comment on the procedure now (any criterion, any text)."""
    return comment_refusal(actor, procedure, frozenset({"-"}), "-", "-") is None


def workspace(uow: UnitOfWork, actor_id: str, procedure_id: str, area_id: str | None = None, *,
              evidence_store: EvidenceStore | None = None) -> Workspace:
    """The working copy scored, what is missing per area and, with ``area_id``, that area's form.

    ``evidence_store`` (the deployment's) lets the form tell for each evidence file whether it is in the
    store, uploaded and waiting for the submission (staged), or missing.
    """
    own = _load(uow, actor_id, procedure_id)
    copy = _working_copy(uow, own)
    report = _scorer(own.catalogue.key).score(copy.assessment, _period(own.procedure))
    comments = _threads(uow, own.procedure)
    staging = EvidenceStaging.beside(evidence_store) if evidence_store is not None else None
    area = None
    if area_id is not None:
        area = _area_view(own, copy.assessment, report, _find_area(own.catalogue, area_id), comments,
                          evidence_store, staging)
    store = evidence_store
    return Workspace(
        own.procedure, own.fz, own.catalogue, copy.assessment, copy.source, copy.revision, copy.at,
        own.procedure.state in EDITABLE, report, _progress(report, copy.assessment, own.catalogue), comments,
        _may_comment(own.actor, own.procedure), today(uow), area,
        max_upload_bytes=store.max_bytes if store is not None else 0,
        allowed_types=tuple(sorted(store.allowed)) if store is not None else ())


# --- reading a form -----------------------------------------------------------------------------------------------


def _one(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name)
    if not values:
        return None
    value = values[-1]
    return value if isinstance(value, str) else None


def _text(fields, name: str, limit: int, problems: list[Problem], *, required: bool = False,
          what: str = "Text") -> str:
    value = (_one(fields, name) or "").strip()
    if required and not value:
        problems.append(_problem(name, f"{what}: bitte angeben"))
    elif len(value) > limit:
        problems.append(_problem(name, f"{what}: höchstens {limit} Zeichen (eingegeben: {len(value)})"))
    elif any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        problems.append(_problem(name, f"{what}: enthält Steuerzeichen"))
    return value


_GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _date(fields, name: str, problems: list[Problem], *, latest: date, what: str) -> date | None:
    raw = (_one(fields, name) or "").strip()
    if not raw:
        problems.append(_problem(name, f"{what}: bitte ein Datum angeben"))
        return None
    try:
        match = _GERMAN_DATE.fullmatch(raw)
        day = date(int(match[3]), int(match[2]), int(match[1])) if match else date.fromisoformat(raw)
    except ValueError:
        problems.append(_problem(name, f"{what}: „{raw[:40]}“ ist kein Datum (TT.MM.JJJJ)"))
        return None
    if day < EARLIEST or day > latest:
        problems.append(_problem(name, f"{what}: das Datum muss zwischen dem {EARLIEST:%d.%m.%Y} und dem "
                                       f"{latest:%d.%m.%Y} liegen"))
        return None
    return day


def _int(fields, name: str, problems: list[Problem], *, low: int, high: int, what: str,
         default: int | None) -> int | None:
    raw = (_one(fields, name) or "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"\d{1,9}", raw):
        problems.append(_problem(name, f"{what}: bitte eine ganze Zahl angeben"))
        return default
    value = int(raw)
    if not low <= value <= high:
        problems.append(_problem(name, f"{what}: eine Zahl von {low} bis {high}"))
        return default
    return value


def _hours(fields, name: str, problems: list[Problem]) -> float | None:
    raw = (_one(fields, name) or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw) if re.fullmatch(r"\d{1,6}(\.\d{1,2})?", raw) else math.nan
    except ValueError:
        value = math.nan
    if math.isnan(value):
        problems.append(_problem(name, "Stunden: bitte eine Zahl angeben (z. B. 32 oder 7,5)"))
        return None
    if value > MAX_HOURS:
        problems.append(_problem(name, f"Stunden: höchstens {MAX_HOURS:g}"))
        return None
    return value


def _choice(fields, name: str, allowed: Sequence[str], problems: list[Problem], what: str) -> str | None:
    value = (_one(fields, name) or "").strip()
    if value not in allowed:
        problems.append(_problem(name, f"{what}: bitte aus der Liste wählen"))
        return None
    return value


def _items_of(crit: Criterion, variant: Variant) -> list[Item]:
    return [i for i in crit.all_items() if applies(i.applies_to, variant)]


def _new_activity(fields, crit: Criterion, catalogue: Catalogue, variant: Variant, latest: date,
                  problems: list[Problem]) -> Activity | None:
    prefix = f"akt:{crit.id}:"
    typed = ("datum", "termine", "teilnehmende", "notiz")  # the selects (punkt, art) always carry a value
    if not any((_one(fields, prefix + n) or "").strip() for n in typed):
        return None  # the empty row: nothing to add
    before = len(problems)
    item = _choice(fields, prefix + "punkt", [i.id for i in _items_of(crit, variant)], problems, "Punkt")
    day = _date(fields, prefix + "datum", problems, latest=latest, what="Datum")
    kind = _choice(fields, prefix + "art", list(catalogue.activity_kinds), problems, "Art")
    sessions = _int(fields, prefix + "termine", problems, low=1, high=MAX_SESSIONS, what="Termine", default=1)
    participants = _int(fields, prefix + "teilnehmende", problems, low=0, high=MAX_PARTICIPANTS,
                        what="Teilnehmende", default=None)
    note = _text(fields, prefix + "notiz", MAX_NOTE, problems, what="Notiz")
    if len(problems) > before or item is None or day is None or kind is None or sessions is None:
        return None
    return Activity(item=item, date=day, kind=kind, sessions=sessions, participants=participants, note=note)


def _new_evidence(fields, crit: Criterion, catalogue: Catalogue, variant: Variant, latest: date,
                  problems: list[Problem]) -> Evidence | None:
    prefix = f"beleg:{crit.id}:"
    before = len(problems)
    item = _choice(fields, prefix + "punkt", [i.id for i in _items_of(crit, variant)], problems, "Punkt")
    kind = _choice(fields, prefix + "art", list(catalogue.evidence_kinds), problems, "Art des Belegs")
    title = _text(fields, prefix + "titel", MAX_TITLE, problems, required=True, what="Titel")
    day = _date(fields, prefix + "datum", problems, latest=latest, what="Datum des Belegs")
    hours = _hours(fields, prefix + "stunden", problems)
    if len(problems) > before or item is None or kind is None or day is None:
        return None
    return Evidence(items=[item], kind=kind, title=title, date=day, hours=hours)


def _apply_area(own: _Own, assessment: Assessment, area: Area, fields: Mapping[str, Sequence[str]],
                latest: date) -> tuple[Assessment, list[Problem]]:
    """The area's form applied to ``assessment`` (answers of its items, profiles, records removed and added)."""
    catalogue, variant = own.catalogue, assessment.variant
    problems: list[Problem] = []
    answers = dict(assessment.answers)
    criteria = [c for c in [*area.criteria, *(c for p in area.profiles for c in p.criteria)]
                if applies(c.applies_to, variant)]
    area_items: set[str] = set()
    for crit in criteria:
        for item in _items_of(crit, variant):
            area_items.add(item.id)
            status_name, comment_name = f"antwort:{item.id}", f"bemerkung:{item.id}"
            if status_name not in fields and comment_name not in fields:
                continue
            raw = (_one(fields, status_name) or Status.OFFEN.value).strip()
            if raw not in {s.value for s in Status}:
                problems.append(_problem(status_name, "Antwort: erfüllt, nicht erfüllt oder offen"))
                continue
            comment = _text(fields, comment_name, MAX_COMMENT, problems, what="Bemerkung")
            status = Status(raw)
            if status is Status.OFFEN and not comment:
                answers.pop(item.id, None)
            else:
                answers[item.id] = Answer(status=status, comment=comment)
    profiles = list(assessment.profiles)
    if area.profiles and "profile-gezeigt" in fields:
        offered = {p.id for p in area.profiles}
        picked = {p for p in fields.get("profil", ()) if isinstance(p, str)}
        if picked - offered:
            problems.append(_problem("profil", "Profil: bitte aus der Liste wählen"))
        profiles = sorted({p for p in profiles if p not in offered} | (picked & offered))
    drop_activities = list(fields.get("akt-weg", ()))
    activities = []
    for act in assessment.activities:
        key = record_key(act)
        if act.item in area_items and key in drop_activities:
            drop_activities.remove(key)  # one per box: two equal records need two
            continue
        activities.append(act)
    drop_evidence = list(fields.get("beleg-weg", ()))
    evidence = []
    for ev in assessment.evidence:
        key = record_key(ev)
        if area_items.intersection(ev.items) and key in drop_evidence:
            drop_evidence.remove(key)
            continue
        evidence.append(ev)
    for crit in criteria:
        new = _new_activity(fields, crit, catalogue, variant, latest, problems)
        if new is not None:
            activities.append(new)
    if len(activities) > MAX_ACTIVITIES:
        problems.append(_problem("akt-weg", f"Höchstens {MAX_ACTIVITIES} Aktivitäten je Selbstbewertung"))
    updated = assessment.model_copy(update={"answers": answers, "profiles": profiles, "activities": activities,
                                            "evidence": evidence})
    return updated, problems


# --- preview and save ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    """An area's form applied to the working copy and scored, not saved."""

    area_id: str
    passed: bool
    progress: tuple[AreaProgress, ...]
    problems: tuple[Problem, ...]     # input the preview left out (the save would refuse it)
    criteria: tuple[CriterionResult, ...] = ()   # the area's criteria (chosen profiles or not), as scored now

    @property
    def area(self) -> AreaProgress | None:
        return next((a for a in self.progress if a.id == self.area_id), None)


def preview(uow: UnitOfWork, actor_id: str, procedure_id: str, area_id: str,
            fields: Mapping[str, Sequence[str]]) -> Preview:
    """Score the working copy with the area's form applied, without saving anything (the live score)."""
    own = _load(uow, actor_id, procedure_id)
    refuse_if(_editable_refusal(own.procedure))
    area = _find_area(own.catalogue, area_id)
    copy = _working_copy(uow, own)
    assessment, problems = _apply_area(own, copy.assessment, area, fields, today(uow))
    report = _scorer(own.catalogue.key).score(assessment, _period(own.procedure))
    criteria = tuple(c for a in report.areas if a.id == area.id
                     for c in [*a.criteria, *(c for p in a.profiles for c in p.criteria)])
    return Preview(area.id, report.passed, _progress(report, assessment, own.catalogue), tuple(problems), criteria)


def save_area(uow: UnitOfWork, actor_id: str, procedure_id: str, area_id: str,
              fields: Mapping[str, Sequence[str]], reason: str = "Entwurf gespeichert") -> Result:
    """Save the working copy with the area's form applied as the draft; bad input: :class:`FormError`, nothing saved."""
    own = _load(uow, actor_id, procedure_id)
    refuse_if(_editable_refusal(own.procedure))
    area = _find_area(own.catalogue, area_id)
    copy = _working_copy(uow, own)
    assessment, problems = _apply_area(own, copy.assessment, area, fields, today(uow))
    if problems:
        raise FormError(problems)
    draft = uow.submissions.save_draft(own.procedure.id, assessment, by=own.actor.id, reason=reason)
    return Result("self_assessment.saved", {"procedure": own.procedure.id, "revision": draft.revision,
                                            "area": f"{area.id} {area.title}"})


# --- evidence -----------------------------------------------------------------------------------------------------


def _clean_filename(name: str | None) -> str | None:
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in base if ord(c) >= 32 and c != "\x7f").strip().lstrip(".")
    if not base:
        return "beleg"
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else base[:MAX_FILENAME]
    return base


def _evidence_record(uow: UnitOfWork, actor_id: str, procedure_id: str, criterion_id: str,
                     fields: Mapping[str, Sequence[str]]) -> tuple[_Own, _Copy, Evidence]:
    own = _load(uow, actor_id, procedure_id)
    refuse_if(_editable_refusal(own.procedure))
    copy = _working_copy(uow, own)
    crit = next((c for _, _, c in own.catalogue.all_criteria() if c.id == criterion_id), None)
    if crit is None or not applies(crit.applies_to, copy.assessment.variant):
        raise FormError([_problem("kriterium", f"Das Kriterium {criterion_id!s:.40} gibt es in dieser "
                                               "Selbstbewertung nicht")])
    problems: list[Problem] = []
    record = _new_evidence(fields, crit, own.catalogue, copy.assessment.variant, today(uow), problems)
    if len(copy.assessment.evidence) >= MAX_EVIDENCE:
        problems.append(_problem(f"beleg:{crit.id}:titel", f"Höchstens {MAX_EVIDENCE} Belege je Selbstbewertung"))
    if problems or record is None:
        raise FormError(problems)
    return own, copy, record


def _add_record(uow: UnitOfWork, actor_id: str, procedure_id: str, criterion_id: str,
                fields: Mapping[str, Sequence[str]], file: tuple[str, str] | None) -> Result:
    own, copy, record = _evidence_record(uow, actor_id, procedure_id, criterion_id, fields)
    if file is not None:
        record = record.model_copy(update={"sha256": file[0], "file": file[1]})
    updated = copy.assessment.model_copy(update={"evidence": [*copy.assessment.evidence, record]})
    draft = uow.submissions.save_draft(own.procedure.id, updated, by=own.actor.id,
                                       reason=f"Beleg zu Kriterium {criterion_id} hinzugefügt")
    return Result("self_assessment.evidence_added", {"procedure": own.procedure.id, "revision": draft.revision,
                                                     "criterion": criterion_id, "title": record.title,
                                                     "file": record.file})


def add_evidence(app: Application, actor_id: str, procedure_id: str, criterion_id: str,
                 fields: Mapping[str, Sequence[str]], upload: BinaryIO | None = None,
                 filename: str | None = None) -> Result:
    """An evidence record for ``criterion_id``, with the uploaded file (optional: a document shown on paper).

    Checked first (scope, state, the record's fields), then the file is read in chunks into the staging
    area (size limit, type allow-list: refused as soon as it fails), then the record is saved in the
    draft. The evidence store is not touched: :func:`submit_draft` moves the file there once the
    submission committed. If the draft cannot be saved, a file this upload brought is removed again.
    Failures leave as :class:`~.runner.UseCaseError` (a refused file: ``INPUT``, naming the field).
    """
    app.run(lambda uow: _evidence_record(uow, actor_id, procedure_id, criterion_id, fields)[2])
    file: tuple[str, str] | None = None
    staged = None
    staging = EvidenceStaging.beside(app.evidence_store())
    name = _clean_filename(filename)
    if upload is not None and name:
        try:
            staged = staging.stage(procedure_id, upload, name)
        except EvidenceRejected as exc:
            raise classify(FormError([_problem(f"beleg:{criterion_id}:datei", exc.reason)])) from None
        file = (staged.stored.sha256, name)
    try:
        return app.run(lambda uow: _add_record(uow, actor_id, procedure_id, criterion_id, fields, file))
    except BaseException:
        if staged is not None and staged.new:
            staging.discard(procedure_id, staged.stored.sha256)
        raise


# --- submission ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmissionView:
    """The submit page: the working copy scored, whether it may be submitted and the warnings it would get."""

    workspace: Workspace
    event: str                 # "submit" | "resubmit"
    refusal: str | None        # the domain's: what keeps it from being submitted
    warnings: tuple[str, ...]  # the domain's: submitted, but with these
    missing_files: tuple[str, ...]


def _missing_files(uow: UnitOfWork, assessment: Assessment, store: EvidenceStore, staging: EvidenceStaging,
                   procedure_id: str) -> list[str]:
    """Titles of the records whose file was uploaded for this draft and is gone (neither staged nor stored).

    A file named by an earlier submitted revision and not in the store (submitted without its files,
    e.g. on the command line) is the packet's matter: it lists it as missing.
    """
    gone = [ev for ev in assessment.evidence
            if ev.sha256 and not store.exists(ev.sha256) and not staging.has(procedure_id, ev.sha256)]
    if not gone:
        return []
    earlier = {ev.sha256 for snap in uow.submissions.submitted(procedure_id)
               for ev in _parse(snap.canonical_json).evidence if ev.sha256}
    return [ev.title for ev in gone if ev.sha256 not in earlier]


def submission_check(uow: UnitOfWork, actor_id: str, procedure_id: str, *,
                     evidence_store: EvidenceStore) -> SubmissionView:
    """What submitting now would do: the domain's refusal or warnings (nothing is saved)."""
    ws = workspace(uow, actor_id, procedure_id, evidence_store=evidence_store)
    event = "resubmit" if ws.procedure.state is ProcedureState.CHANGES_REQUESTED else "submit"
    refusal = _editable_refusal(ws.procedure)
    warnings: tuple[str, ...] = ()
    if refusal is None:
        check = guards.check_submission(ws.procedure, ws.familienzentrum, ws.catalogue, ws.assessment)
        refusal, warnings = check.refusal, check.warnings
    missing = _missing_files(uow, ws.assessment, evidence_store, EvidenceStaging.beside(evidence_store),
                             procedure_id)
    return SubmissionView(ws, event, refusal, warnings, tuple(missing))


def _submit(uow: UnitOfWork, actor_id: str, procedure_id: str, reason: str, store: EvidenceStore,
            staging: EvidenceStaging) -> Result:
    own = _load(uow, actor_id, procedure_id)
    assessment = _working_copy(uow, own).assessment
    missing = _missing_files(uow, assessment, store, staging, procedure_id)
    if missing and own.procedure.state in EDITABLE:
        raise Refused("Einreichen nicht möglich: die Datei zu " + ", ".join(f"„{m}“" for m in missing[:5])
                      + " ist nicht mehr vorhanden; bitte den Beleg entfernen und die Datei erneut hochladen")
    action = resubmit if own.procedure.state is ProcedureState.CHANGES_REQUESTED else submit
    result = action(uow, actor_id, procedure_id, assessment, reason)
    staged = tuple(dict.fromkeys((ev.sha256, ev.file or ev.title) for ev in assessment.evidence
                                 if ev.sha256 and not store.exists(ev.sha256)
                                 and staging.has(procedure_id, ev.sha256)))
    if staged:
        files = [staging.describe(procedure_id, sha, name) for sha, name in staged]
        revision = result.facts["revision"]
        uow.record(actor_id=own.actor.id, action="assessment_revision.evidence", subject_kind="assessment_revision",
                   subject_id=f"{procedure_id}#{revision}", reason=reason, at=result.changes[0].at,
                   payload={"files": [{"file": f.filename, "sha256": f.sha256, "size": f.size,
                                       "media_type": f.media_type} for f in files]})
    return replace(result, facts={**result.facts, "staged": staged})


def _settle(staging: EvidenceStaging, store: EvidenceStore, procedure_id: str,
            staged: Sequence[tuple[str, str]]) -> Promotion:
    promotion = staging.promote(procedure_id, staged, store)
    staging.clear(procedure_id, keep=[sha for sha, _ in promotion.failed])
    return promotion


def submit_draft(app: Application, actor_id: str, procedure_id: str, reason: str) -> Result:
    """Submit the working copy (``resubmit`` after a requested Nachbesserung) as the next frozen revision.

    The domain checks completeness (every item answered, a document for every met item that needs one)
    and refuses otherwise; a failing score is submitted with a warning (``Result.warnings``). Every file
    the copy names must be in the evidence store or staged. Only after the commit are the staged files
    moved into the evidence store and the procedure's staging area cleared; a file that cannot be moved
    stays staged and is named in a warning (:func:`settle_evidence` tries again). If the submission fails,
    nothing reaches the store. ``Result.count`` is the number of files moved.
    """
    store = app.evidence_store()
    staging = EvidenceStaging.beside(store)
    result = app.run(lambda uow: _submit(uow, actor_id, procedure_id, reason, store, staging))
    promotion = _settle(staging, store, procedure_id, result.facts["staged"])
    warnings = tuple(f"Beleg noch nicht im Belegspeicher (bleibt vorgemerkt): {message}"
                     for _sha, message in promotion.failed)
    return replace(result, count=len(promotion.moved), warnings=result.warnings + warnings)


def _submitted_files(uow: UnitOfWork, actor_id: str, procedure_id: str) -> tuple[bool, tuple[tuple[str, str], ...]]:
    own = _load(uow, actor_id, procedure_id)
    latest = uow.submissions.latest_submitted(procedure_id)
    if latest is None or own.procedure.state in EDITABLE and uow.submissions.draft(procedure_id) is not None:
        return False, ()
    assessment = _parse(latest.canonical_json)
    return True, tuple(dict.fromkeys((ev.sha256, ev.file or ev.title) for ev in assessment.evidence if ev.sha256))


def settle_evidence(app: Application, actor_id: str, procedure_id: str) -> Promotion:
    """Move into the store what the last submitted revision names and is still staged (after a failed move),
    then clear what no revision needs; nothing to do (no staging folder) costs no database query."""
    store = app.evidence_store()
    staging = EvidenceStaging.beside(store)
    try:
        if not staging.staged(procedure_id):
            return Promotion()
    except ValueError:
        return Promotion()
    settled, files = app.run(lambda uow: _submitted_files(uow, actor_id, procedure_id))
    if not settled:
        return Promotion()
    return _settle(staging, store, procedure_id, [(sha, name) for sha, name in files
                                                  if staging.has(procedure_id, sha)])


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    media_type: str
    content: bytes = field(repr=False)


def _named_files(uow: UnitOfWork, actor_id: str, procedure_id: str) -> dict[str, str]:
    """sha256 -> file name of every file the working copy or a submitted revision of the procedure names."""
    own = _load(uow, actor_id, procedure_id)
    named: dict[str, str] = {}
    revisions = [_parse(s.canonical_json) for s in uow.submissions.submitted(procedure_id)]
    for assessment in [*revisions, _working_copy(uow, own).assessment]:
        for ev in assessment.evidence:
            if ev.sha256:
                named[ev.sha256] = ev.file or f"{ev.title}"
    return named


def evidence_file(app: Application, actor_id: str, procedure_id: str, sha256: str) -> Download:
    """One of the procedure's own evidence files (in the store, or staged), for the Kita lead."""
    named = app.run(lambda uow: _named_files(uow, actor_id, procedure_id))
    key = (sha256 or "").lower()
    store = app.evidence_store()
    staging = EvidenceStaging.beside(store)
    if key in named:
        if store.exists(key):
            path = store.get(key)
        elif staging.has(procedure_id, key):
            path = staging.path(procedure_id, key)
        else:
            path = None
        if path is not None:
            content = path.read_bytes()
            media_type = detect_media_type(content[:HEAD_SIZE], io.BytesIO(content)) or "application/octet-stream"
            return Download(named[key], media_type, content)
    raise UseCaseError(ErrorKind.NOT_FOUND, "Diese Datei gibt es nicht")


# --- documents at the end -----------------------------------------------------------------------------------------


def _decided_own(uow: UnitOfWork, actor_id: str, procedure_id: str) -> None:
    own = _load(uow, actor_id, procedure_id)
    if own.procedure.state not in DECIDED:
        raise Refused(f"Das Qualitätsprofil zum Verfahren {procedure_id} gibt es nach der Entscheidung")


def _own_seal(uow: UnitOfWork, actor_id: str, number: str) -> None:
    actor = resolve(uow, actor_id)
    if actor.role is not Role.KITA_LEAD:
        raise Refused(f"Die Urkunde lädt hier die Kita-Leitung herunter, nicht die Rolle '{actor.role.label}'")
    if number not in seal_numbers(uow, actor_id):
        raise Refused(f"Kein Zugriff auf die Urkunde {number}")


def document(app: Application, actor_id: str, kind: str, ident: str) -> Download:
    """The Qualitätsprofil of a decided procedure (``kind="qualitaetsprofil"``, ``ident``: the procedure)
    or the Urkunde of a seal (``"urkunde"``, ``ident``: its number) of the Kita lead's Familienzentrum,
    rendered in a worker process (:mod:`.rendering`)."""
    from .rendering import render_certificate, render_qualitaetsprofil

    with tempfile.TemporaryDirectory(prefix="certflow-web-") as folder:
        out = Path(folder) / "dokument.pdf"
        if kind == "qualitaetsprofil":
            app.run(lambda uow: _decided_own(uow, actor_id, ident))
            render_qualitaetsprofil(app, actor_id, ident, out)
            name = f"{ident}-qualitaetsprofil.pdf"
        elif kind == "urkunde":
            app.run(lambda uow: _own_seal(uow, actor_id, ident))
            render_certificate(app, actor_id, ident, out)
            name = f"{ident}-urkunde.pdf"
        else:
            raise UseCaseError(ErrorKind.NOT_FOUND, "Dieses Dokument gibt es nicht")
        return Download(name, "application/pdf", out.read_bytes())


# --- "Meine Aufgaben" ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tasks:
    """One Familienzentrum of the Kita lead: its current procedure, what is due and what the lead can do."""

    row: OverviewRow
    procedure: Procedure | None
    actions: tuple[str, ...]         # events the lead may fire now (register, start_development, submit, ...)
    editable: bool
    draft_revision: int | None
    draft_saved_at: datetime | None
    open_questions: tuple[str, ...]  # criteria whose thread ends with a question to the Kita
    comment_count: int
    qualitaetsprofile: tuple[str, ...]   # decided procedures (each has a Qualitätsprofil)
    seals: tuple[str, ...]               # seal numbers (each has an Urkunde)

    @property
    def action_labels(self) -> dict[str, str]:
        return {a: EVENT_LABELS[a] for a in self.actions}


def tasks(uow: UnitOfWork, actor_id: str) -> list[Tasks]:
    """"Meine Aufgaben" of a Kita lead (other roles are refused: they have their own start pages)."""
    actor = resolve(uow, actor_id)
    if actor.role is not Role.KITA_LEAD:
        raise Refused(f"„Meine Aufgaben“ ist die Seite der Kita-Leitung, nicht der Rolle '{actor.role.label}'")
    rows = overview(uow, actor_id)
    fz_ids = [row.familienzentrum_id for row in rows]
    seals: dict[str, set[str]] = {}
    for cert in uow.certificates.of_familienzentren(fz_ids) if fz_ids else ():
        seals.setdefault(cert.familienzentrum_id, set()).add(cert.number)
    out = []
    for row in rows:
        procedure = uow.procedures.get(row.procedure_id) if row.procedure_id else None
        actions: tuple[str, ...] = ()
        draft = None
        threads: dict[str, tuple[Comment, ...]] = {}
        if procedure is not None:
            fz = uow.familienzentren.get(procedure.familienzentrum_id)
            actions = tuple(e for e in PROCEDURE_MACHINE.allowed_events(procedure.state.value)
                            if e in EVENT_ROLES and guards.actor_refusal(actor, EVENT_ROLES[e], "", fz) is None)
            draft = uow.submissions.draft(procedure.id) if procedure.state in EDITABLE else None
            threads = _threads(uow, procedure)
        open_questions = tuple(cid for cid, thread in threads.items() if thread[-1].author_role is not Role.KITA_LEAD)
        decided = tuple(p.id for p in uow.procedures.of_familienzentrum(row.familienzentrum_id)
                        if p.state in DECIDED)
        out.append(Tasks(row, procedure, actions, procedure is not None and procedure.state in EDITABLE,
                         draft.revision if draft else None, draft.created_at if draft else None,
                         open_questions, sum(len(t) for t in threads.values()), decided,
                         tuple(sorted(seals.get(row.familienzentrum_id, ())))))
    return out
