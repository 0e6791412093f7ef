"""A whole Land of demo data, generated in bulk: Jugendämter, Träger, Kitas, Familienzentren, four terms of the seal.

``certflow demo --scale kreis`` (one Kreis and two of its towns with their own Jugendamt, 60
Familienzentren) and ``--scale nrw`` (186 Jugendämter, 3,500 Familienzentren, as many as NRW has)
are too large to build step by step through the services as :mod:`certflow.demo_data` does (that
takes about a second per procedure). :class:`Generator` writes the same rows the services would
write, straight into the tables (:func:`load`, bulk inserts), deterministic for a seed:

* Jugendämter with invented towns, the Träger of their Kitas (churches, towns, welfare
  associations, parents' initiatives), Kitas with an address and coordinates inside NRW's bounding
  box (near their Jugendamt's town; the Kitas of a Verbund within 3 km of each other);
* Familienzentren: Einzel (one Kita) and Verbund (two to five Kitas, :data:`VERBUND_MAX`);
* four terms of the seal per Familienzentrum (the older ones renewed, the newest valid, due for
  re-certification or, rarely, expired) with the procedure of each term, the running
  re-certifications of the year (with an unsubmitted self-assessment revision) and new
  Erst-Zertifizierungen, each reserving a place of its Jugendamt's contingent of that year;
* users of every role: the administrator ``admin``, one or two coordinators per Jugendamt,
  auditors, the certification body, one or two Kita leads per Familienzentrum (most with an
  e-mail address and a reminder choice);
* the audit trail of all of it: the entries the services would have appended (creating each
  record, every state change of procedures, seals and contingents, with who, when and why), in
  time order and hash-chained exactly as :func:`certflow.db.audit_log.append` chains them, so
  ``certflow audit verify`` finds the chain intact and the tables' states equal to its replay;
  the id counters continue after the ids used (``V-2025-``, ``FZ-2021-``), so the services can go
  on from here.

What the generator does not write (the history is states and seals): submitted self-assessments,
audit visits, verdicts, decisions, evidence files. Everything is invented: no name, address or
person is real. :func:`demo_logins` then gives a few users of every role their demo password
(:func:`certflow.demo_data.demo_password`) through the service, audited like any password set.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text, update
from sqlalchemy.orm import Session

from .calendar import KindergartenYear, first_certification_period, recertification_opens, recertification_period
from .calendar import validity_end
from .db.audit_log import canonical_payload, entry_hash
from .db.tables.procedures import IdCounterRow
from .db.tables import (
    GENESIS_HASH, AppUserRow, AssessmentRevisionRow, AuditHeadRow, AuditLogRow, CertificateRow, ContingentRow,
    FamilienzentrumMemberRow, FamilienzentrumRow, JugendamtRow, KitaRow, ProcedureRow, TraegerRow,
    UserContactRow,
)
from .lifecycle.machinery import BERLIN

__all__ = [
    "ADMIN", "NRW_BOX", "SCALES", "TABLES", "VERBUND_MAX", "Generator", "Land", "Scale", "counts", "demo_logins",
    "load", "make_land", "rows_digest",
]

ADMIN = "admin"
NRW_BOX = (50.32, 52.53, 5.87, 9.46)  # south, north, west, east (degrees): NRW's bounding box
VERBUND_MAX = 5                        # Kitas in a Verbund, at most (DVO KiBiz: normally five within 3 km)
CATALOGUE = "familienzentrum-nrw@2020"
CHAIN = ["nominated", "registered", "in_development", "submitted", "audit_scheduled", "audited", "certified"]
RUNNING = [("registered", 0.3), ("in_development", 0.4), ("submitted", 0.1), ("changes_requested", 0.05),
           ("audit_scheduled", 0.1), ("audited", 0.05)]
BATCH = 5000
SETUP_REASON = "Demo-Daten einrichten"

# the event that leads into each state, the role that fires it, and the reason given (as the demo's steps give them)
_EVENTS = {
    "registered": ("register", "lead", "Einladung angenommen"),
    "in_development": ("start_development", "lead", "Entwicklungsjahr beginnt"),
    "submitted": ("submit", "lead", "Selbstbewertung fertiggestellt"),
    "changes_requested": ("request_changes", "certifier", "Belege unvollständig, bitte nachreichen"),
    "audit_scheduled": ("schedule_audit", "certifier", "Termin telefonisch mit der Leitung vereinbart"),
    "audited": ("record_audit", "auditor", "Begehung vor Ort"),
    "certified": ("certify", "certifier", "Alle Bereiche erfüllt"),
}


@dataclass(frozen=True, slots=True)
class Scale:
    """The size of a generated Land."""

    name: str
    jugendaemter: int
    familienzentren: int
    traeger: int
    auditors: int
    certifiers: int
    label: str


SCALES = {
    "kreis": Scale("kreis", 3, 60, 24, 4, 2, "ein Kreis mit zwei Städten mit eigenem Jugendamt"),
    "nrw": Scale("nrw", 186, 3500, 400, 60, 8, "Nordrhein-Westfalen"),
}

_STEMS = ["Wiesen", "Linden", "Eichen", "Mühl", "Hell", "Rot", "Sonn", "Birken", "Erlen", "Falken", "Weiden",
          "Buchen", "Stein", "Horn", "Kalk", "Heide", "Rosen", "Hirsch", "Tannen", "Ulmen", "Wolfs", "Berg",
          "Brunn", "Kreuz", "Lerchen", "Espen", "Moor", "Sand", "Wald", "Holt"]
_ENDS = ["tal", "feld", "hagen", "dorf", "hausen", "kirchen", "berg", "bach", "stein", "heim", "beck", "rode",
         "horst", "brück", "ohl", "siepen", "kamp", "loh", "scheid", "wede"]
_PREFIXES = ["", "", "", "Ober", "Nieder", "Alt", "Neu", "Groß", "Klein"]
_KITA_NAMES = ["Regenbogen", "Sonnenschein", "Pusteblume", "Kunterbunt", "Arche Noah", "Sternschnuppe", "Löwenzahn",
               "Abenteuerland", "Spatzennest", "Wirbelwind", "Schatzkiste", "Villa Kunterbunt", "Kleine Strolche",
               "Am Mühlenbach", "Senfkorn", "Rappelkiste", "Zwergenland", "Sonnenblume", "Nordstern", "Kinderinsel",
               "Purzelbaum", "Farbklecks", "Waldwichtel", "Traumland", "Seepferdchen", "Gänseblümchen"]
_STREETS = ["Lindenstraße", "Am Anger", "Kirchplatz", "Mühlenweg", "Schulstraße", "Gartenstraße", "Bahnhofstraße",
            "Wiesenpfad", "Birkenallee", "Hauptstraße", "Am Markt", "Rosenweg", "Feldstraße", "Uferstraße",
            "Grubenweg", "Nordring", "Pfarrgasse", "Schlossallee", "Im Winkel", "Hohe Straße"]
_FIRST = ["Sabine", "Tobias", "Leonie", "Miriam", "Deniz", "Ruth", "Jan", "Svenja", "Markus", "Aylin", "Jana",
          "Murat", "Henrike", "Bernd", "Claudia", "Felix", "Petra", "Anke", "Jonas", "Elif", "Katrin", "Stefan",
          "Nadine", "Olaf", "Mehmet", "Ute", "Lara", "Sven", "Ines", "Paul"]
_LAST = ["Kortmann", "Reker", "Hartmann", "Osterkamp", "Aksoy", "Wellmann", "Pieper", "Lohmann", "Brandes",
         "Demir", "Wiesner", "Kaya", "Feldmann", "Albers", "Lange", "Roth", "Adler", "Schulte", "Becker",
         "Hoffmann", "Yilmaz", "Wagner", "Krüger", "Brinkmann", "Vogt", "Kemper", "Terhorst", "Özdemir"]


def _pick(rnd: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    x, acc = rnd.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if x < acc:
            return value
    return weighted[-1][0]


def _noon(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour, 0), BERLIN)


class Generator:
    """Rows per table, deterministic for a seed; ``as_of`` is the day the data stand at (nothing lies after it).

    ``Generator(n_fz, as_of, seed).generate()`` is NRW's shape (186 Jugendämter, 400 Träger, 60
    auditors, 8 certifiers) with ``n_fz`` Familienzentren; :meth:`for_scale` one of :data:`SCALES`.
    The result maps each table of :data:`TABLES` to its rows (dicts of column values), in the
    order :func:`load` writes them, the audit trail's entries chained.
    """

    def __init__(self, n_fz: int, as_of: date, seed: int, *, jugendaemter: int = 186, traeger: int = 400,
                 auditors: int = 60, certifiers: int = 8):
        self.n_fz, self.as_of, self.rnd = n_fz, as_of, random.Random(seed)
        self.n_ja, self.n_traeger, self.n_auditors, self.n_certifiers = jugendaemter, traeger, auditors, certifiers
        self.rows: dict[str, list[dict]] = {name: [] for name, _ in TABLES}
        self.stamp = _noon(as_of.replace(year=as_of.year - 20, month=1, day=2))  # the records are set up then
        self._entries: list[tuple[datetime, int, dict]] = []
        self._counters: dict[str, int] = {}
        self._contingents: dict[tuple[str, int], dict] = {}
        self._centres: dict[str, tuple[float, float, str, str]] = {}  # jugendamt -> lat, lon, town, postcode
        self._coordinators: dict[str, list[str]] = {}
        self._traeger_of: dict[str, list[str]] = {}

    @classmethod
    def for_scale(cls, scale: Scale | str, as_of: date, seed: int) -> Generator:
        s = SCALES[scale] if isinstance(scale, str) else scale
        return cls(s.familienzentren, as_of, seed, jugendaemter=s.jugendaemter, traeger=s.traeger,
                   auditors=s.auditors, certifiers=s.certifiers)

    # -- the audit trail ------------------------------------------------------------------------------------------

    def _log(self, at: datetime, actor: str, action: str, kind: str, subject: str, reason: str,
             payload: dict | None = None, from_state: str | None = None, to_state: str | None = None) -> None:
        self._entries.append((min(at, self._latest), len(self._entries), dict(
            actor_id=actor, action=action, subject_kind=kind, subject_id=subject, reason=reason,
            payload=canonical_payload(payload), from_state=from_state, to_state=to_state)))

    def _chain(self) -> None:
        """The entries in time order (the order of their making for equal times), numbered and hash-chained."""
        prev = GENESIS_HASH
        log = self.rows["audit_log"]
        for seq, (at, _, fields) in enumerate(sorted(self._entries, key=lambda e: (e[0], e[1])), 1):
            at_utc = at.astimezone(UTC)
            digest = entry_hash(seq=seq, at=at_utc, prev_hash=prev, **fields)
            log.append(dict(seq=seq, at=at_utc, prev_hash=prev, hash=digest, **fields))
            prev = digest
        self._entries.clear()

    def _next_id(self, prefix: str) -> str:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}{self._counters[prefix]:03d}"

    # -- records -----------------------------------------------------------------------------------------------

    def _name(self) -> str:
        rnd = self.rnd
        return f"{rnd.choice(_PREFIXES)}{rnd.choice(_STEMS)}{rnd.choice(_ENDS)}".capitalize()

    def _person(self) -> str:
        return f"{self.rnd.choice(_FIRST)} {self.rnd.choice(_LAST)}"

    def _create(self, table: str, kind: str, row: dict, actor: str = ADMIN, at: datetime | None = None,
                reason: str = SETUP_REASON, payload: dict | None = None) -> None:
        self.rows[table].append(row)
        logged = payload if payload is not None else {k: v for k, v in row.items() if k != "version"}
        self._log(at or self.stamp, actor, f"{kind}.create", kind, row["id"], reason, logged)

    def _user(self, uid: str, name: str, role: str, *, ja: str | None = None, fz: str | None = None,
              at: datetime | None = None) -> None:
        rnd = self.rnd
        self._create("app_user", "user", dict(id=uid, name=name, role=role, jugendamt_id=ja, familienzentrum_id=fz,
                                              traeger_id=None, version=1, active=True), at=at,
                     payload=dict(id=uid, name=name, role=role, jugendamt_id=ja, familienzentrum_id=fz,
                                  traeger_id=None))
        if rnd.random() < 0.9:
            self.rows["user_contact"].append(dict(
                user_id=uid, email=f"{uid}@example.org", updated_at=self.stamp,
                preference=_pick(rnd, [("immediate", 0.7), ("daily", 0.2), ("weekly", 0.1)])))

    def _land(self) -> None:
        rnd, south, north, west, east = self.rnd, *NRW_BOX
        kreis = self.n_ja <= 3
        for j in range(self.n_ja):
            ja, town = f"ja-{j:03d}", self._name()
            if kreis and j == 0 or not kreis and rnd.random() < 0.17:
                name = f"Jugendamt Kreis {town}"
            else:
                name = f"Jugendamt der Stadt {town}"
            if kreis and j > 0:  # the Kreis's towns lie near its seat
                lat0, lon0, *_ = self._centres["ja-000"]
                lat, lon = lat0 + rnd.uniform(-0.15, 0.15), lon0 + rnd.uniform(-0.2, 0.2)
            else:
                lat, lon = rnd.uniform(south + 0.15, north - 0.15), rnd.uniform(west + 0.2, east - 0.2)
            self._centres[ja] = (lat, lon, town, f"{rnd.randint(32, 59)}{rnd.randint(0, 999):03d}")
            self._create("jugendamt", "jugendamt", dict(id=ja, name=name))
            self._coordinators[ja] = []
            for k in range(rnd.choice((1, 1, 2))):
                uid = f"koord-{j:03d}-{k + 1}"
                self._coordinators[ja].append(uid)
                self._user(uid, self._person(), "coordinator", ja=ja)
        kinds = [("Ev. Kirchengemeinde {t}", 0.22), ("Kath. Kirchengemeinde St. Marien {t}", 0.22),
                 ("Stadt {t}, Städtische Kitas", 0.2), ("AWO Kreisverband {t} e. V.", 0.1),
                 ("DRK-Kreisverband {t} e. V.", 0.08), ("Kita-Werk {t} gGmbH", 0.1),
                 ("Elterninitiative {t} e. V.", 0.08)]
        for t in range(self.n_traeger):
            ja = f"ja-{t % self.n_ja:03d}"  # every Jugendamt has Träger of its own
            tr = f"tr-{t:03d}"
            self._traeger_of.setdefault(ja, []).append(tr)
            town = self._centres[ja][2] if rnd.random() < 0.7 else self._name()
            self._create("traeger", "traeger", dict(id=tr, name=_pick(rnd, kinds).format(t=town)))
        for a in range(self.n_auditors):
            self._user(f"auditor-{a + 1:02d}", self._person(), "auditor")
        for c in range(self.n_certifiers):
            self._user(f"zert-{c + 1}", self._person(), "certifier")
        self._create("app_user", "user", dict(id=ADMIN, name="Administration", role="admin", jugendamt_id=None,
                                              familienzentrum_id=None, traeger_id=None, version=1, active=True),
                     payload=dict(id=ADMIN, name="Administration", role="admin", jugendamt_id=None,
                                  familienzentrum_id=None, traeger_id=None))

    def _kita(self, number: int, ja: str, near: tuple[float, float] | None) -> tuple[str, float, float]:
        rnd, (south, north, west, east) = self.rnd, NRW_BOX
        lat0, lon0, town, postcode = self._centres[ja]
        if near is None:
            lat, lon = lat0 + rnd.uniform(-0.08, 0.08), lon0 + rnd.uniform(-0.12, 0.12)
        else:  # a Verbund's Kitas: within about 1.3 km of its first (so within 3 km of each other)
            lat, lon = near[0] + rnd.uniform(-0.008, 0.008), near[1] + rnd.uniform(-0.012, 0.012)
        lat, lon = round(min(max(lat, south), north), 4), round(min(max(lon, west), east), 4)
        kita = f"k-{number:05d}"
        traeger = rnd.choice(self._traeger_of.get(ja) or [f"tr-{rnd.randrange(self.n_traeger):03d}"])
        self._create("kita", "kita", dict(
            id=kita, name=f"Kita {rnd.choice(_KITA_NAMES)}", traeger_id=traeger, jugendamt_id=ja,
            street=f"{rnd.choice(_STREETS)} {rnd.randint(1, 80)}", postcode=postcode, city=town, lat=lat, lon=lon,
            version=1))
        return kita, lat, lon

    def generate(self) -> dict[str, list[dict]]:
        rnd, as_of, rows = self.rnd, self.as_of, self.rows
        self._latest = _noon(as_of, 6)  # nothing after the morning of ``as_of``
        current = KindergartenYear.of(as_of)
        self._land()
        kita_no = 0
        new_erst = max(min(150, self.n_fz // 20), 1 if self.n_fz >= 10 else 0)
        for i in range(self.n_fz):
            ja = f"ja-{rnd.randrange(self.n_ja):03d}"
            fz = f"fz-{i:04d}"
            verbund = rnd.random() < 0.22
            size = _pick(rnd, [(2, 0.5), (3, 0.3), (4, 0.14), (5, 0.06)]) if verbund else 1
            members: list[str] = []
            near: tuple[float, float] | None = None
            for _ in range(size):
                kita, lat, lon = self._kita(kita_no, ja, near)
                kita_no += 1
                near = near or (lat, lon)
                members.append(kita)
            created = self.stamp + timedelta(hours=1)
            name = f"Familienzentrum {rnd.choice(_KITA_NAMES)} {self._centres[ja][2]}" if verbund else \
                f"Familienzentrum {i + 1:04d}"
            row = dict(id=fz, name=name, form="verbund" if verbund else "einzel", jugendamt_id=ja,
                       zuschussempfaenger_id=members[0], certificate_number=None, radius_exception_reason=None,
                       version=1)
            rows["familienzentrum"].append(row)
            joined = created.date()
            for kita in members:
                rows["familienzentrum_member"].append(dict(familienzentrum_id=fz, kita_id=kita, joined_on=joined,
                                                           left_on=None))
            self._log(created, self._coordinators[ja][0], "familienzentrum.create", "familienzentrum", fz,
                      "Vom Jugendhilfeausschuss ausgewählt",
                      {**{k: v for k, v in row.items() if k != "version"}, "joined_on": joined,
                       "member_kita_ids": members})
            self._user(f"leitung-{i:04d}", self._person(), "kita_lead", fz=fz, at=created)
            if rnd.random() < 0.4:
                self._user(f"leitung-{i:04d}b", self._person(), "kita_lead", fz=fz, at=created)
            if i >= self.n_fz - new_erst:
                self._erst_running(row, current)
            else:
                self._terms(row, i)
        for kgj in (current, current.next()):  # this year's and next year's places: every Jugendamt has some
            for j in range(self.n_ja):
                self._contingent(f"ja-{j:03d}", kgj)
        self._grant_places()
        rows["id_counter"].extend(dict(prefix=p, last_number=n) for p, n in sorted(self._counters.items()))
        self._chain()
        return rows

    # -- contingents -------------------------------------------------------------------------------------------

    def _contingent(self, ja: str, kgj: KindergartenYear) -> dict:
        key = (ja, kgj.start_year)
        if key not in self._contingents:
            self._contingents[key] = dict(id=len(self._contingents) + 1, jugendamt_id=ja, kgj=kgj.start_year,
                                          granted=0, nominated=0, returned=0, carried_in=0, carried_out=0, version=1)
        return self._contingents[key]

    def _reserve(self, ja: str, kgj: KindergartenYear, at: datetime, actor: str, reason: str) -> int:
        row = self._contingent(ja, kgj)
        row["nominated"] += 1
        self._log(at, actor, "contingent.reserve", "contingent", f"{ja}/{kgj.label}", reason,
                  {"nominated": [row["nominated"] - 1, row["nominated"]]})
        return row["id"]

    def _grant_places(self) -> None:
        """Each contingent: the places used and up to two more, granted on 1 March before its year (by decree)."""
        for (ja, year), row in sorted(self._contingents.items(), key=lambda kv: kv[1]["id"]):
            row["granted"] = row["nominated"] + self.rnd.randint(0, 2)
            row["version"] = 1 + row["nominated"]
            kgj = KindergartenYear(year)
            self._log(_noon(date(year, 3, 1), 8), ADMIN, "contingent.create", "contingent", f"{ja}/{kgj.label}",
                      "Erlass des Ministeriums: neue Plätze",
                      {k: row[k] for k in ("carried_in", "carried_out", "granted", "nominated", "returned")} | {
                          "nominated": 0})
            self.rows["contingent"].append(row)

    # -- procedures and seals -----------------------------------------------------------------------------------

    def _procedure(self, fz: dict, kind: str, kgj: KindergartenYear, period: tuple[date, date], state: str,
                   first_day: date, *, auditor: str | None = None, audit_date: date | None = None,
                   last_day: date | None = None) -> str:
        """One procedure from ``first_day`` through the states to ``state`` (its last step on ``last_day``, if
        given, else some weeks apart each), with its audit entries; returns its id."""
        rnd, ja = self.rnd, fz["jugendamt_id"]
        pid = self._next_id(f"V-{kgj.start_year}-")
        lead = self._lead(fz)
        coordinator = self._coordinators[ja][0]
        certifier = f"zert-{rnd.randrange(self.n_certifiers) + 1}"
        auditor_id = auditor or f"auditor-{rnd.randrange(self.n_auditors) + 1:02d}"
        steps = CHAIN[: CHAIN.index(state) + 1] if state in CHAIN else CHAIN[:4] + [state]
        if kind == "re":
            steps = steps[1:]  # a re-certification opens registered
        start = _noon(min(first_day, self.as_of))
        contingent = None
        if kind == "erst":
            contingent = self._reserve(ja, kgj, start, coordinator, "Beschluss des Jugendhilfeausschusses")
        scheduled = state in ("audit_scheduled", "audited", "certified")
        row = dict(id=pid, familienzentrum_id=fz["id"], kind=kind, catalogue_key=CATALOGUE, kgj=kgj.start_year,
                   period_start=period[0], period_end=period[1], state=steps[0],
                   auditor_id=auditor_id if scheduled else None, version=len(steps) - 1,
                   submitted_revision=None, planned_audit_date=audit_date, contingent_id=contingent)
        opened = {k: v for k, v in row.items() if k != "version"} | {"auditor_id": None, "planned_audit_date": None}
        if kind == "erst":
            self._log(start, coordinator, "procedure.nominate", "procedure", pid,
                      "Beschluss des Jugendhilfeausschusses", opened, None, "nominated")
        else:
            self._log(start, certifier, "procedure.open_recertification", "procedure", pid,
                      "Unterlagen zur Re-Zertifizierung versandt", opened, None, "registered")
        day, previous = first_day, steps[0]
        gap = (last_day - first_day) / max(len(steps) - 1, 1) if last_day is not None else None
        for n, step in enumerate(steps[1:], 1):
            day = first_day + gap * n if gap is not None else day + timedelta(days=rnd.randint(10, 60))
            event, who, reason = _EVENTS[step]
            actor = {"lead": lead, "certifier": certifier, "auditor": auditor_id}[who]
            payload: dict[str, Any] = {"state": [previous, step]}
            if step == "audit_scheduled":
                payload |= {"auditor_id": [None, auditor_id],
                            "planned_audit_date": [None, audit_date or day + timedelta(days=21)]}
            self._log(_noon(min(day, self.as_of)), actor, f"procedure.{event}", "procedure", pid, reason, payload,
                      previous, step)
            previous = step
        row["state"] = previous
        if scheduled and audit_date is None:
            row["planned_audit_date"] = day if state != "audit_scheduled" else day + timedelta(days=21)
        self.rows["procedure"].append(row)
        return pid

    def _revision(self, pid: str, saved: date, lead: str) -> None:
        rnd = self.rnd
        evidence = [{"items": ["1.2"], "kind": "fortbildung", "title": "Fortbildung Interkulturelle Öffnung",
                     "date": date(rnd.choice((2017, 2019, 2022, 2024)), rnd.randint(1, 12), 1).isoformat(), "hours": 8},
                    {"items": ["1.4"], "kind": "konzept", "title": "Verweiskonzept", "date": "2025-03-01"}]
        text_ = json.dumps({"catalogue": "familienzentrum-nrw", "catalogue_version": "2020", "procedure": "re",
                            "form": "einzel", "evidence": evidence}, sort_keys=True, separators=(",", ":"))
        self.rows["assessment_revision"].append(dict(
            procedure_id=pid, revision=1, canonical_json=text_, sha256=hashlib.sha256(text_.encode()).hexdigest(),
            created_at=_noon(min(saved, self.as_of), 10), created_by=lead, submitted=False, submitted_at=None,
            submitted_by=None, passed=None))

    def _lead(self, fz: dict) -> str:
        return next(u["id"] for u in reversed(self.rows["app_user"]) if u["familienzentrum_id"] == fz["id"])

    def _erst_running(self, fz: dict, kgj: KindergartenYear) -> None:
        state = _pick(self.rnd, [("nominated", 0.3), ("registered", 0.4), ("in_development", 0.3)])
        nominated = date(kgj.start_year, 6, 1)
        pid = self._procedure(fz, "erst", kgj, first_certification_period(kgj), state, nominated)
        if state == "in_development":
            self._revision(pid, min(self.as_of, kgj.start + timedelta(days=60)), self._lead(fz))

    def _seal(self, fz: dict, number: str, issued: date, certifier: str) -> dict:
        row = dict(number=number, familienzentrum_id=fz["id"], issued=issued, valid_until=validity_end(issued),
                   state="valid", version=1)
        self.rows["certificate"].append(row)
        self._log(_noon(issued, 10), certifier, "certificate.issue", "certificate", f"{number}/{issued.isoformat()}",
                  "Zertifiziert: Alle Bereiche erfüllt", {k: v for k, v in row.items() if k != "version"},
                  None, "valid")
        return row

    def _move(self, seal: dict, to: str, at: date, actor: str, event: str, reason: str) -> None:
        self._log(_noon(at, 6), actor, f"certificate.{event}", "certificate",
                  f"{seal['number']}/{seal['issued'].isoformat()}", reason, {"state": [seal["state"], to]},
                  seal["state"], to)
        seal["state"], seal["version"] = to, seal["version"] + 1

    def _terms(self, fz: dict, i: int) -> None:
        rnd, as_of = self.rnd, self.as_of
        last_issue = date(as_of.year - i % 4, 6, 1)
        if last_issue > as_of:
            last_issue = date(last_issue.year - 4, 6, 1)
        first_issue = date(last_issue.year - 12, 6, 1)
        number = self._next_id(f"FZ-{first_issue.year}-")
        lapsed = rnd.random() < 0.03
        previous: dict | None = None
        daily = "Täglicher Lauf: Fristen der Gütesiegel"
        for cycle in range(4):
            issued = date(last_issue.year - 4 * (3 - cycle), 6, 1)
            certifier = f"zert-{rnd.randrange(self.n_certifiers) + 1}"
            if cycle == 0:
                kgj = KindergartenYear.of(issued)
                self._procedure(fz, "erst", kgj, first_certification_period(kgj), "certified",
                                date(kgj.start_year, 6, 1), last_day=issued)
            else:
                assert previous is not None
                start, end = recertification_period(previous["valid_until"])
                opens = recertification_opens(previous["valid_until"])
                self._move(previous, "recertification_due", opens, ADMIN, "open_recertification", daily)
                self._procedure(fz, "re", KindergartenYear.of(previous["valid_until"]), (start, end), "certified",
                                opens + timedelta(days=14), last_day=issued)
                self._move(previous, "renewed", issued, certifier, "renew", "Re-Zertifizierung: alle Bereiche erfüllt")
            seal = self._seal(fz, number, issued, certifier)
            if cycle == 0:
                fz["certificate_number"], fz["version"] = number, fz["version"] + 1
                self._log(_noon(issued, 10), certifier, "familienzentrum.update", "familienzentrum", fz["id"],
                          "Zertifiziert: Alle Bereiche erfüllt", {"certificate_number": [None, number]})
            previous = seal
        assert previous is not None
        until = previous["valid_until"]
        opens = recertification_opens(until)
        if opens > as_of:
            return
        self._move(previous, "recertification_due", opens, ADMIN, "open_recertification", daily)
        if lapsed and until < as_of:
            self._move(previous, "expired", until + timedelta(days=1), ADMIN, "expire", daily)
            return
        if until < as_of:  # renewed in reality; keep the history consistent: the renewal's procedure and term
            start, end = recertification_period(until)
            issued = date(until.year, 6, 1)
            self._procedure(fz, "re", KindergartenYear.of(until), (start, end), "certified", opens + timedelta(days=14),
                            last_day=issued)
            self._move(previous, "renewed", issued, ADMIN, "renew", "Re-Zertifizierung: alle Bereiche erfüllt")
            self._seal(fz, number, issued, ADMIN)
            return
        start, end = recertification_period(until)  # this year's re-certification is running
        state = _pick(rnd, RUNNING)
        auditor = f"auditor-{rnd.randrange(self.n_auditors) + 1:02d}" if state in ("audit_scheduled", "audited") \
            else None
        audit_day = as_of + timedelta(days=rnd.randint(1, 40)) if state == "audit_scheduled" else None
        pid = self._procedure(fz, "re", KindergartenYear.of(until), (start, end), state,
                              opens + timedelta(days=rnd.randint(5, 30)), auditor=auditor, audit_date=audit_day)
        self._revision(pid, as_of - timedelta(days=rnd.randint(0, 120)), self._lead(fz))


TABLES = [
    ("jugendamt", JugendamtRow), ("traeger", TraegerRow), ("kita", KitaRow), ("familienzentrum", FamilienzentrumRow),
    ("familienzentrum_member", FamilienzentrumMemberRow), ("app_user", AppUserRow),
    ("user_contact", UserContactRow), ("contingent", ContingentRow), ("certificate", CertificateRow),
    ("procedure", ProcedureRow), ("assessment_revision", AssessmentRevisionRow), ("audit_log", AuditLogRow),
    ("id_counter", IdCounterRow),
]
_SERIAL = ("contingent",)  # tables whose integer ids the generator gives itself (PostgreSQL: move the sequence on)


def rows_digest(rows: dict[str, list[dict]]) -> str:
    """A SHA-256 over every generated row (same seed and day, same digest)."""
    digest = hashlib.sha256()
    for name, _ in TABLES:
        for row in rows.get(name, ()):
            digest.update(json.dumps(row, sort_keys=True, default=str, ensure_ascii=False).encode())
    return digest.hexdigest()


def load(engine: Engine, rows: dict[str, list[dict]], console: Any = None,
         progress: Callable[[int, int, str], None] | None = None) -> None:
    """Write ``rows`` into the migrated, empty database behind ``engine`` in one transaction (bulk inserts),
    then set the audit chain's head to its last entry and move PostgreSQL's id sequences past the ids given.

    With ``console`` (a :class:`rich.console.Console`) a progress bar per table is shown on it;
    ``progress`` is told (rows written, rows in all, table) after every batch instead.
    """
    total = sum(len(rows.get(name, ())) for name, _ in TABLES)
    bar = None
    if console is not None and progress is None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=console)
        overall = bar.add_task("Datensatz schreiben", total=total)
        bar.start()

        def progress(done: int, _total: int, name: str) -> None:
            bar.update(overall, completed=done, description=f"Datensatz schreiben: {name}")
    done = 0
    try:
        with Session(engine) as session, session.begin():
            for name, row_cls in TABLES:
                data = rows.get(name, [])
                for start in range(0, len(data), BATCH):
                    chunk = data[start:start + BATCH]
                    session.execute(insert(row_cls.__table__), chunk)  # type: ignore[attr-defined]
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total, name)
            log = rows.get("audit_log") or []
            if log:
                head = AuditHeadRow.__table__  # type: ignore[attr-defined]
                session.execute(update(head).where(head.c.id == 1).values(last_seq=log[-1]["seq"],
                                                                          last_hash=log[-1]["hash"]))
            if engine.dialect.name == "postgresql":
                for name in _SERIAL:
                    session.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                         f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"))
    finally:
        if bar is not None:
            bar.stop()


def demo_logins(engine: Engine, rows: dict[str, list[dict]], day: date, per_role: int = 1, *,
                settings: Any = None) -> list[tuple[str, str, str, str]]:
    """Give the first ``per_role`` users of every role their demo password
    (:func:`certflow.demo_data.demo_password` of the user and ``day``), set by the administrator through
    :func:`certflow.services.set_password` (audited, chained onto the generated trail). Returns
    (user id, name, role, password) per user, in the order of the roles."""
    from . import services
    from .demo_data import DemoClock, demo_password
    from .services.runner import Application
    from .settings import Settings

    chosen: dict[str, list[dict]] = {}
    for user in rows["app_user"]:
        if user.get("active", True) and len(chosen.setdefault(user["role"], [])) < per_role:
            chosen[user["role"]].append(user)
    order = ["admin", "coordinator", "kita_lead", "auditor", "certifier"]
    users = [u for role in order for u in chosen.get(role, [])]
    app = Application(settings or Settings(), engine=engine, clock=DemoClock.on(day), after_commit=(),
                      check_schema=False)

    def set_all(uow) -> None:
        for user in users:
            password = demo_password(user["id"], day)
            services.set_password(uow, ADMIN, user["id"], password, reason="Demo-Zugang (nur für die Demo)",
                                  current_password=password)

    app.run(set_all)
    return [(u["id"], u["name"], u["role"], demo_password(u["id"], day)) for u in users]


def counts(rows: dict[str, list[dict]]) -> dict[str, int]:
    """What was made, with German labels (as ``certflow demo`` prints them)."""
    return {
        "Jugendämter": len(rows["jugendamt"]), "Träger": len(rows["traeger"]), "Kitas": len(rows["kita"]),
        "Familienzentren": len(rows["familienzentrum"]),
        "davon Verbünde": sum(f["form"] == "verbund" for f in rows["familienzentrum"]),
        "Benutzer": len(rows["app_user"]), "Verfahren": len(rows["procedure"]), "Urkunden": len(rows["certificate"]),
        "Kontingente": len(rows["contingent"]), "Einträge im Prüfprotokoll": len(rows["audit_log"]),
    }


@dataclass
class Land:
    """What :func:`make_land` made: the scale, the counts (German labels), the demo logins and the rows' digest."""

    scale: Scale
    counts: dict[str, int]
    logins: list[tuple[str, str, str, str]]
    digest: str


def make_land(db_path: Any, scale: str, today: date, seed: int,
              progress: Callable[[int, int, str], None] | None = None, *, settings: Any = None) -> Land:
    """A new SQLite database at ``db_path`` (which must not exist): migrated, the Land of ``scale`` generated as
    of ``today`` with ``seed`` and written in bulk, a demo login per role set. ``progress`` is told
    (done, in all, what) while it writes; the generating is its first tenth."""
    from sqlalchemy import event

    from .db import make_engine, upgrade
    from .demo_data import _unsynchronised

    size = SCALES[scale]
    engine = make_engine(f"sqlite:///{db_path}")
    event.listen(engine, "connect", _unsynchronised)
    try:
        upgrade(engine)
        if progress is not None:
            progress(0, 1, "erzeugen")
        rows = Generator.for_scale(size, today, seed).generate()
        total = sum(len(v) for v in rows.values())
        lead_in = max(total // 10, 1)
        if progress is not None:
            progress(lead_in, total + lead_in, "erzeugt")
            load(engine, rows, progress=lambda done, _all, name: progress(lead_in + done, total + lead_in, name))
        else:
            load(engine, rows)
        if progress is not None:
            progress(total + lead_in, total + lead_in, "Demo-Zugänge")
        logins = demo_logins(engine, rows, today, settings=settings)
    finally:
        engine.dispose()
    return Land(size, counts(rows), logins, rows_digest(rows))
