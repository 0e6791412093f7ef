"""Is this file the packet that was signed off? And what is attached inside it?

The SHA-256 stored with the sign-off is of the packet as rendered. A file passes when

* its SHA-256 is that value (the packet itself), or
* it begins with exactly those bytes and everything after them is digital signatures
  (incremental updates made by :mod:`.sign`), and these pass three checks, each reported
  by name (:class:`SignatureCheck`) so that a person reads which one failed:

  1. **Signatur intakt** (fails as "Signatur verletzt"): every signature is cryptographically
     valid for the bytes it covers and covers the whole file up to its own revision;
  2. **Signatur vertrauenswürdig** (fails as "Signatur nicht vertrauenswürdig"): the signature on
     the packet chains to one of the certificates given as ``trust_roots`` (``--trust``). Without
     trust roots this is not checked: the result says "Signatur nicht geprüft (kein --trust
     angegeben)" and ``signature_trusted`` is ``None``, never ``True``;
  3. **nach der Signatur unverändert** (fails as "nach der Signatur verändert"): the signature
     is the very next revision after the packet and adds nothing but itself (no page, annotation,
     attachment or catalogue entry changed: compared object by object with the packet), and every
     later revision passes pyHanko's difference analysis of that signature as no more than further
     signatures (:class:`~pyhanko.sign.diff_analysis.ModificationLevel` ``FORM_FILLING`` at most,
     no DocMDP violation), each of them invisible, each by a trusted signer when trust roots are
     given, and the last one covering the end of the file. A visible annotation, a second
     signature by someone untrusted or bytes appended after the last signature fail here.

Pages and attachments of the whole file are compared with the packet's as well. Any other
change, one flipped byte included, fails. Messages are German.
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

__all__ = ["SignatureCheck", "VerifyResult", "packet_sha256", "read_attachments", "read_manifest", "verify_packet"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

INTACT, BROKEN = "Signatur intakt", "Signatur verletzt"
TRUSTED, UNTRUSTED = "Signatur vertrauenswürdig", "Signatur nicht vertrauenswürdig"
UNCHECKED = "Signatur nicht geprüft (kein --trust angegeben)"
UNCHANGED, CHANGED = "nach der Signatur unverändert", "nach der Signatur verändert"

# Keys of the document catalogue a signature may add or change (the form, the PDF version and its
# extensions, the XMP metadata it updates, a certification's permissions, the validation data store).
_CATALOGUE_KEYS_OF_A_SIGNATURE = frozenset({"/AcroForm", "/Extensions", "/Version", "/Metadata", "/Perms", "/DSS"})
_ANNOTATION_HIDDEN, _ANNOTATION_NO_VIEW = 2, 32

# Why pyHanko did not trust a certificate (its AdES sub-indication), where there is more to say than "no chain".
_EXPIRED = "ist abgelaufen oder noch nicht gültig"
_TRUST_PROBLEMS = {
    "REVOKED_NO_POE": "ist widerrufen", "REVOKED_CA_NO_POE": "stammt von einer widerrufenen Stelle",
    "EXPIRED": _EXPIRED, "NOT_YET_VALID": _EXPIRED, "OUT_OF_BOUNDS_NO_POE": _EXPIRED,
    "OUT_OF_BOUNDS_NOT_REVOKED": _EXPIRED, "NO_POE": _EXPIRED,
    "CRYPTO_CONSTRAINTS_FAILURE": "verwendet nicht zugelassene Verfahren",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "verwendet nicht mehr zugelassene Verfahren",
}


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """One of the three checks of a signed packet (see the module doc).

    ``ok`` is ``None`` when the check was not made (no trust roots); ``label`` names the outcome in
    German ("Signatur intakt", "Signatur nicht vertrauenswürdig", ...), ``detail`` says what was found.
    """

    name: str
    ok: bool | None
    label: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.label}: {self.detail}" if self.detail else self.label

    @property
    def mark(self) -> str:
        return {True: "✓", False: "✗", None: "–"}[self.ok]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    path: Path
    sha256: str                      # of the whole file as it is
    expected: str
    signed: bool = False             # the packet followed by a signature
    signature_intact: bool | None = None
    signature_trusted: bool | None = None   # None: not checked (no trust roots given)
    signer: str | None = None
    message: str = ""
    checks: tuple[SignatureCheck, ...] = ()


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
    for pa, pb in zip(a.pages, b.pages, strict=True):
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
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _trust_context(trust_roots: list[Path]):
    """A validation context that trusts exactly ``trust_roots`` (none: nothing, never the system's list)."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko_certvalidator import ValidationContext

    roots = []
    for path in trust_roots:
        try:
            roots.append(load_cert_from_pemder(str(path)))
        except OSError as exc:
            raise PacketError(f"{path}: Zertifikat nicht lesbar ({exc.strerror or exc})") from None
        except Exception as exc:  # noqa: BLE001 - asn1crypto/pyHanko raise many kinds for a file that is no certificate
            raise PacketError(f"{path}: kein Zertifikat (PEM oder DER erwartet; {type(exc).__name__})") from None
    return ValidationContext(trust_roots=roots, allow_fetching=False)


def _who(status) -> str:
    subject = status.signing_cert.subject
    return str(subject.native.get("common_name") or subject.human_friendly)


def _serialised(obj) -> bytes:
    """A PDF object as PDF syntax (indirect objects as ``n g R``), to compare two revisions' values."""
    out = io.BytesIO()
    obj.write_to_stream(out, None)
    return out.getvalue()


def _get(dictionary, key: str, default: Any = None) -> Any:
    """``dictionary[key]`` with indirect objects resolved, or ``default``."""
    return dictionary[key] if key in dictionary else default  # noqa: SIM401 - .get() would not resolve them


def _differs(old, new, key: str) -> bool:
    in_old, in_new = key in old, key in new
    if in_old != in_new:
        return True
    return in_old and _serialised(old.raw_get(key)) != _serialised(new.raw_get(key))


def _page_leaves(resolver) -> dict:
    """Reference -> page dictionary of every page of a revision (the leaves of its page tree)."""
    from pyhanko.pdf_utils import generic

    leaves: dict = {}
    todo = [resolver.root.raw_get("/Pages")]
    while todo:
        node_ref = todo.pop()
        if not isinstance(node_ref, generic.IndirectObject) or node_ref.reference in leaves:
            continue
        node = node_ref.get_object()
        kids = _get(node, "/Kids") if _get(node, "/Type") == "/Pages" else None
        if kids is None:
            leaves[node_ref.reference] = node
        else:
            todo.extend(reversed(kids))  # depth first, in page order
    return leaves


def _is_signature_widget(annotation) -> bool:
    field = annotation
    for _ in range(8):  # the field type may be inherited from a parent field
        if _get(field, "/FT") == "/Sig":
            return _get(annotation, "/Subtype") == "/Widget"
        if "/Parent" not in field:
            return False
        field = field["/Parent"]
    return False


def _is_invisible(annotation) -> bool:
    flags = int(_get(annotation, "/F", 0))
    if flags & (_ANNOTATION_HIDDEN | _ANNOTATION_NO_VIEW):
        return True
    rect = [float(v) for v in _get(annotation, "/Rect", [0, 0, 0, 0])]
    return len(rect) == 4 and (abs(rect[2] - rect[0]) < 1e-6 or abs(rect[3] - rect[1]) < 1e-6)


def _annotations(page) -> list:
    from pyhanko.pdf_utils import generic

    return [item.get_object() if isinstance(item, generic.IndirectObject) else item
            for item in _get(page, "/Annots", [])]


def _added_annotations_problem(old_page, new_page, number: int) -> str | None:
    """What the new version of a page adds besides invisible signature widgets (or ``None``)."""
    for key in set(old_page) | set(new_page):
        if key != "/Annots" and _differs(old_page, new_page, key):
            return f"Seite {number}: Eintrag {key} geändert"
    old = [_serialised(a) for a in _annotations(old_page)]
    new = _annotations(new_page)
    if [_serialised(a) for a in new[:len(old)]] != old:
        return f"Seite {number}: Anmerkungen des Pakets geändert oder entfernt"
    for annotation in new[len(old):]:
        if not _is_signature_widget(annotation):
            kind = str(_get(annotation, "/Subtype", "?")).lstrip("/")
            return f"Seite {number}: Anmerkung ({kind}) hinzugefügt"
        if not _is_invisible(annotation):
            return f"Seite {number}: sichtbares Signaturfeld hinzugefügt"
    return None


def _page_changes(reader, base_revision: int, revision: int) -> str | None:
    """The first change to the pages between two revisions, in German (``None``: none found there)."""
    old, new = _page_leaves(reader.get_historical_resolver(base_revision)), \
        _page_leaves(reader.get_historical_resolver(revision))
    if list(old) != list(new):
        return "Seiten hinzugefügt, entfernt oder umgestellt"
    for number, (ref, page) in enumerate(old.items(), start=1):
        problem = _added_annotations_problem(page, new[ref], number)
        if problem:
            return problem
    return None


def _first_signature_problem(reader, packet_revision: int, signature) -> str | None:
    """What the signature's revision changes in the packet besides adding the signature (or ``None``).

    pyHanko's difference analysis starts at a signed revision; the packet itself carries no form,
    so the step from the packet to its first signature is checked here, object by object: the
    revision may only override the catalogue (keys other than those a signature adds unchanged), the
    document information, the XMP metadata and pages (only to add invisible signature widgets).
    """
    from pyhanko.pdf_utils import generic

    if signature.signed_revision != packet_revision + 1:
        what = _page_changes(reader, packet_revision, signature.signed_revision - 1)
        return (f"zwischen dem freigegebenen Paket und der Signatur „{signature.field_name}“ wurde die Datei "
                f"geändert{f' ({what})' if what else ''}")
    old = reader.get_historical_resolver(packet_revision)
    new = reader.get_historical_resolver(signature.signed_revision)
    if new.root_ref != old.root_ref:
        return "der Dokumentkatalog wurde ersetzt"
    if new.refs_freed_in_revision():
        return "Objekte des Pakets wurden gelöscht"
    old_root, new_root = old.root, new.root
    for key in sorted(set(old_root) | set(new_root)):
        if key not in _CATALOGUE_KEYS_OF_A_SIGNATURE and _differs(old_root, new_root, key):
            return f"Eintrag {key} des Dokumentkatalogs geändert"
    if "/AcroForm" in old_root:
        return "das Paket hatte schon ein Formular"
    for field in _get(_get(new_root, "/AcroForm", {}), "/Fields", []):
        if _get(field.get_object(), "/FT") != "/Sig":
            return "ein Formularfeld hinzugefügt, das keine Signatur ist"
    allowed = {old.root_ref}
    info = old.trailer_view.raw_get("/Info") if "/Info" in old.trailer_view else None
    metadata = old_root.raw_get("/Metadata") if "/Metadata" in old_root else None
    allowed |= {value.reference for value in (info, metadata) if isinstance(value, generic.IndirectObject)}
    old_pages = _page_leaves(old)
    numbers = {ref: i for i, ref in enumerate(old_pages, start=1)}
    annots = {page.raw_get("/Annots").reference: ref for ref, page in old_pages.items()
              if "/Annots" in page and isinstance(page.raw_get("/Annots"), generic.IndirectObject)}
    new_pages = _page_leaves(new)
    for ref in sorted(new.explicit_refs_in_revision(), key=lambda r: r.idnum):
        if old.is_ref_unassignable(ref) or ref in allowed:
            continue  # a new object, or one a signature updates
        page_ref = ref if ref in old_pages else annots.get(ref)
        if page_ref is None or page_ref not in new_pages:
            return f"Objekt {ref.idnum} des Pakets überschrieben"
        problem = _added_annotations_problem(old_pages[page_ref], new_pages[page_ref], numbers[page_ref])
        if problem:
            return problem
    return None


def _widgets(field) -> list:
    """The widget annotations of a signature field: the field itself, or its kids."""
    kids = _get(field, "/Kids")
    return [kid.get_object() for kid in kids] if kids is not None else [field]


def _later_revisions_problem(reader, first, first_status, later: list[tuple[Any, Any]],
                             trust_given: bool) -> str | None:
    """What the revisions after the first signature change besides adding further signatures (or ``None``).

    ``first_status`` carries pyHanko's difference analysis from the first signature to the end of the file;
    ``later`` are the further signatures with their statuses.
    """
    from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification

    level = first_status.modification_level
    if isinstance(first_status.diff_result, SuspiciousModification) or level is None \
            or level > ModificationLevel.FORM_FILLING:
        what = _page_changes(reader, first.signed_revision, reader.xrefs.total_revisions - 1)
        return f"nach der Signatur „{first.field_name}“ wurde mehr als eine weitere Signatur hinzugefügt" + (
            f" ({what})" if what else " (die Differenzanalyse lässt die Änderung nicht zu)")
    if first_status.docmdp_ok is False:
        return "die Änderungen danach verletzen die Änderungsrechte der Signatur"
    for sig, status in later:
        if trust_given and not status.trusted:
            return f"weitere Signatur „{sig.field_name}“ von {_who(status)}, nicht vertrauenswürdig"
        if not all(_is_invisible(widget) for widget in _widgets(sig.sig_field)):
            return f"sichtbare Signatur „{sig.field_name}“ von {_who(status)} hinzugefügt"
    return None


def _signature_checks(data: bytes, packet_end: int, trust_roots: list[Path]) -> tuple[tuple[SignatureCheck, ...],
                                                                                        str | None]:
    """The three checks of the signatures after the packet's ``packet_end`` bytes, and the first signer."""
    with _quiet_pyhanko():
        return _validate(data, packet_end, trust_roots)


def _validate(data: bytes, packet_end: int, trust_roots: list[Path]) -> tuple[tuple[SignatureCheck, ...], str | None]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    context = _trust_context(trust_roots)
    trust_given = bool(trust_roots)
    not_checked = SignatureCheck("trusted", None, UNCHECKED, "wer signiert hat, ist nicht bestätigt")

    def broken(detail: str) -> tuple[tuple[SignatureCheck, ...], None]:
        return (SignatureCheck("intact", False, BROKEN, detail),), None

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        packet_revision = PdfFileReader(io.BytesIO(data[:packet_end]), strict=False).xrefs.total_revisions - 1
        signatures = sorted(reader.embedded_signatures, key=lambda s: s.signed_revision)
    except Exception as exc:  # noqa: BLE001 - any damage after the packet makes the file unreadable for pyHanko
        return broken(f"der Teil nach dem Paket ist beschädigt ({type(exc).__name__})")
    if not signatures:
        return (SignatureCheck("unchanged", False, CHANGED, "nach dem Paket folgt eine Änderung, die keine Signatur "
                                                            "ist"),), None
    statuses = []
    for sig in signatures:
        try:
            statuses.append(validate_pdf_signature(sig, signer_validation_context=context))
        except Exception as exc:  # noqa: BLE001 - pyHanko raises many kinds for a malformed signature
            return broken(f"Signatur „{sig.field_name}“ nicht prüfbar ({type(exc).__name__})")
    first, first_status = signatures[0], statuses[0]
    signer = _who(first_status)
    checks = []

    damaged = [f"„{sig.field_name}“ von {_who(st)}" for sig, st in zip(signatures, statuses, strict=True)
               if not (st.intact and st.valid) or st.coverage < SignatureCoverageLevel.ENTIRE_REVISION]
    checks.append(SignatureCheck("intact", False, BROKEN, "die Bytes passen nicht zur Signatur " + ", ".join(damaged))
                  if damaged else SignatureCheck("intact", True, INTACT))
    if not trust_given:
        checks.append(not_checked)
    elif first_status.trusted:
        checks.append(SignatureCheck("trusted", True, TRUSTED, f"{signer} ist durch --trust beglaubigt"))
    else:
        indication = getattr(first_status.trust_problem_indic, "name", "")
        why = _TRUST_PROBLEMS.get(indication, "führt zu keinem mit --trust angegebenen Zertifikat")
        checks.append(SignatureCheck("trusted", False, UNTRUSTED, f"das Zertifikat von {signer} (Signatur "
                                     f"„{first.field_name}“) {why}"))

    problem = None
    try:
        problem = _first_signature_problem(reader, packet_revision, first) or _later_revisions_problem(
            reader, first, first_status, list(zip(signatures[1:], statuses[1:], strict=True)), trust_given)
        if problem is None and statuses[-1].coverage != SignatureCoverageLevel.ENTIRE_FILE:
            problem = "nach der letzten Signatur wurde die Datei noch verändert"
        if problem is None and not _same_pages_and_attachments(data[:packet_end], data):
            problem = "Seiteninhalte oder Anhänge weichen vom Paket ab"
    except Exception as exc:  # noqa: BLE001 - a structure pyHanko or pypdf cannot read is no packet we vouch for
        problem = f"die Änderungen nach dem Paket sind nicht lesbar ({type(exc).__name__})"
    checks.append(SignatureCheck("unchanged", False, CHANGED, problem) if problem
                  else SignatureCheck("unchanged", True, UNCHANGED))
    return tuple(checks), signer


def verify_packet(path: str | Path, expected_sha256: str, trust_roots: list[str | Path] = ()) -> VerifyResult:
    """Whether ``path`` is the packet whose SHA-256 was stored with the sign-off (see the module doc).

    ``trust_roots`` (PEM/DER certificates) are what a signature must chain to; without them a signed
    file's signature is reported as not checked. A trust root that is no certificate is a
    :class:`PacketError`.
    """
    path = Path(path)
    expected = expected_sha256.strip().lower()
    if not _HEX64.match(expected):
        raise PacketError(f"erwartete SHA-256 „{expected_sha256}“ ist keine 64-stellige Hexadezimalzahl")
    roots = [Path(p) for p in trust_roots]
    _trust_context(roots)  # a trust root that is no certificate is bad input, signed file or not
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
        checks, signer = _signature_checks(data, end, roots)
        by_name = {c.name: c for c in checks}
        intact = by_name["intact"].ok if "intact" in by_name else None
        trusted = by_name["trusted"].ok if "trusted" in by_name else None
        ok = all(c.ok is not False for c in checks) and len(checks) == 3
        who = f" von {signer}" if signer else ""
        if ok:
            passed = "; ".join(c.line() for c in checks if c.ok)
            unchecked = "".join(f" {c.line()}." for c in checks if c.ok is None)
            message = f"Die Datei ist das freigegebene Paket mit digitaler Signatur{who} ({passed}).{unchecked}"
        else:
            lines = "\n".join(f"  {c.mark} {c.line()}" for c in checks)
            message = (f"Die Datei enthält das freigegebene Paket, aber die digitale Signatur{who} besteht die "
                       f"Prüfung nicht:\n{lines}")
        return VerifyResult(ok, path, actual, expected, True, intact, trusted, signer, message, checks)
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
