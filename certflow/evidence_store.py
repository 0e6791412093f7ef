"""Content-addressed store for evidence files (Belegmaterialien), behind one seam.

Kitas upload evidence with their self-assessment. Every store names a file by the SHA-256 of its
bytes: the same content is stored once and a stored file can always be re-checked.

:class:`EvidenceStore` is the seam (a protocol): what the services use (``exists``, ``get``,
``open``, ``size``, ``verify``, ``put``, ``stage``, ``delete``, ``iterate``, ``staging_area``).
Two stores implement it, with the same checks (:func:`_receive`, shared):

* :class:`LocalEvidenceStore` (the default): a folder, each file under ``root/<sha256[:2]>/<sha256>``.
  :meth:`~LocalEvidenceStore.put` streams the content in chunks into a temporary file inside
  ``root`` (so the final rename stays on one filesystem), hashing and counting bytes as it goes;
  on success the temporary file is fsynced and only then moved to its final name with
  :func:`os.replace` (and the folder synced); on any failure, including ``KeyboardInterrupt``,
  the temporary file is removed.
* :class:`MemoryEvidenceStore`, the in-memory twin for tests (one process: web workers or render
  worker processes do not see it). ``get`` hands out a private temporary copy of a file, as a
  remote store would hand out a local cache of it, for what needs a path (PDF attachments,
  downloads).

:func:`open_evidence_store` opens the store the settings name (``CERTFLOW_EVIDENCE_STORE``:
``local:PFAD`` or ``memory:NAME``; :attr:`EvidenceStore.location` gives that text back, for
another process to open the same store).

Every store refuses empty files, files over the size limit (it stops reading as soon as the
limit is passed) and types that are not on the allow-list. The type is detected from the
content (magic bytes via the ``filetype`` package; zip-based office documents by looking inside
the zip), never from the file name.

:meth:`EvidenceStore.stage` does the same in two steps, for a file that belongs to a database
change: the checked file waits as a :class:`PendingFile` until the change has committed, then
:meth:`PendingFile.publish` puts it into the store; when the change fails,
:meth:`PendingFile.discard` drops it. So the store never holds a file that no committed record
names (a submission whose commit failed leaves nothing behind), and a file already stored for
another record is never touched.

This is an adapter, but it holds no database code: callers keep the returned
:class:`StoredFile` (hash, size, type, original name) wherever they like.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
import threading
import weakref
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import filetype

__all__ = [
    "DEFAULT_ALLOWED",
    "DEFAULT_MAX_BYTES",
    "EvidenceRejected",
    "EvidenceStore",
    "LocalEvidenceStore",
    "MemoryEvidenceStore",
    "PendingFile",
    "StoredFile",
    "detect_media_type",
    "open_evidence_store",
]

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
ZIP = "application/zip"
TEXT = "text/plain"

DEFAULT_ALLOWED: frozenset[str] = frozenset({PDF, PNG, JPEG, DOCX, XLSX, ODT})
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

CHUNK_SIZE = 64 * 1024
HEAD_SIZE = 8192  # what filetype looks at
ZIP_MIMETYPE_LIMIT = 256  # ODF "mimetype" entry: one short line
ZIP_CONTENT_TYPES_LIMIT = 1024 * 1024  # OOXML "[Content_Types].xml": a few KB in practice

_TEMP_PREFIX = ".upload-"
_TEMP_SUFFIX = ".part"
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a procedure id usable as a folder name

# Short names for the refusal message, in the order they are listed there.
_LABELS: dict[str, str] = {
    PDF: "PDF",
    PNG: "PNG",
    JPEG: "JPEG",
    DOCX: "DOCX",
    XLSX: "XLSX",
    PPTX: "PPTX",
    ODT: "ODT",
    ODS: "ODS",
    ODP: "ODP",
    TEXT: "TXT",
}

# filetype names some variants separately; they are valid files of the base type.
_ALIASES: dict[str, str] = {"image/apng": PNG}

# Main-part content type in an OOXML package's [Content_Types].xml -> document type.
# Macro-enabled and template variants map to their own types, so that a .docm is
# not taken for a .docx (filetype alone cannot tell them apart).
_OOXML_MAIN: dict[str, str] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "application/vnd.ms-word.document.macroenabled.main+xml": "application/vnd.ms-word.document.macroEnabled.12",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml":
        "application/vnd.ms-word.template.macroEnabled.12",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml":
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "application/vnd.ms-excel.sheet.macroEnabled.12",
    "application/vnd.ms-excel.template.macroenabled.main+xml": "application/vnd.ms-excel.template.macroEnabled.12",
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml":
        "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
}
_CONTENT_TYPE_ATTR = re.compile(rb"""ContentType\s*=\s*["']([^"']+)["']""")
_MIME_RE = re.compile(r"[A-Za-z0-9][\w.+-]*/[\w.+-]+")


class EvidenceRejected(Exception):
    """An upload was refused; ``reason`` is a German message that names the file."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What :meth:`EvidenceStore.put` stored: keep this next to the assessment."""

    sha256: str
    size: int
    media_type: str
    filename: str




# ---------------------------------------------------------------- type detection


def detect_media_type(head: bytes, container: BinaryIO | None = None) -> str | None:
    """The media type of content starting with ``head`` (its first bytes), or ``None``.

    ``container`` is a seekable binary file with the whole content; it is needed
    only to look inside zip files (office documents). Without it a zip is
    reported as whatever ``filetype`` makes of its first bytes.
    """
    if head.startswith(b"PK\x03\x04") and container is not None:
        return _zip_media_type(container)
    guess = filetype.guess(bytes(head[:HEAD_SIZE]))
    if guess is not None:
        return _ALIASES.get(guess.mime, guess.mime)
    if _looks_like_text(head):
        return TEXT
    return None


def _zip_media_type(container: BinaryIO) -> str:
    """ODF ``mimetype`` entry or OOXML main content type; ``application/zip`` otherwise.

    Reads only bounded amounts from the two entries (no zip bomb unpacks here).
    The container is untrusted input: any failure to parse it means it is not a
    recognisable office document, whatever exception zipfile raises for it.
    """
    try:
        with zipfile.ZipFile(container) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                with zf.open("mimetype") as entry:
                    value = entry.read(ZIP_MIMETYPE_LIMIT).decode("ascii").strip()
                if _MIME_RE.fullmatch(value):
                    return value
            if "[Content_Types].xml" in names:
                with zf.open("[Content_Types].xml") as entry:
                    xml = entry.read(ZIP_CONTENT_TYPES_LIMIT)
                found = {
                    _OOXML_MAIN[ct]
                    for ct in (m.decode("ascii", "replace").strip().lower() for m in _CONTENT_TYPE_ATTR.findall(xml))
                    if ct in _OOXML_MAIN
                }
                if len(found) == 1:
                    return found.pop()
    except Exception:  # noqa: BLE001 - untrusted container, see docstring
        return ZIP
    return ZIP


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 without NUL or other control characters besides tab, newlines and form feed."""
    # The head may end inside a multi-byte character: allow up to 3 bytes cut off.
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    return all(ch in "\t\n\r\f" or ord(ch) >= 32 and ch != "\x7f" for ch in text)


def _label(media_type: str) -> str:
    if media_type in _LABELS:
        return _LABELS[media_type]
    kind = filetype.get_type(mime=media_type)
    return kind.extension.upper() if kind is not None else media_type


def _allowed_text(allowed: frozenset[str]) -> str:
    order = list(_LABELS)
    ranked = sorted(allowed, key=lambda m: (order.index(m) if m in order else len(order), _label(m)))
    return ", ".join(_label(m) for m in ranked)


def _format_size(n: int) -> str:
    mib, kib = 1024 * 1024, 1024
    if n % mib == 0:
        return f"{n // mib} MB"
    if n >= mib:
        return f"{n / mib:.1f} MB".replace(".", ",")
    if n % kib == 0:
        return f"{n // kib} KB"
    return f"{n} Bytes"



# ---------------------------------------------------------------- the seam

Source = Path | bytes | BinaryIO


class PendingFile(Protocol):
    """A checked file waiting for its database change to commit (:meth:`EvidenceStore.stage`).

    ``stored`` is what the store will hold. :meth:`publish` puts it into the store; :meth:`discard`
    drops it. Both are idempotent.
    """

    stored: StoredFile

    def publish(self) -> StoredFile: ...

    def discard(self) -> None: ...


class EvidenceStore(Protocol):
    """What the services need of an evidence store (see the module)."""

    max_bytes: int
    allowed: frozenset[str]

    @property
    def location(self) -> str:
        """The text that opens this store again (:func:`open_evidence_store`), e.g. in a worker process."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def get(self, sha256: str) -> Path:
        """A file on this machine with the content; ``FileNotFoundError`` if the store does not hold it."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """The content for binary reading (the caller closes it); ``FileNotFoundError`` if not held."""
        ...

    def size(self, sha256: str) -> int: ...

    def verify(self, sha256: str) -> bool:
        """Re-hash the stored bytes: ``False`` if they no longer match their name."""
        ...

    def put(self, source: Source, filename: str, expected_sha256: str | None = None) -> StoredFile:
        """Check and store ``source`` (a path, bytes, or a binary file read from its position).

        Raises :class:`EvidenceRejected` when the file is empty, too large, of a type not on the
        allow-list, or its hash differs from ``expected_sha256``. Content already there: the same entry.
        """
        ...

    def stage(self, source: Source, filename: str, expected_sha256: str | None = None) -> PendingFile:
        """Check ``source`` as :meth:`put` does; it reaches the store with :meth:`PendingFile.publish`."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the file (nothing happens if the store does not hold it)."""
        ...

    def iterate(self) -> Iterator[str]:
        """The SHA-256 of every stored file (in no particular order)."""
        ...

    def staging_area(self, procedure_id: str) -> EvidenceStore:
        """A store of the same kind, limits and allow-list, apart from this one, for the draft uploads of
        one procedure (:mod:`certflow.evidence_staging`); ``procedure_id`` is a plain name."""
        ...


def open_evidence_store(location: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                        allowed: frozenset[str] = DEFAULT_ALLOWED) -> EvidenceStore:
    """The store ``location`` names: ``local:PFAD`` (a folder; an absolute path alone also names one) or
    ``memory:NAME`` (in this process; the same name gives the same store). ``ValueError`` with a German message
    for anything else."""
    if os.path.isabs(location or ""):
        return LocalEvidenceStore(Path(location), max_bytes, allowed)  # a bare folder (older callers)
    kind, _, rest = (location or "").partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    if kind == "local" and rest:
        return LocalEvidenceStore(Path(rest), max_bytes, allowed)
    if kind == "memory":
        return MemoryEvidenceStore.named(rest or "standard", max_bytes=max_bytes, allowed=allowed)
    raise ValueError(f"CERTFLOW_EVIDENCE_STORE: „{location}“ ist kein Belegspeicher; möglich sind local:PFAD "
                     f"(ein Ordner) und memory:NAME (nur für Tests, in einem Prozess)")


# ---------------------------------------------------------------- the checks, shared


def _receive(source: Source, filename: str, expected_sha256: str | None, max_bytes: int,
             allowed: frozenset[str], sink: BinaryIO) -> StoredFile:
    """Copy ``source`` into ``sink`` (seekable, binary, empty) in chunks while hashing and counting, then check
    it: :class:`EvidenceRejected` for an empty or too large file (reading stops one byte past the limit), a
    different hash than ``expected_sha256`` or a type not in ``allowed``."""
    expected = _expected_hash(expected_sha256, filename)
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    # closing(): a Path source is closed at once when reading stops early.
    with contextlib.closing(_chunks(source, max_bytes)) as chunks:
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise EvidenceRejected(f"{filename}: Datei ist größer als {_format_size(max_bytes)}")
            digest.update(chunk)
            if len(head) < HEAD_SIZE:
                head += chunk[: HEAD_SIZE - len(head)]
            sink.write(chunk)
    if size == 0:
        raise EvidenceRejected(f"{filename}: Datei ist leer")
    sha256 = digest.hexdigest()
    if expected is not None and sha256 != expected:
        raise EvidenceRejected(f"{filename}: Prüfsumme stimmt nicht: erwartet {expected}, erhalten {sha256}")
    sink.flush()
    sink.seek(0)
    media_type = detect_media_type(bytes(head), sink)
    if media_type not in allowed:
        shown = "unbekannt" if media_type is None else media_type
        raise EvidenceRejected(f"{filename}: Dateityp {shown} ist nicht erlaubt (erlaubt: {_allowed_text(allowed)})")
    return StoredFile(sha256=sha256, size=size, media_type=media_type, filename=filename)


def _expected_hash(expected_sha256: str | None, filename: str) -> str | None:
    """``expected_sha256`` normalised; :class:`EvidenceRejected` when it is not a SHA-256 value."""
    if expected_sha256 is None:
        return None
    expected = expected_sha256.strip().lower()
    if not _SHA256_RE.fullmatch(expected):
        raise EvidenceRejected(
            f"{filename}: erwartete Prüfsumme ist kein SHA-256-Wert (64 Hexadezimalzeichen): {expected_sha256!r}")
    return expected


def _chunks(source: Source, max_bytes: int) -> Iterator[bytes]:
    """Chunks of ``source``; never asks for more than one byte past the size limit."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source).cast("B")
        limit = min(len(view), max_bytes + 1)
        for start in range(0, limit, CHUNK_SIZE):
            yield bytes(view[start : min(start + CHUNK_SIZE, limit)])
        return
    if isinstance(source, str):
        raise TypeError("source must be a Path, bytes or a binary file, not str")
    if isinstance(source, os.PathLike):
        with open(source, "rb") as fh:
            yield from _read_chunks(fh, max_bytes)
        return
    yield from _read_chunks(source, max_bytes)


def _read_chunks(reader: BinaryIO, max_bytes: int) -> Iterator[bytes]:
    remaining = max_bytes + 1  # one byte more than allowed tells "too large"
    while remaining > 0:
        chunk = reader.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            return
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError("source must be opened in binary mode")
        remaining -= len(chunk)
        yield bytes(chunk)


def _hash_of(reader: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: reader.read(CHUNK_SIZE), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _plain_name(procedure_id: str) -> str:
    if not isinstance(procedure_id, str) or not _PLAIN_ID.fullmatch(procedure_id) or ".." in procedure_id:
        raise ValueError(f"procedure id not usable as a folder name: {procedure_id!r}")
    return procedure_id


# ---------------------------------------------------------------- the local folder (default)


class LocalPendingFile:
    """A file :meth:`LocalEvidenceStore.stage` checked and wrote, fsynced, beside the store: not in it until
    :meth:`publish` (rename, folder synced); a pending file whose content the store holds already has
    nothing to move."""

    def __init__(self, store: LocalEvidenceStore, stored: StoredFile, temp: Path | None):
        self.store = store
        self.stored = stored
        self._temp = temp

    def publish(self) -> StoredFile:
        """Move the file into the store (rename, folder synced); ``OSError`` if that fails (it is then discarded)."""
        temp, self._temp = self._temp, None
        if temp is None:
            return self.stored
        final = self.store._path(self.stored.sha256)
        try:
            if final.is_file() and final.stat().st_size == self.stored.size:
                temp.unlink(missing_ok=True)  # stored meanwhile (the same content for another record)
                return self.stored
            if not final.parent.is_dir():
                final.parent.mkdir(exist_ok=True)
                _fsync_dir(final.parent.parent)
            os.replace(temp, final)
            temp = None
            _fsync_dir(final.parent)
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)
        return self.stored

    def discard(self) -> None:
        """Remove the temporary file: the content does not reach the store."""
        temp, self._temp = self._temp, None
        if temp is not None:
            temp.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"PendingFile({self.stored.filename!r}, {self.stored.sha256[:12]}…, pending={self._temp is not None})"


class LocalEvidenceStore:
    """Evidence files on disk, named by the SHA-256 of their content (``root/<sha256[:2]>/<sha256>``).

    A relative ``root`` is taken from the working directory when the store is made and kept as an
    absolute path, so the files it names stay the same for worker processes (which have a working
    directory of their own) and after a change of directory.
    """

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES, allowed: frozenset[str] = DEFAULT_ALLOWED):
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.root = Path(root).absolute()
        self.max_bytes = max_bytes
        self.allowed = frozenset(allowed)
        # created on the first write: reading (a packet, a check) never leaves an empty folder behind

    @property
    def location(self) -> str:
        """The absolute folder (which :func:`open_evidence_store` opens as ``local:`` + that folder)."""
        return str(self.root)

    # -- reading

    def get(self, sha256: str) -> Path:
        """Path of the stored file; ``FileNotFoundError`` if there is none."""
        path = self._path(sha256)
        if not path.is_file():
            raise FileNotFoundError(f"Beleg {_normalise(sha256)} ist nicht im Speicher")
        return path

    def open(self, sha256: str) -> BinaryIO:
        """The stored file opened for binary reading (the caller closes it)."""
        return self.get(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def size(self, sha256: str) -> int:
        return self.get(sha256).stat().st_size

    def verify(self, sha256: str) -> bool:
        """Re-hash the stored bytes: ``False`` if they no longer match their name."""
        key = _normalise(sha256)
        with self.open(key) as fh:
            return _hash_of(fh) == key

    def iterate(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/*"):
            if path.is_file() and _SHA256_RE.fullmatch(path.name) and path.parent.name == path.name[:2]:
                yield path.name

    def staging_area(self, procedure_id: str) -> LocalEvidenceStore:
        """``<root>-staging/<procedure id>``: beside the store (same filesystem; the store's own folder stays
        exactly the submitted evidence)."""
        folder = self.root.with_name(self.root.name + "-staging") / _plain_name(procedure_id)
        return LocalEvidenceStore(folder, self.max_bytes, self.allowed)

    # -- writing

    def put(self, source: Source, filename: str, expected_sha256: str | None = None) -> StoredFile:
        """Store ``source`` (see :meth:`EvidenceStore.put`)."""
        pending = self.stage(source, filename, expected_sha256)
        try:
            return pending.publish()
        finally:
            pending.discard()

    def stage(self, source: Source, filename: str, expected_sha256: str | None = None) -> LocalPendingFile:
        """Check ``source`` as :meth:`put` does and write it, fsynced, to a temporary file beside the store.

        The content is not in the store until :meth:`LocalPendingFile.publish` (after the database
        change that names it has committed); :meth:`LocalPendingFile.discard` drops it. Refusals are
        :class:`EvidenceRejected`, as with :meth:`put`, and leave nothing behind.
        """
        _expected_hash(expected_sha256, filename)  # refused before anything is written
        tmp_path: Path | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            fd, name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=self.root)
            tmp_path = Path(name)
            with os.fdopen(fd, "w+b") as tmp:
                stored = _receive(source, filename, expected_sha256, self.max_bytes, self.allowed, tmp)
                final = self._path(stored.sha256)
                # Same content already there: nothing to write. A stored file of the
                # wrong size is damaged and is replaced by this good copy.
                if final.is_file() and final.stat().st_size == stored.size:
                    return LocalPendingFile(self, stored, None)
                tmp.flush()
                os.fsync(tmp.fileno())  # the bytes are on the disk before the name says they are there
            pending = LocalPendingFile(self, stored, tmp_path)
            tmp_path = None
            return pending
        finally:
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)

    def delete(self, sha256: str) -> None:
        path = self._path(sha256)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when empty

    # -- internals

    def _path(self, sha256: str) -> Path:
        key = _normalise(sha256)
        return self.root / key[:2] / key

    def __repr__(self) -> str:
        return f"LocalEvidenceStore({str(self.root)!r})"


# ---------------------------------------------------------------- the in-memory twin (tests)


class _MemoryPending:
    def __init__(self, store: MemoryEvidenceStore, stored: StoredFile, content: bytes | None):
        self.store = store
        self.stored = stored
        self._content = content

    def publish(self) -> StoredFile:
        content, self._content = self._content, None
        if content is not None:
            with self.store._lock:
                self.store._files.setdefault(self.stored.sha256, content)
        return self.stored

    def discard(self) -> None:
        self._content = None

    def __repr__(self) -> str:
        return f"PendingFile({self.stored.filename!r}, {self.stored.sha256[:12]}…, pending={self._content is not None})"


class MemoryEvidenceStore:
    """The in-memory twin of :class:`LocalEvidenceStore`: the same checks, the files in a dict (one process).

    :meth:`named` gives the store of a name (``memory:NAME``), the same one on every call in this process.
    :meth:`get` writes a private temporary copy of the file (removed with the store) for what needs a path.
    """

    _registry: dict[str, MemoryEvidenceStore] = {}
    _registry_lock = threading.Lock()

    def __init__(self, name: str = "", max_bytes: int = DEFAULT_MAX_BYTES, allowed: frozenset[str] = DEFAULT_ALLOWED):
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.name = name
        self.max_bytes = max_bytes
        self.allowed = frozenset(allowed)
        self._files: dict[str, bytes] = {}
        self._areas: dict[str, MemoryEvidenceStore] = {}
        self._lock = threading.RLock()
        self._copies: Path | None = None

    @classmethod
    def named(cls, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
              allowed: frozenset[str] = DEFAULT_ALLOWED) -> MemoryEvidenceStore:
        """The store called ``name`` in this process (made on first use)."""
        with cls._registry_lock:
            store = cls._registry.get(name)
            if store is None:
                store = cls._registry[name] = cls(name, max_bytes, allowed)
            return store

    @classmethod
    def forget(cls, name: str) -> None:
        """Drop the named store (a test's clean-up)."""
        with cls._registry_lock:
            cls._registry.pop(name, None)

    @property
    def location(self) -> str:
        return f"memory:{self.name}"

    # -- reading

    def _content(self, sha256: str) -> bytes:
        key = _normalise(sha256)
        with self._lock:
            content = self._files.get(key)
        if content is None:
            raise FileNotFoundError(f"Beleg {key} ist nicht im Speicher")
        return content

    def exists(self, sha256: str) -> bool:
        with self._lock:
            return _normalise(sha256) in self._files

    def open(self, sha256: str) -> BinaryIO:
        return io.BytesIO(self._content(sha256))

    def size(self, sha256: str) -> int:
        return len(self._content(sha256))

    def get(self, sha256: str) -> Path:
        content, key = self._content(sha256), _normalise(sha256)
        with self._lock:
            if self._copies is None:
                self._copies = Path(tempfile.mkdtemp(prefix="certflow-memory-evidence-"))
                weakref.finalize(self, shutil.rmtree, self._copies, True)
            path = self._copies / key
            if not path.is_file() or path.stat().st_size != len(content):
                path.write_bytes(content)
            return path

    def verify(self, sha256: str) -> bool:
        key = _normalise(sha256)
        with self.open(key) as fh:
            return _hash_of(fh) == key

    def iterate(self) -> Iterator[str]:
        with self._lock:
            keys = list(self._files)
        yield from keys

    def staging_area(self, procedure_id: str) -> MemoryEvidenceStore:
        key = _plain_name(procedure_id)
        with self._lock:
            area = self._areas.get(key)
            if area is None:
                area = self._areas[key] = MemoryEvidenceStore(f"{self.name}-staging/{key}", self.max_bytes,
                                                               self.allowed)
            return area

    # -- writing

    def put(self, source: Source, filename: str, expected_sha256: str | None = None) -> StoredFile:
        return self.stage(source, filename, expected_sha256).publish()

    def stage(self, source: Source, filename: str, expected_sha256: str | None = None) -> _MemoryPending:
        sink = io.BytesIO()
        stored = _receive(source, filename, expected_sha256, self.max_bytes, self.allowed, sink)
        with self._lock:
            held = self._files.get(stored.sha256)
        if held is not None and len(held) == stored.size:
            return _MemoryPending(self, stored, None)
        return _MemoryPending(self, stored, sink.getvalue())

    def delete(self, sha256: str) -> None:
        with self._lock:
            self._files.pop(_normalise(sha256), None)

    def __repr__(self) -> str:
        return f"MemoryEvidenceStore({self.name!r}, {len(self._files)} Dateien)"


def _normalise(sha256: str) -> str:
    key = sha256.strip().lower() if isinstance(sha256, str) else ""
    if not _SHA256_RE.fullmatch(key):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return key


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    fd = os.open(directory, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
