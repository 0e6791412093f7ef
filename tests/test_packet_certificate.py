"""The Urkunde (one page) and the Qualitätsprofil (its own short PDF), and branding by a template folder."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from certflow.packet import Member, render_certificate, render_qualitaetsprofil
from certflow.packet.sample import einzel_packet, sample_certificate


def text_of(path: Path) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(path)).pages).replace("\u2010 ", "")


@pytest.fixture(scope="module")
def urkunde(tmp_path_factory):
    data = sample_certificate("verbund", members=5)
    result = render_certificate(data, tmp_path_factory.mktemp("urkunde") / "urkunde.pdf")
    return data, result, text_of(result.path)


def test_urkunde_is_one_page_with_everything_on_it(urkunde):
    data, result, text = urkunde
    assert result.pages == 1
    for needle in ("Urkunde".upper(), data.familienzentrum.name, data.certificate_number, "Gütesiegel Familienzentrum NRW",
                   "Gültig bis 31.07.2031", "Ausgestellt am 04.11.2026", "als Verbund der folgenden Einrichtungen"):
        assert needle in text, needle
    for m in data.familienzentrum.members:
        assert m.name in text
    reader = PdfReader(str(result.path))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfaid:part(="|>)3', xmp) and reader.trailer["/Root"]["/Lang"] == "de"
    assert reader.metadata["/CreationDate"] == "D:20261104000000Z"


def test_urkunde_stays_on_one_page_with_long_names(tmp_path):
    data = sample_certificate("verbund", members=5)
    long = dataclasses.replace(data.familienzentrum, name="Familienzentrum im Verbund der Evangelischen und "
                               "Katholischen Kindertageseinrichtungen Musterstadt-Nord-Ost",
                               members=tuple(Member(m.name + " – Kindertageseinrichtung mit Familienbildungsstätte",
                                                    m.address + ", Ortsteil Obermusterdorf")
                                             for m in data.familienzentrum.members))
    result = render_certificate(dataclasses.replace(data, familienzentrum=long), tmp_path / "lang.pdf")
    assert result.pages == 1


def test_qualitaetsprofil_lists_deficits_and_recommendations(tmp_path):
    data = einzel_packet()
    result = render_qualitaetsprofil(data, tmp_path / "qp.pdf")
    text = text_of(result.path)
    assert 1 <= result.pages <= 3
    assert "Qualitätsprofil" in text and data.familienzentrum.name in text
    assert "Gesamtergebnis: nicht erfüllt" in text
    for d in data.report.deficits:
        assert d.subject in text
    assert "ausschlaggebend".upper() in text.upper()
    assert data.recommendations[-1] in text
    assert f"Seite 1 von {result.pages}" in text


def test_a_certification_body_brands_the_urkunde_without_code(tmp_path):
    folder = tmp_path / "vorlagen"
    (folder / "packet").mkdir(parents=True)
    (folder / "certificate").mkdir()
    (folder / "packet" / "brand.css").write_text(":root { --brand: #7a1f5c; --font: 'DejaVu Serif', serif; }",
                                                 encoding="utf-8")
    shipped = Path(__file__).resolve().parent.parent / "templates" / "certificate" / "urkunde.html"
    wording = shipped.read_text(encoding="utf-8").replace("Hiermit wird bestätigt, dass",
                                                          "Die Zertifizierungsstelle bescheinigt, dass")
    (folder / "certificate" / "urkunde.html").write_text(wording, encoding="utf-8")
    result = render_certificate(sample_certificate("einzel"), tmp_path / "urkunde.pdf", templates_dir=folder)
    text = text_of(result.path)
    assert "Die Zertifizierungsstelle bescheinigt, dass" in text and result.pages == 1
    fonts = {f["/BaseFont"] for p in PdfReader(str(result.path)).pages
             for f in p["/Resources"]["/Font"].get_object().values()}
    assert any("Serif" in str(name) for name in fonts)
