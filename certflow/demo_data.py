"""The demo world: two Jugendämter, a dozen Kitas, a Verbund of three, procedures in every state.

:func:`build_demo` fills a migrated, empty database through the service layer
(never raw inserts), so the audit trail is real: every step is one unit of work
with a clock pinned to the step's day, and the steps of all procedures run in the
order of their dates. For a given ``today`` the result is always the same.

Everything is invented: the Jugendämter, Träger, towns, streets and people do
not exist (no contact persons or addresses from the seed pages).

What it makes, relative to ``today`` (KGJ = the Kindergartenjahr of ``today``):

* Jugendamt Kreis Wiesental: the Verbund "Am Mühlenbach" (three Kitas, first
  certified five years ago, re-certified this spring or last), Sonnenblume
  (withdrawn last year, nominated again), Pusteblume (registered), Am
  Schlossgarten (Nachbesserung angefordert), Kunterbunt (begangen, abgezeichnet);
* Jugendamt der Stadt Hellbach: Arche Noah (in Entwicklung), Nordstern
  (eingereicht), Rheinwiese (Begehung geplant), Senfkorn (seal due for
  re-certification), Zechenhaus (re-certification rejected, seal lapsed);
* contingents of places for every year used, one place returned and carried over;
* users of every role (see :data:`USERS`).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from . import services
from .assessment.model import Answer, Assessment, Period, Status
from .calendar import KindergartenYear, recertification_opens
from .catalogue.model import Variant
from .db import UnitOfWork
from .db.audit_log import count as audit_count
from .evidence_store import EvidenceStore
from .lifecycle.entities import Jugendamt, Outcome, Role, Traeger, User
from .lifecycle.machinery import BERLIN
from .packet.workers import RenderPool
from .samples import satisfying_assessment, spoil
from .services.procedures import prepare_sign_off, record_sign_off
from .services.runner import Application
from .services.verdicts import VerdictInput
from .settings import Settings

__all__ = ["USERS", "DemoClock", "DemoSummary", "build_demo"]

WIESENTAL, HELLBACH = "ja-wiesental", "ja-hellbach"
JUGENDAEMTER = [Jugendamt(WIESENTAL, "Jugendamt Kreis Wiesental"), Jugendamt(HELLBACH, "Jugendamt der Stadt Hellbach")]
TRAEGER = [
    Traeger("tr-kitawerk", "Kita-Werk Wiesental gGmbH"),
    Traeger("tr-elterninitiative", "Elterninitiative Sonnenhügel e. V."),
    Traeger("tr-ev-hellbach", "Ev. Kirchengemeinde Hellbach"),
    Traeger("tr-stadt-hellbach", "Stadt Hellbach, Städtische Kitas"),
]
# id; name; traeger_id; jugendamt_id; strasse; plz; ort; lat; lon  (all invented)
KITAS_CSV = """id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon
k01;Kita Am Mühlenbach;tr-kitawerk;ja-wiesental;Mühlenweg 4;59491;Obermühlen;51,6402;7,4701
k02;Kita Regenbogen;tr-kitawerk;ja-wiesental;Am Anger 12;59491;Obermühlen;51,6481;7,4823
k03;Kita Kleine Strolche;tr-elterninitiative;ja-wiesental;Birkenallee 3;59491;Obermühlen;51,6352;7,4886
k04;Kita Sonnenblume;tr-kitawerk;ja-wiesental;Lindenstraße 21;59496;Brückenfeld;51,7003;7,3602
k05;Kita Pusteblume;tr-elterninitiative;ja-wiesental;Wiesenpfad 7;59496;Brückenfeld;51,7051;7,3724
k06;Kita Am Schlossgarten;tr-kitawerk;ja-wiesental;Schlossallee 2;59499;Wiesental;51,5804;7,3001
k07;Kita Kunterbunt;tr-kitawerk;ja-wiesental;Kirchplatz 5;59499;Wiesental;51,5852;7,3153
k08;Ev. Kita Arche Noah;tr-ev-hellbach;ja-hellbach;Pfarrgasse 9;47181;Hellbach;51,4603;6,8204
k09;Städtische Kita Nordstern;tr-stadt-hellbach;ja-hellbach;Nordring 44;47183;Hellbach;51,4751;6,8352
k10;Städtische Kita Rheinwiese;tr-stadt-hellbach;ja-hellbach;Uferstraße 18;47185;Hellbach;51,4522;6,8051
k11;Ev. Kita Senfkorn;tr-ev-hellbach;ja-hellbach;Hohe Straße 60;47181;Hellbach;51,4664;6,8503
k12;Städtische Kita Zechenhaus;tr-stadt-hellbach;ja-hellbach;Grubenweg 3;47183;Hellbach;51,4802;6,8003
"""

ADMIN, KOORD_W, KOORD_H = "admin", "koord-wiesental", "koord-hellbach"
AUDITOR_1, AUDITOR_2, ZERT_1, ZERT_2 = "auditor-1", "auditor-2", "zert-1", "zert-2"


@dataclass(frozen=True, slots=True)
class _FZ:
    id: str
    name: str
    kitas: tuple[str, ...]
    coordinator: str
    lead: str
    lead_name: str


FAMILIENZENTREN = [
    _FZ("fz-muehlenbach", "Familienzentrum Am Mühlenbach", ("k01", "k02", "k03"), KOORD_W, "leitung-muehlenbach",
        "Sabine Kortmann"),
    _FZ("fz-sonnenblume", "Familienzentrum Sonnenblume", ("k04",), KOORD_W, "leitung-sonnenblume", "Tobias Reker"),
    _FZ("fz-pusteblume", "Familienzentrum Pusteblume", ("k05",), KOORD_W, "leitung-pusteblume", "Leonie Hartmann"),
    _FZ("fz-schlossgarten", "Familienzentrum Am Schlossgarten", ("k06",), KOORD_W, "leitung-schlossgarten",
        "Miriam Osterkamp"),
    _FZ("fz-kunterbunt", "Familienzentrum Kunterbunt", ("k07",), KOORD_W, "leitung-kunterbunt", "Deniz Aksoy"),
    _FZ("fz-arche-noah", "Familienzentrum Arche Noah", ("k08",), KOORD_H, "leitung-arche-noah", "Ruth Wellmann"),
    _FZ("fz-nordstern", "Familienzentrum Nordstern", ("k09",), KOORD_H, "leitung-nordstern", "Jan Pieper"),
    _FZ("fz-rheinwiese", "Familienzentrum Rheinwiese", ("k10",), KOORD_H, "leitung-rheinwiese", "Svenja Lohmann"),
    _FZ("fz-senfkorn", "Familienzentrum Senfkorn", ("k11",), KOORD_H, "leitung-senfkorn", "Markus Brandes"),
    _FZ("fz-zechenhaus", "Familienzentrum Zechenhaus", ("k12",), KOORD_H, "leitung-zechenhaus", "Aylin Demir"),
]
_BY_ID = {f.id: f for f in FAMILIENZENTREN}

USERS = [
    User(ADMIN, "Petra Adler", Role.ADMIN),
    User(KOORD_W, "Jana Wiesner", Role.COORDINATOR, jugendamt_id=WIESENTAL),
    User(KOORD_H, "Murat Kaya", Role.COORDINATOR, jugendamt_id=HELLBACH),
    User(AUDITOR_1, "Dr. Henrike Feldmann", Role.AUDITOR),           # freelance
    User(AUDITOR_2, "Bernd Albers", Role.AUDITOR),                   # employed by an audit firm outside NRW's Träger
    User(ZERT_1, "Claudia Lange", Role.CERTIFIER),
    User(ZERT_2, "Felix Roth", Role.CERTIFIER),
    *(User(f.lead, f.lead_name, Role.KITA_LEAD, familienzentrum_id=f.id) for f in FAMILIENZENTREN),
]


class DemoClock:
    """The clock of the demo: set to each step's time before the step runs."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    @classmethod
    def on(cls, day: date) -> DemoClock:
        """A clock standing at noon (NRW time) of ``day``."""
        return cls(_at(day, 12))


@dataclass
class DemoSummary:
    today: date
    counts: dict[str, int] = field(default_factory=dict)
    procedures: dict[str, str] = field(default_factory=dict)     # familienzentrum id -> current procedure id
    states: Counter = field(default_factory=Counter)             # procedure state -> how many
    certificates: Counter = field(default_factory=Counter)       # certificate state -> how many
    users: list[User] = field(default_factory=lambda: list(USERS))
    nomination_kgj: KindergartenYear | None = None
    warnings: list[str] = field(default_factory=list)
    packets: dict[str, bytes] = field(default_factory=dict, repr=False)  # procedure id -> packet signed off


Step = Callable[[UnitOfWork], None]
Progress = Callable[[int, int, str], None]
"""Called after each step: (steps done, steps in all, the step's label, e.g. the procedure's name)."""


class _OwnUnits:
    """A step that runs its own units of work on the application (the sign-off: read, render, store)."""

    def __init__(self, run: Callable[[Application], None]):
        self.run = run


@dataclass
class _SignOff:
    """A sign-off read and sent to a worker, not yet recorded: its draft, the packet on its way, the auditor."""

    draft: Any
    packet: Future
    done: Callable[[bytes], None]


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), BERLIN)


class _Plan:
    """The dated steps of the whole demo; run in order of their times."""

    def __init__(self, today: date):
        self.today = today
        self.latest = _at(today - timedelta(days=1), 17)  # every step lies before today
        self.steps: list[tuple[datetime, int, str, Step]] = []
        self.ids: dict[str, str] = {}                     # chain name -> procedure id
        self.warnings: list[str] = []
        self.packets: dict[str, bytes] = {}                # procedure id -> the audit packet signed off
        self.app: Application | None = None                # while it runs
        self.pool: RenderPool | None = None                # while it runs: renders the packets signed off
        self.pending: dict[str, _SignOff] = {}             # chain -> its sign-off, rendered meanwhile
        self._senders: ThreadPoolExecutor | None = None

    def add(self, when: datetime, label: str, step: Step | _OwnUnits) -> datetime:
        self.steps.append((when, len(self.steps), label, step))
        return when

    def chain(self, label: str, moments: list[tuple[date | datetime, Step]]) -> None:
        """Steps of one procedure: strictly one after the other, none after yesterday evening."""
        previous: datetime | None = None
        for moment, step in moments:
            when = moment if isinstance(moment, datetime) else _at(moment)
            when = min(when, self.latest)
            if previous is not None and when <= previous:
                when = previous + timedelta(minutes=30)
            self.add(when, label, step)
            previous = when

    def run(self, engine: Engine, clock: DemoClock, progress: Progress | None = None, *,
            settings: Settings | None = None, pool: RenderPool | None = None) -> None:
        """Run the steps in time order. A sign-off's packet renders in a worker of ``pool`` (default: a pool of
        two, closed at the end) while the steps of other procedures go on; the sign-off is recorded before the
        next step of its own procedure (or at the end), so the next step sees it, and at the same point
        of every run (the database is the same for the same ``today``)."""
        app = self.app = Application(settings or Settings(), engine=engine, clock=clock, after_commit=(),
                                     check_schema=False)
        own_pool = pool is None
        self.pool = pool or RenderPool(workers=2)
        self._senders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="demo-sign-off")
        steps = sorted(self.steps, key=lambda s: (s[0], s[1]))
        try:
            for done, (when, _, label, step) in enumerate(steps, 1):
                self._record(label, clock)
                clock.at = when
                if isinstance(step, _OwnUnits):
                    step.run(app)
                else:
                    with app.unit_of_work() as uow:
                        step(uow)
                if progress is not None:
                    progress(done, len(steps), label)
            for label in list(self.pending):
                self._record(label, clock)
        finally:
            self._senders.shutdown(wait=True, cancel_futures=True)
            if own_pool:
                self.pool.close()

    def sign_off(self, label: str, actor_id: str, procedure_id: str, reason: str) -> None:
        """Read the sign-off (first unit of work) and send its packet to a worker; :meth:`_record` stores it."""
        assert self.app is not None and self.pool is not None and self._senders is not None
        app, pool = self.app, self.pool
        store = app.evidence_store()
        draft = app.run(lambda uow: prepare_sign_off(uow, actor_id, procedure_id, reason, evidence_store=store))
        packet = self._senders.submit(pool.pdf, "packet", draft.data, app.settings.templates)
        self.pending[label] = _SignOff(draft, packet, lambda pdf: self.packets.__setitem__(procedure_id, pdf))

    def _record(self, label: str, clock: DemoClock) -> None:
        """Store the pending sign-off of chain ``label`` (second unit of work), as :func:`services.sign_off` does."""
        pending = self.pending.pop(label, None)
        if pending is None:
            return
        assert self.app is not None
        pdf, _pages = pending.packet.result()
        at, clock.at = clock.at, pending.draft.at
        try:
            self.app.run(lambda uow: record_sign_off(uow, pending.draft, pdf))
        finally:
            clock.at = at
        pending.done(pdf)


def _assessment(uow: UnitOfWork, procedure_id: str, passing: bool = True) -> Assessment:
    procedure = uow.procedures.get(procedure_id)
    fz = uow.familienzentren.get(procedure.familienzentrum_id)
    catalogue = services.catalogue_for_key(procedure.catalogue_key)
    assessment = satisfying_assessment(
        catalogue, Variant(procedure.kind, fz.form), Period(start=procedure.period_start, end=procedure.period_end),
        name=fz.name)
    if passing:
        return assessment
    spoiled = spoil(assessment, 0.3, seed=sum(map(ord, procedure_id)))
    answers = {k: Answer(status=Status.NICHT_ERFUELLT) if a.status is Status.OFFEN else a
               for k, a in spoiled.answers.items()}  # every item answered: submittable, but failing
    return spoiled.model_copy(update={"answers": answers})


def _submit_with_files(uow: UnitOfWork, lead: str, procedure_id: str, assessment: Assessment, reason: str,
                       store: EvidenceStore) -> services.Result:
    """Submit with a small generated file per evidence record, stored in ``store`` (the deployment's evidence
    store); every tenth record has no file (shown on paper at the visit), as happens."""
    from .packet.sample import evidence_files

    catalogue = services.catalogue_for_key(uow.procedures.get(procedure_id).catalogue_key)
    assessment, files = evidence_files(catalogue, assessment)
    records = [ev.model_copy(update={"file": None, "sha256": None}) if i % 10 == 9 else ev
               for i, ev in enumerate(assessment.evidence)]
    with tempfile.TemporaryDirectory(prefix="certflow-demo-") as folder:
        for record, file in zip(records, files, strict=True):
            if record.file:
                target = Path(folder, record.file)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(file.read())
        return services.submit(uow, lead, procedure_id, assessment.model_copy(update={"evidence": records}),
                               reason, evidence_dir=folder, evidence_store=store)


def _verdicts(uow: UnitOfWork, procedure_id: str, passing: bool) -> dict[str, VerdictInput]:
    catalogue = services.catalogue_for_key(uow.procedures.get(procedure_id).catalogue_key)
    ids = [crit.id for _, profile, crit in catalogue.all_criteria() if profile is None][:6]
    out = {i: VerdictInput(Status.ERFUELLT, None) for i in ids}
    if not passing:
        out[ids[-1]] = VerdictInput(Status.NICHT_ERFUELLT, "Angebot im Prüfzeitraum nicht nachgewiesen")
    return out


class _Cycle:
    """Builds the steps of one procedure of one Familienzentrum."""

    def __init__(self, plan: _Plan, fz: _FZ, name: str):
        self.plan, self.fz, self.name = plan, fz, name
        self.moments: list[tuple[date | datetime, Step]] = []

    @property
    def pid(self) -> str:
        return self.plan.ids[self.name]

    def _keep(self, result: services.Result) -> None:
        self.plan.ids[self.name] = result.procedure.id
        self.plan.warnings.extend(result.warnings)

    def nominate(self, day: date, kgj: KindergartenYear) -> _Cycle:
        def step(uow):
            self._keep(services.nominate(uow, self.fz.coordinator, self.fz.id, kgj,
                                         "Beschluss des Jugendhilfeausschusses"))
        self.moments.append((day, step))
        return self

    def recertify(self, day: date) -> _Cycle:
        def step(uow):
            self._keep(services.start_recertification(uow, ZERT_1, self.fz.id,
                                                      "Unterlagen zur Re-Zertifizierung versandt"))
        self.moments.append((day, step))
        return self

    def then(self, day: date, action: Callable[[UnitOfWork, str], services.Result]) -> _Cycle:
        def step(uow):
            self.plan.warnings.extend(action(uow, self.pid).warnings)
        self.moments.append((day, step))
        return self

    def register(self, day: date) -> _Cycle:
        return self.then(day, lambda uow, p: services.register(uow, self.fz.lead, p, "Einladung angenommen"))

    def start(self, day: date) -> _Cycle:
        return self.then(day, lambda uow, p: services.start_development(
            uow, self.fz.lead, p, "Entwicklungsjahr beginnt"))

    def submit(self, day: date, passing: bool = True) -> _Cycle:
        return self.then(day, lambda uow, p: _submit_with_files(
            uow, self.fz.lead, p, _assessment(uow, p, passing), "Selbstbewertung fertiggestellt",
            self.plan.app.evidence_store()))

    def request_changes(self, day: date) -> _Cycle:
        return self.then(day, lambda uow, p: services.request_changes(
            uow, ZERT_1, p, "Belege zu Bereich 1 unvollständig, bitte nachreichen"))

    def schedule(self, day: date, visit: date, auditor: str = AUDITOR_1) -> _Cycle:
        return self.then(day, lambda uow, p: services.schedule_audit(
            uow, ZERT_1, p, auditor, visit, "Termin telefonisch mit der Leitung vereinbart"))

    def record(self, day: date, passing: bool = True, auditor: str = AUDITOR_1) -> _Cycle:
        sites = (self.fz.kitas[0], self.fz.kitas[1]) if len(self.fz.kitas) > 1 else None
        return self.then(day, lambda uow, p: services.record_audit(
            uow, auditor, p, day, "Begehung vor Ort, 3,5 Stunden", sites=sites, verdicts=_verdicts(uow, p, passing)))

    def sign_off(self, when: datetime, auditor: str = AUDITOR_1) -> _Cycle:
        """The auditor signs off (:func:`services.sign_off` in its three parts: the packet renders meanwhile)."""
        def step(app: Application) -> None:
            self.plan.sign_off(self.name, auditor, self.pid, "Bericht abgeschlossen")
        self.moments.append((when, _OwnUnits(step)))
        return self

    def decide(self, day: date, outcome: Outcome, reason: str) -> _Cycle:
        return self.then(day, lambda uow, p: services.decide(uow, ZERT_2, p, outcome, reason))

    def withdraw(self, day: date, who: str, reason: str) -> _Cycle:
        return self.then(day, lambda uow, p: services.withdraw(uow, who, p, reason))

    def done(self) -> None:
        self.plan.chain(self.name, self.moments)


def _full_erst(plan: _Plan, fz: _FZ, kgj: KindergartenYear, decided: date, name: str) -> None:
    """A whole Erst-Zertifizierung in ``kgj``, certified on ``decided`` (in May of the year it ends)."""
    y = kgj.start_year
    (_Cycle(plan, fz, name).nominate(date(y, 6, 1), kgj).register(date(y, 8, 20)).start(date(y, 9, 1))
     .submit(date(y + 1, 3, 16)).schedule(date(y + 1, 3, 20), date(y + 1, 4, 14)).record(date(y + 1, 4, 14))
     .sign_off(_at(date(y + 1, 4, 15))).decide(decided, Outcome.CERTIFIED, "Alle Bereiche erfüllt").done())


def _plan(today: date) -> tuple[_Plan, KindergartenYear, KindergartenYear, dict[tuple[str, KindergartenYear], int]]:
    plan = _Plan(today)
    kgj = KindergartenYear.of(today)
    ys = kgj.start_year
    early = (today - kgj.start).days < 150          # August to December: last year's procedures still run
    later = kgj.previous() if early else kgj        # the year of the procedures past their submission
    nomination = kgj.next() if today >= date(ys + 1, 3, 15) else kgj  # after the decree: next year's round
    need: Counter = Counter()

    # The Verbund: certified five years ago, re-certified this spring (or last spring).
    yr = today.year if today >= date(today.year, 6, 15) else today.year - 1
    verbund = _BY_ID["fz-muehlenbach"]
    first = KindergartenYear(yr - 5)
    _full_erst(plan, verbund, first, date(yr - 4, 5, 15), "muehlenbach-erst")
    need[(WIESENTAL, first)] += 1
    window = recertification_opens(date(yr, 7, 31))
    (_Cycle(plan, verbund, "muehlenbach-re").recertify(window + timedelta(days=14))
     .start(window + timedelta(days=30)).submit(date(yr, 2, 10)).schedule(date(yr, 2, 20), date(yr, 3, 12))
     .record(date(yr, 3, 12)).sign_off(_at(date(yr, 3, 13)))
     .decide(date(yr, 5, 20), Outcome.CERTIFIED, "Re-Zertifizierung: alle Bereiche erfüllt").done())
    advances = {window}

    # Senfkorn: the seal is due for re-certification now.
    valid_until = kgj.next().end if today >= recertification_opens(kgj.next().end) else kgj.end
    yv = valid_until.year
    _full_erst(plan, _BY_ID["fz-senfkorn"], KindergartenYear(yv - 5), date(yv - 4, 5, 12), "senfkorn-erst")
    need[(HELLBACH, KindergartenYear(yv - 5))] += 1

    # Zechenhaus: certified, re-certification rejected this May, seal lapsed on 31 July.
    zechenhaus = _BY_ID["fz-zechenhaus"]
    _full_erst(plan, zechenhaus, KindergartenYear(ys - 5), date(ys - 4, 5, 14), "zechenhaus-erst")
    need[(HELLBACH, KindergartenYear(ys - 5))] += 1
    window = recertification_opens(date(ys, 7, 31))
    advances.add(window)
    (_Cycle(plan, zechenhaus, "zechenhaus-re").recertify(window + timedelta(days=19))
     .start(window + timedelta(days=35)).submit(date(ys, 2, 12), passing=False)
     .schedule(date(ys, 2, 25), date(ys, 3, 20), AUDITOR_2).record(date(ys, 3, 20), passing=False, auditor=AUDITOR_2)
     .sign_off(_at(date(ys, 3, 21)), AUDITOR_2)
     .decide(date(ys, 5, 8), Outcome.NOT_CERTIFIED, "Mindestpunktzahl in Bereich 1 und 5 nicht erreicht").done())

    # Sonnenblume: nominated last round, withdrawn; nominated again this round.
    sonnenblume = _BY_ID["fz-sonnenblume"]
    before = nomination.previous()
    (_Cycle(plan, sonnenblume, "sonnenblume-old").nominate(date(before.start_year, 6, 5), before)
     .withdraw(date(before.start_year, 9, 15), KOORD_W, "Leitungswechsel, Kita verzichtet in diesem Jahr").done())
    (_Cycle(plan, sonnenblume, "sonnenblume").nominate(min(date(nomination.start_year, 6, 10),
                                                            today - timedelta(days=2)), nomination).done())
    need[(WIESENTAL, before)] += 1
    need[(WIESENTAL, nomination)] += 1

    # This year's starters.
    (_Cycle(plan, _BY_ID["fz-pusteblume"], "pusteblume").nominate(date(ys, 6, 8), kgj)
     .register(date(ys, 8, 25)).done())
    (_Cycle(plan, _BY_ID["fz-arche-noah"], "arche-noah").nominate(date(ys, 6, 9), kgj)
     .register(date(ys, 8, 26)).start(date(ys, 9, 5)).done())
    need[(WIESENTAL, kgj)] += 1
    need[(HELLBACH, kgj)] += 1

    # Past their submission: submitted, changes requested, audit scheduled, audited.
    yl = later.start_year
    submitted = date(ys, 3, 15) if early else kgj.start + timedelta(days=110)
    span = max((today - submitted).days, 8)

    def after(part: float) -> date:
        return submitted + timedelta(days=int(span * part))

    def starter(key: str) -> _Cycle:
        need[(WIESENTAL if _BY_ID[key].coordinator == KOORD_W else HELLBACH, later)] += 1
        return (_Cycle(plan, _BY_ID[key], key.removeprefix("fz-")).nominate(date(yl, 6, 10), later)
                .register(date(yl, 8, 25)).start(date(yl, 9, 3)))

    starter("fz-nordstern").submit(after(0.5)).done()
    starter("fz-schlossgarten").submit(submitted, passing=False).request_changes(after(0.3)).done()
    starter("fz-rheinwiese").submit(submitted).schedule(today - timedelta(days=2), today + timedelta(days=21),
                                                        AUDITOR_2).done()
    visit = after(0.6)
    (starter("fz-kunterbunt").submit(submitted).schedule(after(0.2), visit).record(visit)
     .sign_off(_at(visit, 16)).done())

    # Contingents: a place more than needed each year; Hellbach gives one place of last year back,
    # which is offered again this year.
    need[(WIESENTAL, kgj.previous())] += 0
    need[(HELLBACH, kgj.previous())] += 0
    need[(HELLBACH, nomination)] += 0
    grants = {key: n + 1 for key, n in need.items()}
    for (ja, year), places in sorted(grants.items(), key=lambda g: (g[0][1], g[0][0])):
        plan.add(_at(date(year.start_year, 3, 1), 8), "grant", lambda uow, ja=ja, year=year, places=places:
                 services.grant(uow, ADMIN, ja, year, places, "Erlass des Ministeriums: neue Plätze"))
    last = kgj.previous()
    plan.add(_at(date(last.start_year, 6, 15), 12), "return", lambda uow: services.return_places(
        uow, KOORD_H, HELLBACH, last, 1, "Kein weiterer Vorschlag des Jugendhilfeausschusses"))
    plan.add(_at(date(ys, 3, 1), 9), "carry", lambda uow: services.carry_over(
        uow, KOORD_H, HELLBACH, last, "Zurückgegebener Platz wird erneut angeboten"))

    # The scheduled job: open re-certification windows, let lapsed seals expire.
    for day in sorted(advances | {today}):
        plan.add(_at(min(day, today), 6), "advance",
                 lambda uow: services.advance_certificates(uow, ADMIN, "Täglicher Lauf: Fristen der Gütesiegel"))
    return plan, kgj, nomination, grants


def _setup(plan: _Plan, start: date) -> None:
    """Users, Jugendämter, Träger, Kitas (CSV import) and Familienzentren, long before the first procedure."""
    when = _at(start, 9)

    def people(uow: UnitOfWork) -> None:
        why = "Demo-Daten einrichten"
        services.add_user(uow, ADMIN, USERS[0], why)
        for ja in JUGENDAEMTER:
            services.add_jugendamt(uow, ADMIN, ja, why)
        for tr in TRAEGER:
            services.add_traeger(uow, ADMIN, tr, why)
        for user in USERS[1:7]:
            services.add_user(uow, ADMIN, user, why)
        services.import_kitas(uow, ADMIN, "demo-kitas.csv", why, text=KITAS_CSV)

    def centres(uow: UnitOfWork) -> None:
        for fz in FAMILIENZENTREN:
            services.create_familienzentrum(uow, fz.coordinator, fz.id, fz.name, fz.kitas,
                                            "Vom Jugendhilfeausschuss ausgewählt",
                                            zuschussempfaenger_id=fz.kitas[0])
        for user in USERS[7:]:
            services.add_user(uow, ADMIN, user, "Leitung des Familienzentrums")

    plan.add(when, "setup", people)
    plan.add(when + timedelta(hours=1), "setup", centres)


def build_demo(engine: Engine, today: date, progress: Progress | None = None, *,
               settings: Settings | None = None) -> DemoSummary:
    """Fill the migrated, empty database behind ``engine`` with the demo world as of ``today``.

    It takes a while (each sign-off renders its audit packet): ``progress`` is told after every step.
    The evidence files go into the evidence store of ``settings``, the packets signed off are rendered
    with its templates (default: ``Settings()``, the shipped templates and ``./certflow-evidence``).
    """
    plan, kgj, nomination, _ = _plan(today)
    first = min(when for when, *_ in plan.steps)
    _setup(plan, (first - timedelta(days=30)).date())
    clock = DemoClock.on(today)
    plan.run(engine, clock, progress, settings=settings)
    clock.at = DemoClock.on(today).at
    summary = DemoSummary(today=today, nomination_kgj=nomination, warnings=plan.warnings, packets=plan.packets)
    with UnitOfWork(engine, clock=clock) as uow:
        procedures = uow.procedures.all()
        certificates = uow.certificates.all()
        summary.counts = {
            "Jugendämter": len(uow.jugendaemter.all()), "Träger": len(uow.traeger.all()),
            "Kitas": len(uow.kitas.all()), "Familienzentren": len(uow.familienzentren.all()),
            "Benutzer": len(uow.users.all()), "Verfahren": len(procedures), "Urkunden": len(certificates),
            "Kontingente": len(uow.contingents.all()), "Einträge im Prüfprotokoll": audit_count(uow.session),
        }
        summary.states = Counter(p.state.value for p in procedures)
        summary.certificates = Counter(c.state.value for c in certificates)
        for p in procedures:
            summary.procedures[p.familienzentrum_id] = p.id
    return summary


# -- demo logins (for ``certflow demo --serve``) --------------------------------------------------------------


def demo_password(user_id: str, day: date) -> str:
    """The password of a demo user: derived from the user id and the demo day, so the same ``--today``
    gives the same logins. Demo only: anyone who knows this function can compute it."""
    import hashlib

    digest = hashlib.sha256(f"certflow-demo|{day.isoformat()}|{user_id}".encode()).hexdigest()
    return f"Demo-{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


def set_demo_passwords(uow: UnitOfWork, day: date) -> dict[str, str]:
    """Give every demo user their :func:`demo_password` (through the service, audited as set by the admin);
    returns user id -> password. Run it as one use case: ``app.run(lambda uow: set_demo_passwords(uow, day))``."""
    passwords = {user.id: demo_password(user.id, day) for user in USERS}
    for user_id, password in passwords.items():  # the admin sets its own too: "current" is the same demo password
        services.set_password(uow, ADMIN, user_id, password, reason="Demo-Zugang (nur für die Demo)",
                              current_password=password)
    return passwords


def _unsynchronised(dbapi_connection, _record) -> None:
    """A new demo database is thrown away if the build breaks off: no waiting for the disk after each step."""
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def make_demo(db_path: Path, today: date, progress: Progress | None = None, *,
              settings: Settings | None = None) -> tuple[DemoSummary, list, int]:
    """A new SQLite demo database at ``db_path`` (which must not exist): migrated, filled as of ``today``,
    its reminders planned. Returns what was made, the administrator's overview rows and the number of
    reminders planned (what ``certflow demo`` prints)."""
    from .db import UnitOfWork, make_engine, upgrade
    from .scheduler import replan
    from .services import overview

    engine = make_engine(f"sqlite:///{db_path}")
    event.listen(engine, "connect", _unsynchronised)
    try:
        upgrade(engine)
        summary = build_demo(engine, today, progress, settings=settings)
        with UnitOfWork(engine, clock=DemoClock.on(today)) as uow:
            rows = overview(uow, ADMIN, today)
        planned = replan(engine, DemoClock.on(today)()).planned  # fill the reminder table as of that day
    finally:
        engine.dispose()
    return summary, rows, planned
