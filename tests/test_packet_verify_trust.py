"""``packet verify`` with digital signatures: trusted only when the signature chains to ``--trust``, and only
when nothing but trusted signatures was added after the signed-off packet (pyHanko's validation and its
difference analysis).

The packet is rendered once per module (about 4 s); the other files are made from it with pyHanko, as a
stranger would: signed with a stranger's own certificate, signed properly and then signed again by the
stranger, signed properly and then annotated (visibly) and signed again, annotated and then signed.
Throwaway keys (EC P-256) are made here, as tests/test_packet_render.py does.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from certflow.cli import cli
from certflow.packet import PacketError, SignerConfig, render_packet, sign_pdf, verify_packet
from certflow.packet.sample import einzel_packet

NOT_TRUSTED = "Signatur nicht vertrauenswürdig"
CHANGED = "nach der Signatur verändert"
UNCHECKED = "Signatur nicht geprüft (kein --trust angegeben)"


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test")])


def _certificate(subject: str, key, issuer: str | None = None, issuer_key=None, ca: bool = True):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer or subject))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                                         crl_sign=ca, encipher_only=False, decipher_only=False), critical=True)
            .sign(issuer_key or key, hashes.SHA256()))


def _write(folder: Path, key, cert) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization

    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def self_signed(folder: Path, common_name: str) -> SignerConfig:
    """A key and its self-signed certificate (as the certification body's root or as a stranger's own)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    key_path, cert_path = _write(folder, key, _certificate(common_name, key))
    return SignerConfig(key_path=key_path, cert_path=cert_path)


def issued_by(folder: Path, common_name: str, ca: SignerConfig) -> SignerConfig:
    """A signing key whose certificate ``ca`` issued (the chain is embedded in the signature)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509 import load_pem_x509_certificate

    ca_key = serialization.load_pem_private_key(ca.key_path.read_bytes(), password=None)
    ca_name = load_pem_x509_certificate(ca.cert_path.read_bytes()).subject.rfc4514_string()
    ca_cn = ca_name.split("CN=")[1].split(",")[0]
    key = ec.generate_private_key(ec.SECP256R1())
    key_path, cert_path = _write(folder, key, _certificate(common_name, key, ca_cn, ca_key, ca=False))
    return SignerConfig(key_path=key_path, cert_path=cert_path, chain_paths=(ca.cert_path,))


def again(config: SignerConfig, field: str = "Zweite") -> SignerConfig:
    """The same key signing into another (new) signature field."""
    return SignerConfig(key_path=config.key_path, cert_path=config.cert_path, chain_paths=config.chain_paths,
                        field_name=field)


def _annotate(writer) -> None:
    """A visible red free-text annotation „UNGÜLTIG“ on page 1."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name, pdf_string

    page_ref, _ = writer.find_page_for_modification(0)
    annotation = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (50, 700, 400, 760)]),
        pdf_name("/Contents"): pdf_string("UNGÜLTIG"), pdf_name("/DA"): pdf_string("/Helv 24 Tf 1 0 0 rg"),
        pdf_name("/F"): generic.NumberObject(4),
    })
    writer.register_annotation(page_ref, writer.add_object(annotation))


def annotated(pdf: bytes) -> bytes:
    """``pdf`` with a visible annotation on page 1, as an incremental update of its own."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _annotate(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def annotated_while_signing(pdf: bytes, config: SignerConfig) -> bytes:
    """``pdf`` annotated and signed in one and the same incremental update (the signature covers the annotation)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from certflow.packet.sign import load_signer

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _annotate(writer)
    meta = signers.PdfSignatureMetadata(field_name="Freigabe", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    return signers.PdfSigner(meta, signer=load_signer(config)).sign_pdf(writer).getvalue()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schluessel")
    body = self_signed(folder / "stelle", "Zertifizierungsstelle")
    return {"body": body, "stranger": self_signed(folder / "fremd", "Fremder"),
            "auditor": issued_by(folder / "auditorin", "Auditorin", body)}


@pytest.fixture(scope="module")
def files(tmp_path_factory, keys):
    """The signed-off packet and what people did to it: name -> (path, SHA-256 of the packet)."""
    folder = tmp_path_factory.mktemp("pakete")
    packet = render_packet(einzel_packet(), folder / "paket.pdf")
    pdf = packet.path.read_bytes()
    body, stranger = keys["body"], keys["stranger"]
    signed = sign_pdf(pdf, body)
    made = {
        "unsigned": pdf,
        "signed": signed,
        "chain": sign_pdf(pdf, keys["auditor"]),
        "stranger": sign_pdf(pdf, stranger),
        "resigned": sign_pdf(signed, again(stranger)),
        "signed_twice": sign_pdf(signed, again(body)),
        "annotated_after_signature": sign_pdf(annotated(signed), again(stranger)),
        "annotated_by_signer": sign_pdf(annotated(signed), again(body)),
        "annotated_then_signed": sign_pdf(annotated(pdf), body),
        "annotated_while_signing": annotated_while_signing(pdf, body),
        "annotated_unsigned": annotated(signed),
        "appended_garbage": signed + b"\n% nachgetragen\n",
    }
    out = {}
    for name, data in made.items():
        path = folder / f"{name}.pdf"
        path.write_bytes(data)
        out[name] = path
    return out, packet.sha256


def check(files, name, trust=()):
    paths, sha = files
    return verify_packet(paths[name], sha, trust_roots=list(trust))


def failed(result) -> list[str]:
    return [c.label for c in result.checks if c.ok is False]


def test_the_signed_packet_passes_with_its_trust_root(files, keys):
    result = check(files, "signed", [keys["body"].cert_path])
    assert result.ok and result.signed and result.signature_intact and result.signature_trusted
    assert failed(result) == []
    assert "Zertifizierungsstelle" in result.message and "vertrauenswürdig" in result.message
    assert NOT_TRUSTED not in result.message and CHANGED not in result.message


def test_a_signature_that_chains_to_the_trust_root_passes(files, keys):
    result = check(files, "chain", [keys["body"].cert_path])
    assert result.ok and result.signature_trusted and "Auditorin" in result.message


def test_without_trust_the_signature_is_reported_unchecked_not_trusted(files, keys):
    result = check(files, "signed")
    assert result.ok and result.signed and result.signature_intact
    assert result.signature_trusted is None
    assert UNCHECKED in result.message and "vertrauenswürdig" not in result.message.replace(UNCHECKED, "")


def test_a_strangers_own_certificate_is_not_trusted(files, keys):
    result = check(files, "stranger", [keys["body"].cert_path])
    assert not result.ok and result.signed and result.signature_trusted is False
    assert failed(result) == [NOT_TRUSTED]
    assert f"{NOT_TRUSTED}: " in result.message and "Fremder" in result.message


def test_trusting_only_the_stranger_does_not_make_the_body_trusted(files, keys):
    result = check(files, "signed", [keys["stranger"].cert_path])
    assert not result.ok and failed(result) == [NOT_TRUSTED]


def test_a_second_signature_by_a_stranger_is_a_change_after_the_signature(files, keys):
    result = check(files, "resigned", [keys["body"].cert_path])
    assert not result.ok and failed(result) == [CHANGED]
    assert "Fremder" in result.message and "Zweite" in result.message


def test_a_second_signature_by_the_trusted_signer_is_allowed(files, keys):
    result = check(files, "signed_twice", [keys["body"].cert_path])
    assert result.ok and failed(result) == [], result.message


@pytest.mark.parametrize("name", ["annotated_after_signature", "annotated_by_signer", "annotated_then_signed",
                                  "annotated_while_signing"])
def test_a_visible_annotation_added_and_signed_afterwards_fails(files, keys, name):
    result = check(files, name, [keys["body"].cert_path])
    assert not result.ok and failed(result) == [CHANGED], result.message
    assert f"{CHANGED}: " in result.message and "Seite 1: Anmerkung (FreeText) hinzugefügt" in result.message


@pytest.mark.parametrize("name", ["annotated_after_signature", "annotated_then_signed", "annotated_unsigned",
                                  "appended_garbage"])
def test_changes_fail_without_trust_as_well(files, name):
    result = check(files, name)
    assert not result.ok and CHANGED in result.message, result.message


def test_a_changed_byte_in_the_signature_breaks_it(files, keys, tmp_path):
    paths, sha = files
    data = bytearray(paths["signed"].read_bytes())
    data[len(data) - 200] ^= 0x01
    (tmp_path / "kaputt.pdf").write_bytes(data)
    result = verify_packet(tmp_path / "kaputt.pdf", sha, trust_roots=[keys["body"].cert_path])
    assert not result.ok


def test_a_trust_root_that_is_no_certificate_is_bad_input(files, keys):
    with pytest.raises(PacketError, match=r"key\.pem: kein Zertifikat"):
        check(files, "signed", [keys["body"].key_path])


# --- the command ------------------------------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_says_which_check_failed_and_exits_1(files, keys):
    paths, sha = files
    trust = keys["body"].cert_path
    stranger = invoke("packet", "verify", paths["stranger"], "--sha256", sha, "--trust", trust)
    assert stranger.exit_code == 1 and NOT_TRUSTED in stranger.output
    resigned = invoke("packet", "verify", paths["resigned"], "--sha256", sha, "--trust", trust)
    assert resigned.exit_code == 1 and CHANGED in resigned.output
    annotated_file = invoke("packet", "verify", paths["annotated_after_signature"], "--sha256", sha,
                            "--trust", trust)
    assert annotated_file.exit_code == 1 and CHANGED in annotated_file.output
    good = invoke("packet", "verify", paths["signed"], "--sha256", sha, "--trust", trust)
    assert good.exit_code == 0 and "Zertifizierungsstelle" in good.output
    unchecked = invoke("packet", "verify", paths["signed"], "--sha256", sha)
    assert unchecked.exit_code == 0 and UNCHECKED in unchecked.output


def test_cli_refuses_a_trust_file_that_is_no_certificate(files, keys):
    paths, sha = files
    result = invoke("packet", "verify", paths["signed"], "--sha256", sha, "--trust", keys["body"].key_path)
    assert result.exit_code == 2 and "kein Zertifikat" in result.output and "Traceback" not in result.output
