"""Optional digital signature (PAdES) of a rendered packet with pyHanko.

Configured by a key and certificate (PEM or DER files) or one PKCS#12 file
(:func:`signer_from_settings`, from the deployment's settings). The signature is
an incremental update: the signed file is the unsigned packet's bytes followed by the
signature, so the SHA-256 stored with the sign-off (of the unsigned packet) still identifies
it; :func:`certflow.packet.verify.verify_packet` checks both the hash and the signature.
Signing is not reproducible (the signature carries the signing time), the packet is.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .model import PacketError

__all__ = ["SETTINGS_PREFIX", "SignerConfig", "load_signer", "sign_pdf", "signer_from_settings"]


@dataclass(frozen=True, slots=True)
class SignerConfig:
    """Where the signing key is: ``key_path`` + ``cert_path`` (PEM/DER), or ``pkcs12_path``.

    ``passphrase`` unlocks the key (or the PKCS#12 file); ``chain_paths`` are intermediate
    certificates to embed. ``reason``, ``location`` and ``name`` go into the signature dictionary.
    """

    key_path: Path | None = None
    cert_path: Path | None = None
    pkcs12_path: Path | None = None
    passphrase: bytes | None = None
    chain_paths: tuple[Path, ...] = ()
    reason: str = "Freigabe des Audit-Pakets"
    location: str | None = None
    name: str | None = None
    field_name: str = "Freigabe"

    def __post_init__(self) -> None:
        pem = self.key_path is not None and self.cert_path is not None
        p12 = self.pkcs12_path is not None
        if pem == p12 or (not p12 and (self.key_path is None) != (self.cert_path is None)):
            raise PacketError("Signatur: entweder Schlüssel und Zertifikat (key_path, cert_path) "
                              "oder eine PKCS#12-Datei (pkcs12_path) angeben")


def load_signer(config: SignerConfig):
    """The pyHanko ``SimpleSigner`` for ``config``; a German :class:`PacketError` when the material is unusable."""
    from pyhanko.sign import signers

    for path in (config.key_path, config.cert_path, config.pkcs12_path, *config.chain_paths):
        if path is not None and not Path(path).is_file():
            raise PacketError(f"Signatur: Datei {path} nicht gefunden")
    chain = [str(p) for p in config.chain_paths] or None
    if config.pkcs12_path is not None:
        signer = signers.SimpleSigner.load_pkcs12(str(config.pkcs12_path), ca_chain_files=chain,
                                                  passphrase=config.passphrase)
    else:
        signer = signers.SimpleSigner.load(str(config.key_path), str(config.cert_path), ca_chain_files=chain,
                                           key_passphrase=config.passphrase)
    if signer is None:  # pyHanko logs the cause and returns None
        raise PacketError("Signatur: Schlüssel oder Zertifikat nicht lesbar (falsches Format oder Kennwort?)")
    return signer


def sign_pdf(pdf: bytes, config: SignerConfig) -> bytes:
    """``pdf`` with an invisible PAdES signature (SHA-256) appended as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = load_signer(config)
    meta = signers.PdfSignatureMetadata(
        field_name=config.field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=config.reason, location=config.location, name=config.name,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        out = signers.PdfSigner(meta, signer=signer).sign_pdf(writer)
    except Exception as exc:  # pyHanko raises a variety of errors; report them in German, keep the cause
        raise PacketError(f"Signatur fehlgeschlagen: {exc}") from exc
    data = out.getvalue()
    if not data.startswith(pdf):  # an incremental update never rewrites what was there
        raise PacketError("Signatur: die signierte Datei beginnt nicht mit dem Paket (kein inkrementelles Update)")
    return data


SETTINGS_PREFIX = "CERTFLOW_SIGN_"
"""The environment variables the values come from (named in messages): ``KEY`` is ``CERTFLOW_SIGN_KEY``."""


def signer_from_settings(signing: Mapping[str, str]) -> SignerConfig | None:
    """The signature the certification body configured, or ``None`` when nothing is configured.

    ``signing`` is :attr:`certflow.settings.Settings.signing`: the ``CERTFLOW_SIGN_<NAME>`` values
    keyed by ``NAME`` (``KEY``, ``CERT``, ``PKCS12``, ``PASSPHRASE_FILE``, ``CHAIN``, ``NAME``,
    ``LOCATION``; see docs/packet.md). The passphrase is read from a file, never given as a value.
    Unusable settings are a German :class:`PacketError` naming the variable; whether the key can be
    read is checked here too, so a command fails before it renders anything. Relative paths are
    made absolute here (the signature may be made in another process).
    """
    def path(name: str) -> Path | None:
        value = (signing.get(name) or "").strip()
        if not value:
            return None
        if not Path(value).is_file():
            raise PacketError(f"Signatur: {SETTINGS_PREFIX}{name}={value}: Datei nicht gefunden")
        return Path(value).absolute()

    key, cert, p12 = path("KEY"), path("CERT"), path("PKCS12")
    if key is None and cert is None and p12 is None:
        return None
    if p12 is None and (key is None or cert is None):
        missing = "CERT" if cert is None else "KEY"
        raise PacketError(f"Signatur: {SETTINGS_PREFIX}{missing} fehlt (Schlüssel und Zertifikat gehören zusammen)")
    if p12 is not None and (key is not None or cert is not None):
        raise PacketError(f"Signatur: entweder {SETTINGS_PREFIX}KEY und {SETTINGS_PREFIX}CERT oder "
                          f"{SETTINGS_PREFIX}PKCS12")
    secret = path("PASSPHRASE_FILE")
    chain = tuple(Path(p).absolute() for p in (signing.get("CHAIN") or "").split(os.pathsep) if p.strip())
    config = SignerConfig(key_path=key, cert_path=cert, pkcs12_path=p12,
                          passphrase=secret.read_bytes().rstrip(b"\r\n") if secret else None, chain_paths=chain,
                          name=signing.get("NAME") or None, location=signing.get("LOCATION") or None)
    load_signer(config)  # fail now, not after rendering
    return config
