"""The audit packet as a PDF: content, page numbering, PDF/A, attachments, reproducibility, verify, signature.

Each sample packet is rendered once per module (about 4 s each); the tests read those files.
PNGs of the first pages are written to artifacts/packet/ for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from certflow.packet import (
    PacketError,
    SignerConfig,
    read_attachments,
    read_manifest,
    render_packet,
    sign_pdf,
    verify_packet,
)
from certflow.packet.sample import einzel_packet, verbund_packet
from certflow.packet.view import packet_view

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "packet"


def pages_text(path: Path) -> list[str]:
    """Text per page, whitespace collapsed and hyphenation at line ends undone."""
    out = []
    for page in PdfReader(str(path)).pages:
        text = " ".join(page.extract_text().split())
        out.append(re.sub("\u2010 ", "", text))
    return out


@pytest.fixture(scope="module")
def outdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("packet")


@pytest.fixture(scope="module")
def einzel(outdir):
    data = einzel_packet()
    result = render_packet(data, outdir / "einzel.pdf")
    return data, result, pages_text(result.path)


@pytest.fixture(scope="module")
def verbund(outdir):
    data = verbund_packet(members=5)
    result = render_packet(data, outdir / "verbund.pdf")
    return data, result, pages_text(result.path)


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    """A throwaway self-signed certificate and its key (EC P-256), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("keys")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test-Auditorin"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test-Zertifizierungsstelle")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


# --- content -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", ["einzel", "verbund"])
def test_every_criterion_verdict_and_threshold_is_in_the_text(sample, request):
    data, _, pages = request.getfixturevalue(sample)
    text = " ".join(pages)
    areas, evidence = packet_view(data)
    ids = [c.id for a in areas for c in a.all_criteria()]
    assert len(ids) >= 60
    for cid in ids:
        assert re.search(rf"(?<![\w.]){re.escape(cid)}(?![\w]|\.\d)", text), f"criterion {cid} missing"
    for a in areas:
        t = a.tally
        assert f"{t.points} von {t.max_points} Punkten (mindestens {t.min_points})" in text
        assert f"Punkte {t.points}/{t.max_points} (min. {t.min_points})" in text  # the chart
        assert f"Basis {t.basis_met}/{t.basis_total} (min. {t.min_basis})" in text
    assert "bestätigt" in text
    verdicts = {v.verdict for v in data.verdicts.values()}
    assert ("nicht bestätigt" in text) == ("nicht bestätigt" in verdicts)
    for e in evidence:
        assert e.file.sha256 in text  # the evidence index
    assert data.signoff.snapshot_sha256 in text and data.signoff.chain_head in text
    assert data.report.verdict in text


def test_cover_timeline_and_german_typography(einzel, verbund):
    _, _, pages = einzel
    cover = pages[0]
    for needle in ("Familienzentrum Kleine Strolche", "Einzelzertifizierung", "Jugendamt der Stadt Musterstadt",
                   "Erst-Zertifizierung Nr. FZ-E-2026-0416", "Version 2020", "01.08.2025 – 31.07.2026",
                   "nicht zertifiziert am 04.11.2026"):
        assert needle in cover, needle
    vdata, _, vpages = verbund
    for m in vdata.familienzentrum.members:
        assert m.name in vpages[0]
    assert "(Zuschussempfänger)" in vpages[0] and "Re-Zertifizierung" in vpages[0]
    timeline = next(p for p in pages if "1 Verlauf des Verfahrens Aus dem Prüfprotokoll" in p)
    assert "02.06.2025" in timeline and "09:00 Uhr" in timeline and "Koordination im Jugendamt" in timeline
    assert "begangen → nicht zertifiziert" in timeline
    assert "Nachbesserung angefordert" in " ".join(vpages)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", " ".join(pages[:-3]))  # no ISO dates in the prose


def test_page_numbering_and_table_of_contents(einzel):
    _, result, pages = einzel
    n = result.pages
    assert n == len(pages) and n > 15
    for i, page in enumerate(pages, 1):
        assert f"Seite {i} von {n}" in page
    toc = pages[1]
    for title in ("1 Verlauf des Verfahrens", "2 Bewertung im Überblick", "3 Kriterien im Einzelnen",
                  "4 Qualitätsprofil: Defizite und Empfehlungen", "5 Freigabe", "6 Nachweisverzeichnis"):
        m = re.search(re.escape(title) + r"[ .]*?(\d+)\b", toc)
        assert m, title
        target = int(m.group(1))
        assert title in pages[target - 1] and not any(title in p for p in pages[2:target - 1]), title


def test_pdfa_metadata_and_language(einzel):
    data, result, _ = einzel
    reader = PdfReader(str(result.path))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(="|>)3', xmp) and re.search(r'pdfaid:conformance(="|>)U', xmp)
    assert root["/Lang"] == "de" and "/OutputIntents" in root and "/AF" in root
    info = reader.metadata
    assert info["/Title"] == f"Prüfbericht Gütesiegel Familienzentrum NRW – {data.familienzentrum.name}"
    assert data.signoff.auditor in info["/Author"] and data.procedure.number in info["/Keywords"]
    assert info["/CreationDate"] == info["/ModDate"] == "D:20261104000000Z"  # from the sign-off date
    assert info["/Creator"].startswith("certflow")
    assert len(reader.trailer["/ID"]) == 2
    outline = [o.title for o in reader.outline if not isinstance(o, list)]
    assert "6 Nachweisverzeichnis" in outline


# --- attachments and manifest ----------------------------------------------------------------------


def test_evidence_files_and_manifest_are_attached(einzel):
    data, result, _ = einzel
    files = read_attachments(result.path)
    _, evidence = packet_view(data)
    assert set(files) == {e.attachment for e in evidence} | {"manifest.json"}
    for e in evidence:
        assert hashlib.sha256(files[e.attachment]).hexdigest() == e.file.sha256
    m = read_manifest(result.path)
    assert m["procedure"]["number"] == data.procedure.number
    assert m["catalogue"]["version"] == "2020"
    assert m["signoff"]["snapshot_sha256"] == data.signoff.snapshot_sha256
    assert m["signoff"]["chain_head"] == data.signoff.chain_head
    assert {x["attachment"]: x["sha256"] for x in m["evidence"]} == {e.attachment: e.file.sha256 for e in evidence}
    assert m["result"]["passed"] is False and "5.2" in m["result"]["criteria"]
    assert files["manifest.json"].decode("utf-8").startswith("{")


# --- reproducibility, verify, signature ------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_again(einzel, outdir, keypair):
    """The same data rendered a second time, now with a PAdES signature."""
    key, cert = keypair
    config = SignerConfig(key_path=key, cert_path=cert, location="Musterstadt")
    return render_packet(einzel_packet(), outdir / "einzel-signiert.pdf", signer=config)


def test_same_data_gives_a_byte_identical_packet(einzel, signed_again):
    _, first, _ = einzel
    assert signed_again.sha256 == first.sha256  # the unsigned packet, rendered again
    assert signed_again.path.read_bytes().startswith(first.path.read_bytes())


def test_reproducible_across_processes(tmp_path):
    """Another interpreter with another hash seed renders the same bytes (checked on the Urkunde: fast)."""
    from certflow.packet import render_certificate
    from certflow.packet.sample import sample_certificate

    here = render_certificate(sample_certificate(), tmp_path / "a.pdf")
    code = ("import sys; from certflow.packet import render_certificate; "
            "from certflow.packet.sample import sample_certificate; "
            "print(render_certificate(sample_certificate(), sys.argv[1]).sha256)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    env.pop("SOURCE_DATE_EPOCH", None)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "b.pdf")], capture_output=True, text=True,
                         env=env, check=True, cwd=ROOT)
    assert out.stdout.strip() == here.sha256


def test_verify_accepts_the_packet_and_detects_a_flipped_byte(einzel, tmp_path):
    _, result, _ = einzel
    ok = verify_packet(result.path, result.sha256.upper())
    assert ok.ok and not ok.signed and "ist das freigegebene Paket" in ok.message
    data = bytearray(result.path.read_bytes())
    for where in (len(data) // 3, len(data) - 10):
        changed = bytearray(data)
        changed[where] ^= 0x01
        (tmp_path / "x.pdf").write_bytes(changed)
        bad = verify_packet(tmp_path / "x.pdf", result.sha256)
        assert not bad.ok and "NICHT das freigegebene Paket" in bad.message
    (tmp_path / "y.pdf").write_bytes(data + b"% angehaengt\n")
    assert not verify_packet(tmp_path / "y.pdf", result.sha256).ok
    with pytest.raises(PacketError, match="64-stellige"):
        verify_packet(result.path, "abc")


def test_signature_validates_and_verify_accepts_the_signed_packet(einzel, signed_again, keypair):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    _, first, _ = einzel
    _, cert = keypair
    signed = signed_again.path.read_bytes()
    assert signed_again.signed and signed_again.file_sha256 == hashlib.sha256(signed).hexdigest()
    sig, = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[load_cert_from_pemder(str(cert))]))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES

    result = verify_packet(signed_again.path, first.sha256, trust_roots=[cert])
    assert result.ok and result.signed and result.signature_intact and result.signature_trusted
    assert "Test-Auditorin" in result.message
    assert read_manifest(signed_again.path)["procedure"]["number"] == "FZ-E-2026-0416"

    tampered = bytearray(signed)
    tampered[len(signed) - 200] ^= 0x01  # in the signature's update, after the packet
    (signed_again.path.parent / "manipuliert.pdf").write_bytes(tampered)
    assert not verify_packet(signed_again.path.parent / "manipuliert.pdf", first.sha256).ok


def test_signing_needs_usable_key_material(einzel, tmp_path, keypair):
    _, result, _ = einzel
    with pytest.raises(PacketError, match="entweder Schlüssel und Zertifikat"):
        SignerConfig(key_path=keypair[0])
    (tmp_path / "kaputt.pem").write_text("kein Schlüssel")
    with pytest.raises(PacketError, match="nicht lesbar"):
        sign_pdf(result.path.read_bytes(), SignerConfig(key_path=tmp_path / "kaputt.pem", cert_path=keypair[1]))


# --- pictures for people -----------------------------------------------------------------------------


def test_first_pages_as_png_artifacts(einzel, verbund):
    exe = shutil.which("pdftoppm")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftoppm is missing in CI: apt-get install -y poppler-utils")
        pytest.skip("pdftoppm (poppler-utils) is not installed here: apt-get install -y poppler-utils")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, (_, result, _) in (("einzel", einzel), ("verbund", verbund)):
        for old in ARTIFACTS.glob(f"{name}-*.png"):
            old.unlink()
        subprocess.run([exe, "-png", "-r", "80", "-f", "1", "-l", "4", str(result.path), str(ARTIFACTS / name)],
                       check=True, timeout=120)
        pngs = sorted(ARTIFACTS.glob(f"{name}-*.png"))
        assert len(pngs) == 4 and all(p.stat().st_size > 5000 for p in pngs)
        assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        shutil.copyfile(result.path, ARTIFACTS / f"{name}.pdf")
