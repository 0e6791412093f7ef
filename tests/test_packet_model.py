"""The packet's view-model, view, chart, manifest and template lookup: fast, no PDF is rendered."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from certflow.packet import render
from certflow.packet.chart import chart_rows, score_chart
from certflow.packet.model import (
    CONFIRMED,
    AuditorVerdict,
    EvidenceFile,
    FamilienzentrumInfo,
    Member,
    PacketError,
    ProcedureInfo,
    TimelineEntry,
)
from certflow.packet.sample import einzel_packet, tiny_pdf, tiny_png, verbund_packet
from certflow.packet.view import MANIFEST_NAME, evidence_views, manifest, manifest_bytes, packet_view


@pytest.fixture(scope="module")
def einzel():
    return einzel_packet()


@pytest.fixture(scope="module")
def verbund():
    return verbund_packet(members=5)


def test_model_refuses_what_would_print_wrong():
    with pytest.raises(ValueError, match="verdict"):
        AuditorVerdict("vielleicht")
    with pytest.raises(ValueError, match="timezone-aware"):
        TimelineEntry(at=datetime(2026, 1, 1, 9, 0), actor="A", role="Auditor", action="Begehung erfassen")
    with pytest.raises(ValueError, match="form"):
        FamilienzentrumInfo("FZ", "gruppe", (Member("Kita"),))
    with pytest.raises(ValueError, match="member"):
        FamilienzentrumInfo("FZ", "einzel", ())
    with pytest.raises(ValueError, match="kind"):
        ProcedureInfo("p", "1", "neu", "k@1", "1", date(2025, 8, 1), date(2026, 7, 31))
    with pytest.raises(ValueError, match="exactly one"):
        EvidenceFile("a.pdf", "Konzept", "A", "0" * 64, 1)


def test_samples_are_realistic(einzel, verbund):
    assert not einzel.report.passed and verbund.report.passed
    assert einzel.familienzentrum.form == "einzel" and len(einzel.familienzentrum.members) == 1
    assert verbund.familienzentrum.is_verbund and len(verbund.familienzentrum.members) == 5
    assert verbund.familienzentrum.zuschussempfaenger == verbund.familienzentrum.members[0].name
    # every evidence record of the self-assessment points at a generated file with its real hash
    by_name = {f.file_name: f for f in einzel.evidence}
    for record in einzel.assessment.evidence:
        assert by_name[record.file.rsplit("/", 1)[-1]].sha256 == record.sha256
    assert tiny_pdf("x").startswith(b"%PDF-1.4") and tiny_pdf("x").rstrip().endswith(b"%%EOF")
    assert tiny_png("x").startswith(b"\x89PNG\r\n\x1a\n")
    assert einzel_packet() == einzel_packet()  # deterministic


def test_view_joins_report_assessment_verdicts_and_evidence(einzel):
    areas, evidence = packet_view(einzel)
    crits = {c.id: c for a in areas for c in a.all_criteria()}
    assert set(crits) == set(einzel.verdicts)
    assert "4K1" not in crits  # profiles not chosen are summarised, not detailed
    c = crits["1.3"]
    assert [(i.id, i.answer) for i in c.items] == [("1.3", "nicht erfüllt"), ("1.3.1", "erfüllt")]
    assert c.items[1].title  # sub-item titles come from the catalogue
    assert [e.file.file_name for e in c.evidence] == ["1.3.1-kooperationsvereinbarung-1.pdf"]
    assert crits["1.5"].verdict.verdict == "nicht bestätigt" and not crits["1.5"].met
    assert [e.number for e in evidence][:3] == ["N-01", "N-02", "N-03"]


def test_attachment_names_are_unique(einzel):
    twin = dataclasses.replace(einzel.evidence[0], title="Zweitschrift")
    data = dataclasses.replace(einzel, evidence=(einzel.evidence[0], twin, dataclasses.replace(
        einzel.evidence[1], file_name=MANIFEST_NAME)))
    names = [e.attachment for e in evidence_views(data)]
    assert len(set(names)) == 3 and MANIFEST_NAME not in names


def test_manifest_is_complete_and_deterministic(einzel):
    m = manifest(einzel)
    assert m["format"] == "certflow-packet/1"
    assert m["procedure"]["number"] == einzel.procedure.number
    assert m["catalogue"] == {"key": "familienzentrum-nrw@2020", "version": "2020"}
    assert m["signoff"]["snapshot_sha256"] == einzel.signoff.snapshot_sha256
    assert m["signoff"]["chain_head"] == einzel.signoff.chain_head
    assert [e["sha256"] for e in m["evidence"]] == [f.sha256 for f in einzel.evidence]
    assert m["result"]["verdict"] == "nicht erfüllt"
    assert manifest_bytes(einzel) == manifest_bytes(einzel_packet())
    json.loads(manifest_bytes(einzel))


def test_evidence_with_a_wrong_hash_or_missing_file_is_refused(einzel, tmp_path):
    bad_hash = dataclasses.replace(einzel.evidence[0], sha256="0" * 64)
    with pytest.raises(PacketError, match="SHA-256 der Datei 1.1-verzeichnis-1.pdf stimmt nicht"):
        render._evidence_attachments(dataclasses.replace(einzel, evidence=(bad_hash,)))
    missing = EvidenceFile("weg.pdf", "Konzept", "Verschwunden", "0" * 64, 1, path=tmp_path / "weg.pdf")
    with pytest.raises(PacketError, match="Nachweis N-01 „Verschwunden“: Datei .*weg.pdf nicht lesbar"):
        render._evidence_attachments(dataclasses.replace(einzel, evidence=(missing,)))


def test_chart_is_deterministic_html_with_thresholds(einzel):
    chart = score_chart(einzel.report)
    assert chart == score_chart(einzel_packet().report)
    root = ET.fromstring(chart)  # well-formed: every element closed
    texts = " ".join(" ".join(root.itertext()).split())
    for row in chart_rows(einzel.report):
        t = row.tally
        assert f"Punkte {t.points}/{t.max_points} (min. {t.min_points})" in texts
        assert f"Basis {t.basis_met}/{t.basis_total} (min. {t.min_basis})" in texts
    assert "Profil 4B" in texts and "Profil 4K" not in texts
    assert "<svg" not in chart and "<text" not in chart  # SVG text is what made the chart slow to lay out
    assert "#ff00ff" in score_chart(einzel.report, met="#ff00ff") and "#ff00ff" not in chart


def test_chart_bar_shows_share_and_minimum():
    from certflow.packet.chart import _bar

    bar = _bar(3, 4, 2, "Punkte", "green", "grey", "black")
    assert "green 75%, grey 75%" in bar  # the filled share
    assert "black 49.55%, black 50.45%" in bar  # the mark of the minimum, centred on 50 %
    assert "Punkte 3/4 (min. 2)" in bar
    assert "transparent" not in _bar(0, 0, 0, "Basis", "green", "grey", "black")  # nothing to reach: no mark


def test_german_filters():
    env = render.environment()
    assert env.filters["datum"](date(2027, 7, 31)) == "31.07.2027"
    late = datetime(2026, 7, 31, 22, 30, tzinfo=UTC)  # already 1 August in Germany
    assert env.filters["datum"](late) == "01.08.2026"
    assert env.filters["datumzeit"](late) == "01.08.2026, 00:30 Uhr"
    assert env.filters["groesse"](637) == "637 Byte"
    assert env.filters["groesse"](1536) == "1,5 KB"


def test_autoescape_keeps_names_as_text(einzel):
    fz = dataclasses.replace(einzel.familienzentrum, name="Kita <Sonne> & Mond")
    html = render.packet_html(dataclasses.replace(einzel, familienzentrum=fz))
    assert "Kita &lt;Sonne&gt; &amp; Mond" in html and "<Sonne>" not in html


def test_a_template_folder_overrides_file_by_file(einzel, tmp_path):
    (tmp_path / "packet").mkdir()
    (tmp_path / "packet" / "brand.css").write_text(":root { --brand: #ff6600; }", encoding="utf-8")
    (tmp_path / "packet" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><!--KOERPERSCHAFT--></svg>',
                                                  encoding="utf-8")
    html = render.packet_html(einzel, tmp_path)
    css = render.packet_css(tmp_path)  # the style goes to WeasyPrint beside the HTML, parsed once per process
    assert "--brand: #ff6600" in css and "--brand: #1f4e79" not in css
    assert "table.grid" in css  # packet.css still the shipped one
    logo = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)
    assert b"KOERPERSCHAFT" in base64.b64decode(logo)  # the folder's logo, inlined as a data: URL
    assert "1 Verlauf des Verfahrens" in html  # everything else still comes from the shipped templates
    with pytest.raises(PacketError, match="Vorlagenordner"):
        render.packet_html(einzel, tmp_path / "fehlt")


def test_verdict_labels(einzel):
    assert AuditorVerdict(CONFIRMED).confirmed
    assert {v.verdict for v in einzel.verdicts.values()} == {"bestätigt", "nicht bestätigt"}
    assert Path(render.shipped_templates_dir(), "packet", "packet.html").is_file()


def test_fonts_and_the_packet_stylesheet_are_made_once_per_thread():
    import threading

    css = render.packet_css()
    sheet, fonts = render._stylesheet(css), render._reused().fonts
    assert render._stylesheet(css) is sheet and render._reused().fonts is fonts  # reused for the next document
    assert render._stylesheet(css + "\n/* geändert */") is not sheet  # an edited brand.css is parsed anew
    other = {}
    thread = threading.Thread(target=lambda: other.update(sheet=render._stylesheet(css), fonts=render._reused().fonts))
    thread.start()
    thread.join()
    assert other["sheet"] is not sheet and other["fonts"] is not fonts  # Pango's font map stays in its thread
