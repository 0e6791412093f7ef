"""Realistic sample packets from the shipped catalogue and examples: tests, benchmarks and the demo.

* :func:`einzel_packet`: ``examples/assessment-fail.yaml`` (Erst, Einzel, not met: deficits and reasons);
* :func:`verbund_packet`: a generated Re-Zertifizierung of a Verbund of ``members`` Kitas that meets the rules.

Every evidence record gets a small generated file (a one-page PDF, or a PNG for notices) whose
SHA-256 replaces the invented one in the example. Names, places and people are made up.
Deterministic: the same arguments give the same data.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..assessment import load_assessment
from ..assessment.model import Assessment
from ..calendar import validity_end
from ..catalogue import load_catalogue
from ..catalogue.model import Catalogue, Form, ProcedureKind, Variant
from ..lifecycle.entities import PROCEDURE_STATE_LABELS, ROLE_LABELS, ProcedureState, Role
from ..lifecycle.procedure_machine import EVENT_LABELS
from ..lifecycle.snapshot import canonical_json, sha256_hex
from ..resources import default_catalogue, examples_dir
from ..samples import satisfying_assessment
from ..scoring import Scorer
from .model import (
    CONFIRMED,
    NOT_CONFIRMED,
    AuditorVerdict,
    CertificateData,
    EvidenceFile,
    FamilienzentrumInfo,
    Member,
    PacketData,
    ProcedureInfo,
    SignOff,
    TimelineEntry,
)

__all__ = ["einzel_packet", "evidence_files", "sample_certificate", "sample_packet", "tiny_pdf", "tiny_png",
           "verbund_packet"]

BERLIN = ZoneInfo("Europe/Berlin")
JUGENDAMT = "Jugendamt der Stadt Musterstadt"
CERTIFICATION_BODY = "Zertifizierungsstelle Gütesiegel Familienzentrum NRW"
_KITAS = ["Kita Sonnenblume", "Kita Regenbogen", "Kita Pusteblume", "Kita Löwenzahn", "Kita Wirbelwind",
          "Kita Sternschnuppe", "Kita Abenteuerland"]
_STREETS = ["Lindenstraße 4", "Am Mühlenbach 12", "Gartenweg 7", "Schulstraße 21", "Birkenallee 3",
            "Kirchplatz 9", "Hafenstraße 15"]


def tiny_pdf(title: str) -> bytes:
    """A valid one-page PDF that shows ``title`` (Latin-1 text, Helvetica)."""
    text = title.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 56 780 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
         b"/Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def tiny_png(seed: str, size: int = 16) -> bytes:
    """A valid ``size`` x ``size`` RGB PNG whose colour comes from ``seed``."""
    r, g, b = hashlib.sha256(seed.encode()).digest()[:3]
    raw = b"".join(b"\x00" + bytes((r, g, b)) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


@lru_cache(maxsize=1)
def _catalogue_and_scorer() -> tuple[Catalogue, Scorer]:
    cat = load_catalogue(default_catalogue())
    return cat, Scorer(cat)


def evidence_files(cat: Catalogue, a: Assessment) -> tuple[Assessment, tuple[EvidenceFile, ...]]:
    """Make a small file for every evidence record and record its real name and SHA-256 in the assessment."""
    files, records = [], []
    for ev in a.evidence:
        stem = (ev.file or f"nachweise/{ev.items[0]}-{ev.kind}.pdf").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if ev.kind == "aushang":
            name, content = f"{stem}.png", tiny_png(ev.title)
        else:
            name, content = f"{stem}.pdf", tiny_pdf(ev.title)
        f = EvidenceFile.from_bytes(name, cat.evidence_kinds.get(ev.kind, ev.kind), ev.title, content, ev.items)
        files.append(f)
        records.append(ev.model_copy(update={"file": f"nachweise/{name}", "sha256": f.sha256}))
    return a.model_copy(update={"evidence": records}), tuple(files)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


_ACTIONS = {"nominate": "Nominieren"}


def _timeline(proc_start: date, passed: bool, lead: str, auditor: str, changes: bool) -> tuple[TimelineEntry, ...]:
    S = ProcedureState
    steps = [
        (0, 9, "Koordination Jugendamt (K. Weber)", Role.COORDINATOR, "nominate", None, S.NOMINATED,
         "Auswahl durch den Jugendhilfeausschuss"),
        (14, 10, lead, Role.KITA_LEAD, "register", S.NOMINATED, S.REGISTERED, ""),
        (60, 8, lead, Role.KITA_LEAD, "start_development", S.REGISTERED, S.IN_DEVELOPMENT, ""),
        (430, 16, lead, Role.KITA_LEAD, "submit", S.IN_DEVELOPMENT, S.SUBMITTED, "Selbstbewertung eingereicht"),
    ]
    if changes:
        steps += [
            (445, 11, "Zertifizierungsstelle (J. Brandt)", Role.CERTIFIER, "request_changes", S.SUBMITTED,
             S.CHANGES_REQUESTED, "Kooperationsvereinbarung zu 6.1 fehlt die Unterschrift"),
            (452, 14, lead, Role.KITA_LEAD, "resubmit", S.CHANGES_REQUESTED, S.SUBMITTED,
             "unterschriebene Vereinbarung nachgereicht"),
        ]
    steps += [
        (460, 9, "Zertifizierungsstelle (J. Brandt)", Role.CERTIFIER, "schedule_audit", S.SUBMITTED,
         S.AUDIT_SCHEDULED, "Begehung telefonisch vereinbart"),
        (490, 13, auditor, Role.AUDITOR, "record_audit", S.AUDIT_SCHEDULED, S.AUDITED, "Begehung vor Ort, 3,5 Std."),
        (520, 15, "Zertifizierungsstelle (J. Brandt)", Role.CERTIFIER, "certify" if passed else "reject", S.AUDITED,
         S.CERTIFIED if passed else S.NOT_CERTIFIED,
         "alle Mindestanforderungen erfüllt" if passed
         else "Mindestanforderungen in Bereich 1, 4 und 5 nicht erreicht"),
    ]
    return tuple(
        TimelineEntry(at=_at(proc_start + timedelta(days=d), h, 5 * i % 60), actor=who, role=ROLE_LABELS[role],
                      action=_ACTIONS.get(event) or EVENT_LABELS[event],
                      from_state=PROCEDURE_STATE_LABELS[a] if a else None,
                      to_state=PROCEDURE_STATE_LABELS[b], reason=why)
        for i, (d, h, who, role, event, a, b, why) in enumerate(steps)
    )


def _chain_head(entries: tuple[TimelineEntry, ...]) -> str:
    """A hash chain over the timeline, standing in for the audit trail's head."""
    head = "0" * 64
    for e in entries:
        text = json.dumps({"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from": e.from_state,
                           "to": e.to_state, "reason": e.reason, "prev": head}, sort_keys=True, ensure_ascii=False)
        head = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return head


def _verdicts(report, remarks: dict[str, AuditorVerdict]) -> dict[str, AuditorVerdict]:
    out = {}
    for area in report.areas:
        groups = [area.criteria] + [p.criteria for p in area.profiles if p.chosen]
        for crits in groups:
            for c in crits:
                out[c.id] = remarks.get(c.id) or AuditorVerdict(
                    CONFIRMED if c.met else NOT_CONFIRMED,
                    "" if c.met
                    else "Beim Vor-Ort-Termin nicht belegt: " + "; ".join(c.reasons or ("siehe Auswertung",)))
    return out


def _recommendations(report) -> tuple[str, ...]:
    out = [f"{d.subject}: {d.message} – bis zur nächsten Re-Zertifizierung beheben." for d in report.deficits
           if d.blocking and not d.subject.startswith("Bereich")]
    out += [
        "Die offene Sprechstunde monatlich im Aushang und auf der Internetseite ankündigen.",
        "Die Elternbefragung (7.4) jährlich auswerten und die Ergebnisse im Team besprechen.",
        "Kooperationsvereinbarungen rechtzeitig vor Ablauf des Prüfzeitraums erneuern.",
    ]
    return tuple(out)


def sample_packet(form: str = "einzel", members: int = 5, index: int = 0) -> PacketData:
    """An Einzel packet (failing example) or a Verbund of ``members`` (passing); ``index`` varies names and numbers."""
    cat, scorer = _catalogue_and_scorer()
    if form == "einzel":
        assessment = load_assessment(examples_dir() / "assessment-fail.yaml", cat)
        fz_name = assessment.familienzentrum + (f" {index + 1}" if index else "")
        kitas = (Member("Kita Kleine Strolche", "Lindenstraße 4, 12345 Musterstadt"),)
        zuschuss, lead = None, "Anna Schulte (Kita-Leitung)"
    elif form == "verbund":
        if not 2 <= members <= len(_KITAS):
            raise ValueError(f"a sample Verbund has 2 to {len(_KITAS)} members, not {members}")
        fz_name = f"Familienzentrum Verbund Musterstadt-Nord{f' {index + 1}' if index else ''}"
        variant = Variant(ProcedureKind.RE, Form.VERBUND)
        assessment = satisfying_assessment(cat, variant, name=fz_name)
        kitas = tuple(Member(_KITAS[i], f"{_STREETS[i]}, 12345 Musterstadt") for i in range(members))
        zuschuss, lead = kitas[0].name, "Jonas Hoffmann (Leitung Zuschussempfänger)"
    else:
        raise ValueError(f"form must be 'einzel' or 'verbund', not {form!r}")
    assessment, evidence = evidence_files(cat, assessment)
    report = scorer.score(assessment, assessment.period)
    period = assessment.period
    auditor = "Dr. Miriam Beispiel"
    timeline = _timeline(period.start - timedelta(days=60), report.passed, lead, auditor, changes=form == "verbund")
    remarks = {"1.1": AuditorVerdict(CONFIRMED, "Verzeichnis liegt aktuell aus, zuletzt im August ergänzt."),
               "2.2": AuditorVerdict(CONFIRMED, "Elterncafé am Besuchstag besucht; gut angenommen.")}
    if form == "verbund":
        remarks["3.7"] = AuditorVerdict(NOT_CONFIRMED, "Aufbauleistung: Konzept liegt nur als Entwurf vor.")
    number = f"FZ-{'E' if form == 'einzel' else 'V'}-2026-{0x1A0 + index:04d}"
    signoff = SignOff(
        auditor=auditor, date=timeline[-1].at.date(), decision=timeline[-1].to_state,
        snapshot_sha256=sha256_hex(canonical_json(assessment)), chain_head=_chain_head(timeline),
        certification_body=CERTIFICATION_BODY, place="Musterstadt",
    )
    return PacketData(
        familienzentrum=FamilienzentrumInfo(fz_name, form, kitas, zuschuss),
        jugendamt=JUGENDAMT,
        procedure=ProcedureInfo(id=f"proc-{form}-{index:03d}", number=number, kind=assessment.procedure.value,
                                catalogue_key=cat.key, catalogue_version=cat.version,
                                period_start=period.start, period_end=period.end),
        catalogue=cat, assessment=assessment, report=report, timeline=timeline,
        verdicts=_verdicts(report, remarks), evidence=evidence, signoff=signoff,
        recommendations=_recommendations(report), generated_on=signoff.date,
        certification_body=CERTIFICATION_BODY,
    )


def einzel_packet(index: int = 0) -> PacketData:
    return sample_packet("einzel", index=index)


def verbund_packet(members: int = 5, index: int = 0) -> PacketData:
    return sample_packet("verbund", members=members, index=index)


def sample_certificate(form: str = "verbund", members: int = 5) -> CertificateData:
    data = sample_packet(form, members=members)
    issued = data.signoff.date
    return CertificateData(
        familienzentrum=data.familienzentrum, certificate_number=data.procedure.number.replace("FZ-", "GS-"),
        issued_on=issued, valid_until=validity_end(issued), jugendamt=data.jugendamt,
        catalogue_version=data.procedure.catalogue_version, certification_body=CERTIFICATION_BODY,
        place="Musterstadt",
    )
