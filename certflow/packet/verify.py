"""Is this file the packet that was signed off? And what is attached inside it?

The SHA-256 stored with the sign-off is of the packet as rendered. A file passes when

* its SHA-256 is that value (the packet itself), or
* it begins with exactly those bytes and everything after them is a digital signature
  (an incremental update made by :mod:`.sign`): the signature must be intact, cover the
  whole file, and the pages and attachments must be the packet's own.

Any other change, one flipped byte included, fails. Messages are German.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model import PacketError
from .view import MANIFEST_NAME

__all__ = ["VerifyResult", "packet_sha256", "read_attachments", "read_manifest", "verify_packet"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    path: Path
    sha256: str                      # of the whole file as it is
    expected: str
    signed: bool = False             # the packet followed by a signature
    signature_intact: bool | None = None
    signature_trusted: bool | None = None
    signer: str | None = None
    message: str = ""


def packet_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _prefix_ends(data: bytes) -> list[int]:
    """Where an earlier revision of the file may end: after each ``%%EOF`` (and its line end)."""
    ends = []
    for m in re.finditer(rb"%%EOF", data):
        end = m.end()
        ends.append(end)
        if data[end:end + 2] == b"\r\n":
            ends.append(end + 2)
        elif data[end:end + 1] in (b"\n", b"\r"):
            ends.append(end + 1)
    return [e for e in ends if e < len(data)]


def _same_pages_and_attachments(original: bytes, full: bytes) -> bool:
    from pypdf import PdfReader

    a, b = PdfReader(io.BytesIO(original)), PdfReader(io.BytesIO(full))
    if len(a.pages) != len(b.pages):
        return False
    for pa, pb in zip(a.pages, b.pages):
        if pa.get_contents().get_data() != pb.get_contents().get_data():
            return False
        if pa.mediabox != pb.mediabox:
            return False
    return _attachments(a) == _attachments(b)


@contextmanager
def _quiet_pyhanko():
    """pyHanko logs every untrusted certificate with a traceback; the result says it in German already."""
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _check_signatures(data: bytes, trust_roots: list[Path]) -> tuple[bool, bool, str | None, str]:
    """``(intact, trusted, signer, problem)`` for the signatures of ``data``."""
    with _quiet_pyhanko():
        return _validate(data, trust_roots)


def _validate(data: bytes, trust_roots: list[Path]) -> tuple[bool, bool, str | None, str]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    context = None
    if trust_roots:
        from pyhanko.keys import load_cert_from_pemder
        from pyhanko_certvalidator import ValidationContext

        context = ValidationContext(trust_roots=[load_cert_from_pemder(str(p)) for p in trust_roots])
    try:
        sigs = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    except Exception as exc:  # any damage after the packet makes the file unreadable for pyHanko
        return False, False, None, f"der Teil nach dem Paket ist beschädigt ({exc})"
    if not sigs:
        return False, False, None, "nach dem Paket folgt eine Änderung, die keine Signatur ist"
    intact = trusted = True
    signer = None
    for i, sig in enumerate(sigs):
        try:
            status = validate_pdf_signature(sig, signer_validation_context=context)
        except (SignatureValidationError, ValueError, KeyError, TypeError) as exc:
            return False, False, None, f"Signatur nicht prüfbar: {exc}"
        intact &= bool(status.intact and status.valid)
        trusted &= bool(status.trusted)
        signer = status.signing_cert.subject.human_friendly
        if i == len(sigs) - 1 and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            return False, False, signer, "nach der letzten Signatur wurde die Datei noch verändert"
    return intact, trusted, signer, "" if intact else "Signatur verletzt"


def verify_packet(path: str | Path, expected_sha256: str, trust_roots: list[str | Path] = ()) -> VerifyResult:
    """Whether ``path`` is the packet whose SHA-256 was stored with the sign-off (see the module doc).

    ``trust_roots`` (PEM/DER certificates) make ``signature_trusted`` meaningful for a signed file.
    """
    path = Path(path)
    expected = expected_sha256.strip().lower()
    if not _HEX64.match(expected):
        raise PacketError(f"erwartete SHA-256 „{expected_sha256}“ ist keine 64-stellige Hexadezimalzahl")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PacketError(f"{path}: Datei nicht lesbar ({exc.strerror or exc})") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual == expected:
        return VerifyResult(True, path, actual, expected,
                            message="Die Datei ist das freigegebene Paket (SHA-256 stimmt überein).")
    for end in _prefix_ends(data):
        if hashlib.sha256(data[:end]).hexdigest() != expected:
            continue
        intact, trusted, signer, problem = _check_signatures(data, [Path(p) for p in trust_roots])
        if not problem and not _same_pages_and_attachments(data[:end], data):
            problem = "Seiteninhalte oder Anhänge weichen vom Paket ab"
        if problem:
            return VerifyResult(False, path, actual, expected, True, intact, trusted, signer,
                                f"Die Datei enthält das freigegebene Paket, aber: {problem}.")
        who = f" von {signer}" if signer else ""
        trust = ", Zertifikat vertrauenswürdig" if trusted else (
            ", Zertifikat nicht gegen eine Vertrauensbasis geprüft" if not trust_roots else
            ", Zertifikat NICHT vertrauenswürdig")
        return VerifyResult(True, path, actual, expected, True, intact, trusted, signer,
                            f"Die Datei ist das freigegebene Paket mit digitaler Signatur{who} "
                            f"(Signatur intakt{trust}).")
    return VerifyResult(False, path, actual, expected,
                        message=f"Die Datei ist NICHT das freigegebene Paket: SHA-256 {actual} statt {expected}.")


def _attachments(reader) -> dict[str, bytes]:
    return {name: contents[0] for name, contents in reader.attachments.items() if contents}


def read_attachments(path: str | Path) -> dict[str, bytes]:
    """The files embedded in a packet: name -> bytes (:class:`PacketError` if it is no readable PDF)."""
    from pypdf import PdfReader

    try:
        return _attachments(PdfReader(str(path)))
    except Exception as exc:  # pypdf raises many kinds for a damaged or foreign file
        raise PacketError(f"{path}: keine lesbare PDF-Datei ({type(exc).__name__}: {exc})") from exc


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The packet's manifest.json, parsed."""
    files = read_attachments(path)
    if MANIFEST_NAME not in files:
        raise PacketError(f"{path}: kein {MANIFEST_NAME} eingebettet – ist das ein certflow-Paket?")
    try:
        manifest = json.loads(files[MANIFEST_NAME].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PacketError(f"{path}: {MANIFEST_NAME} ist kein gültiges JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise PacketError(f"{path}: {MANIFEST_NAME} ist kein JSON-Objekt")
    return manifest
