"""The audit anchor: a signed checkpoint of the audit trail, kept outside the database.

The hash chain shows any change to the trail, but not to someone who can write the database:
they can recompute every hash after an edit, or cut the tail and set the head to match. An
anchor written now (``certflow audit anchor -o FILE``) and kept elsewhere (another machine, the
certification body's files, printed) fixes the entry the chain had reached, its number and hash;
``certflow audit verify --anchor FILE`` then fails if the chain no longer holds that entry with
that hash (rewritten up to there) or ends before it (cut).

The file (JSON, UTF-8)::

    {"format": "certflow-audit-anchor/1", "seq": 57, "hash": "<sha-256 of entry 57>",
     "written_at": "2026-12-07T22:50:00.000000+00:00", "method": "x509-sha256" | "hmac-sha256",
     "key_id": "...", "certificate": "<base64 DER, x509 only>", "signature": "<base64>"}

The signature covers the canonical JSON (sorted keys, no blanks) of every field but
``signature`` and ``certificate``. Which key signs (decided here, documented in docs/lifecycle.md):

* the certification body's key, when one is configured for the packets (``CERTFLOW_SIGN_KEY`` +
  ``CERTFLOW_SIGN_CERT`` or ``CERTFLOW_SIGN_PKCS12``): a signature with its private key (RSA
  PKCS#1 v1.5, ECDSA or EdDSA over SHA-256), the certificate embedded; ``key_id`` is the
  certificate's SHA-256 fingerprint. Checking needs the same certificate configured: an anchor
  signed with any other key is refused, so a forger cannot sign a new anchor himself;
* otherwise an HMAC-SHA256 with a secret key file (``--key-file FILE`` or
  ``CERTFLOW_SIGN_ANCHOR_KEY``), created with 32 random bytes on the first ``audit anchor`` if it
  does not exist; ``key_id`` is the first 16 hex digits of its SHA-256. Keep the key file away
  from the database server: whoever holds it can write anchors.

``--key-file`` given on the command line wins over both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..output import OutputError, write_atomically

__all__ = ["ANCHOR_KEY_SETTING", "FORMAT", "Anchor", "AnchorError", "AnchorKey", "key_for_checking",
           "key_for_writing", "read_anchor", "write_anchor_file"]

FORMAT = "certflow-audit-anchor/1"
ANCHOR_KEY_SETTING = "ANCHOR_KEY"
"""The key file's name in :attr:`certflow.settings.Settings.signing` (``CERTFLOW_SIGN_ANCHOR_KEY``)."""

X509 = "x509-sha256"
HMAC = "hmac-sha256"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AnchorError(ValueError):
    """An anchor file that cannot be read, or no key to write or check one with (German ``message``)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Anchor:
    """A checkpoint of the chain as written to (or read from) an anchor file."""

    seq: int
    hash: str
    written_at: datetime
    method: str
    key_id: str
    signature: str = ""
    certificate: str | None = None  # base64 DER (x509 only)

    def signed_bytes(self) -> bytes:
        fields = {"format": FORMAT, "seq": self.seq, "hash": self.hash,
                  "written_at": self.written_at.astimezone(UTC).isoformat(timespec="microseconds"),
                  "method": self.method, "key_id": self.key_id}
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class AnchorKey:
    """A key that signs anchors and checks their signatures."""

    method: str
    key_id: str
    description: str  # German, for messages: which key it is
    path: Path | None = None  # the key file (HMAC)
    created: bool = False  # the key file was made for it just now

    def sign(self, anchor: Anchor) -> Anchor:
        raise NotImplementedError

    def check(self, anchor: Anchor) -> str | None:
        """``None`` if ``anchor`` was signed with this key and not changed since; else what is wrong (German)."""
        raise NotImplementedError


class _HmacKey(AnchorKey):
    method = HMAC

    def __init__(self, secret: bytes, path: Path, created: bool = False):
        self._secret = secret
        self.key_id = hashlib.sha256(secret).hexdigest()[:16]
        self.description = f"HMAC-Schlüssel {path}"
        self.path, self.created = path, created

    def _mac(self, anchor: Anchor) -> str:
        return base64.b64encode(hmac.new(self._secret, anchor.signed_bytes(), hashlib.sha256).digest()).decode()

    def sign(self, anchor: Anchor) -> Anchor:
        return _replace(anchor, method=self.method, key_id=self.key_id, signature="", certificate=None,
                        sign=self._mac)

    def check(self, anchor: Anchor) -> str | None:
        if anchor.method != self.method or anchor.key_id != self.key_id:
            return f"Der Anker ist nicht mit dem {self.description} signiert"
        if not hmac.compare_digest(self._mac(anchor), anchor.signature):
            return "Die Signatur des Ankers stimmt nicht: die Datei wurde verändert"
        return None


class _X509Key(AnchorKey):
    method = X509

    def __init__(self, private_key: Any, certificate_der: bytes, subject: str):
        self._key = private_key
        self._der = certificate_der
        self.key_id = hashlib.sha256(certificate_der).hexdigest()
        self.description = f"Zertifikat „{subject}“ der Zertifizierungsstelle"

    def sign(self, anchor: Anchor) -> Anchor:
        def signature(unsigned: Anchor) -> str:
            return base64.b64encode(_sign(self._key, unsigned.signed_bytes())).decode()

        return _replace(anchor, method=self.method, key_id=self.key_id, signature="",
                        certificate=base64.b64encode(self._der).decode(), sign=signature)

    def check(self, anchor: Anchor) -> str | None:
        if anchor.method != self.method or anchor.key_id != self.key_id:
            return f"Der Anker ist nicht mit dem {self.description} signiert"
        from cryptography import x509
        from cryptography.exceptions import InvalidSignature

        public = x509.load_der_x509_certificate(self._der).public_key()
        try:
            _verify(public, base64.b64decode(anchor.signature, validate=True), anchor.signed_bytes())
        except (InvalidSignature, ValueError):
            return "Die Signatur des Ankers stimmt nicht: die Datei wurde verändert"
        return None


def _replace(anchor: Anchor, *, sign, **changes) -> Anchor:
    from dataclasses import replace

    unsigned = replace(anchor, **changes)
    return replace(unsigned, signature=sign(unsigned))


def _sign(key: Any, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data)  # Ed25519 / Ed448


def _verify(public: Any, signature: bytes, data: bytes) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        public.verify(signature, data)


def _certification_body_key(signing: Mapping[str, str]) -> AnchorKey | None:
    """The key the certification body signs packets with, if configured (``CERTFLOW_SIGN_*``)."""
    from ..packet.model import PacketError
    from ..packet.sign import load_signer, signer_from_settings

    try:
        config = signer_from_settings(signing)
        if config is None:
            return None
        signer = load_signer(config)
    except PacketError as exc:
        raise AnchorError(str(exc)) from None
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    subject = signer.signing_cert.subject
    return _X509Key(private, signer.signing_cert.dump(), subject.native.get("common_name") or subject.human_friendly)


def _key_file(signing: Mapping[str, str], key_file: Path | None) -> Path | None:
    if key_file is not None:
        return Path(key_file)
    named = (signing.get(ANCHOR_KEY_SETTING) or "").strip()
    return Path(named) if named else None


def _read_secret(path: Path) -> bytes:
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise AnchorError(f"Schlüsseldatei {path} nicht lesbar: {exc.strerror or exc}") from None
    if len(secret) < 16:
        raise AnchorError(f"Schlüsseldatei {path}: zu kurz (mindestens 16 Zeichen)")
    return secret


def _new_secret(path: Path) -> bytes:
    secret = secrets.token_hex(32).encode("ascii")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret + b"\n")
    except OSError as exc:
        raise AnchorError(f"Schlüsseldatei {path} nicht anzulegen: {exc.strerror or exc}") from None
    return secret


_NO_KEY = ("Kein Schlüssel für den Anker: den der Zertifizierungsstelle konfigurieren (CERTFLOW_SIGN_KEY und "
           "CERTFLOW_SIGN_CERT oder CERTFLOW_SIGN_PKCS12) oder eine Schlüsseldatei angeben (--key-file DATEI "
           "oder CERTFLOW_SIGN_ANCHOR_KEY)")


def key_for_writing(signing: Mapping[str, str], key_file: Path | None = None) -> AnchorKey:
    """The key a new anchor is signed with: ``key_file`` (made if missing), else the certification body's
    key, else ``CERTFLOW_SIGN_ANCHOR_KEY`` (made if missing); :class:`AnchorError` if there is none."""
    if key_file is None:
        body = _certification_body_key(signing)
        if body is not None:
            return body
    path = _key_file(signing, key_file)
    if path is None:
        raise AnchorError(_NO_KEY)
    if path.exists():
        return _HmacKey(_read_secret(path), path)
    return _HmacKey(_new_secret(path), path, created=True)


def key_for_checking(anchor: Anchor, signing: Mapping[str, str], key_file: Path | None = None) -> AnchorKey:
    """The configured key an anchor of ``anchor.method`` is checked with; :class:`AnchorError` if none is."""
    if anchor.method == X509:
        body = _certification_body_key(signing)
        if body is None:
            raise AnchorError("Der Anker ist mit dem Schlüssel der Zertifizierungsstelle signiert; zum Prüfen "
                              "CERTFLOW_SIGN_KEY und CERTFLOW_SIGN_CERT (oder CERTFLOW_SIGN_PKCS12) setzen")
        return body
    path = _key_file(signing, key_file)
    if path is None:
        raise AnchorError("Der Anker ist mit einer Schlüsseldatei signiert; zum Prüfen --key-file DATEI "
                          "oder CERTFLOW_SIGN_ANCHOR_KEY angeben")
    if not path.is_file():
        raise AnchorError(f"Schlüsseldatei {path} gibt es nicht")
    return _HmacKey(_read_secret(path), path)


def write_anchor_file(anchor: Anchor, path: Path) -> None:
    """Write a signed anchor as JSON (replacing the file atomically)."""
    fields = {"format": FORMAT, "seq": anchor.seq, "hash": anchor.hash,
              "written_at": anchor.written_at.astimezone(UTC).isoformat(timespec="microseconds"),
              "method": anchor.method, "key_id": anchor.key_id, "signature": anchor.signature}
    if anchor.certificate:
        fields["certificate"] = anchor.certificate
    text = json.dumps(fields, indent=2, ensure_ascii=False) + "\n"
    try:
        write_atomically(path, text)  # .part, fsync, rename; nothing half-written on failure
    except OutputError as exc:
        raise AnchorError(str(exc)) from None


def read_anchor(path: Path) -> Anchor:
    """The anchor in ``path``; :class:`AnchorError` naming the file and what is wrong with it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AnchorError(f"{path}: nicht lesbar: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AnchorError(f"{path}: kein certflow-Anker (keine JSON-Datei)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise AnchorError(f"{path}: kein certflow-Anker (erwartet format: {FORMAT})")

    def field(name: str, kind: type, check=lambda value: True) -> Any:
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or not check(value):
            raise AnchorError(f"{path}: {name}: fehlt oder ungültig")
        return value

    seq = field("seq", int, lambda v: v >= 0)
    digest = field("hash", str, _HEX64.fullmatch)
    try:
        written = datetime.fromisoformat(field("written_at", str))
    except ValueError:
        raise AnchorError(f"{path}: written_at: kein Zeitpunkt") from None
    if written.tzinfo is None:
        raise AnchorError(f"{path}: written_at: ohne Zeitzone")
    method = field("method", str, lambda v: v in (X509, HMAC))
    certificate = data.get("certificate")
    if certificate is not None and not isinstance(certificate, str):
        raise AnchorError(f"{path}: certificate: ungültig")
    return Anchor(seq=seq, hash=digest, written_at=written, method=method, key_id=field("key_id", str),
                  signature=field("signature", str), certificate=certificate)
