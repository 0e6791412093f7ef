"""Evidence files uploaded for a draft: kept in a staging area until the submission commits.

A Kita lead uploads evidence while the self-assessment is still a draft. Those files are not the
evidence store's yet: the store holds only what a submitted revision names. Until then a file
waits here, in a folder of the procedure, under the SHA-256 of its content, after the same checks
the store makes (:class:`~certflow.evidence_store.EvidenceStore`: read in chunks and refused as
soon as it passes the size limit, never read into memory whole; type from the content, against
the allow-list; empty files refused; written to a temporary file, fsynced, renamed).

After the submission's commit :meth:`EvidenceStaging.promote` copies the files it names into the
store (checked against their hash on the way) and then :meth:`EvidenceStaging.clear` empties the
procedure's folder. When the submission fails, nothing reaches the store: the files stay staged,
named by the draft, for the next attempt.

Layout: ``<store root>-staging/<procedure id>/<sha256[:2]>/<sha256>``, beside the store (same
filesystem, and the store's own folder stays exactly the submitted evidence). Procedure ids are
used as folder names only when they are plain (letters, digits, ``.``, ``_``, ``-``; no ``..``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .evidence_store import HEAD_SIZE, EvidenceRejected, EvidenceStore, StoredFile, detect_media_type

__all__ = ["EvidenceStaging", "Promotion", "StagedFile"]

_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A file staged for a procedure: what the store would keep, and whether this upload brought it."""

    stored: StoredFile
    new: bool  # False: the procedure had the same content staged already


@dataclass(frozen=True, slots=True)
class Promotion:
    """What :meth:`EvidenceStaging.promote` did: files now in the store; ``(sha256, German reason)`` of those
    it could not move (they stay staged)."""

    moved: tuple[StoredFile, ...] = ()
    failed: tuple[tuple[str, str], ...] = field(default=())


class EvidenceStaging:
    """The staging area of one evidence store: per procedure, content-addressed, with the store's checks."""

    def __init__(self, root: Path, max_bytes: int, allowed: frozenset[str]):
        self.root = Path(root).absolute()
        self.max_bytes = max_bytes
        self.allowed = frozenset(allowed)

    @classmethod
    def beside(cls, store: EvidenceStore) -> EvidenceStaging:
        """The staging area of ``store``: ``<store root>-staging``, with the store's size limit and allow-list."""
        return cls(store.root.with_name(store.root.name + "-staging"), store.max_bytes, store.allowed)

    # -- one procedure's folder

    def _folder(self, procedure_id: str) -> Path:
        if not isinstance(procedure_id, str) or not _PLAIN_ID.fullmatch(procedure_id) or ".." in procedure_id:
            raise ValueError(f"procedure id not usable as a folder name: {procedure_id!r}")
        return self.root / procedure_id

    def _store(self, procedure_id: str) -> EvidenceStore:
        return EvidenceStore(self._folder(procedure_id), self.max_bytes, self.allowed)

    def path(self, procedure_id: str, sha256: str) -> Path:
        """Where the staged file with ``sha256`` is (or would be)."""
        key = sha256.strip().lower() if isinstance(sha256, str) else ""
        if not _SHA256.fullmatch(key):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self._folder(procedure_id) / key[:2] / key

    def has(self, procedure_id: str, sha256: str) -> bool:
        return self.path(procedure_id, sha256).is_file()

    def staged(self, procedure_id: str) -> frozenset[str]:
        """The SHA-256 of every file staged for the procedure."""
        folder = self._folder(procedure_id)
        if not folder.is_dir():
            return frozenset()
        return frozenset(p.name for p in folder.glob("??/*") if p.is_file() and _SHA256.fullmatch(p.name))

    # -- writing

    def stage(self, procedure_id: str, source: BinaryIO | bytes | Path, filename: str) -> StagedFile:
        """Check and keep ``source`` for the procedure; :class:`EvidenceRejected` (German) when it is refused.

        Read in chunks, refused as soon as it passes the size limit (nothing half-written stays).
        """
        folder = self._folder(procedure_id)
        before = self.staged(procedure_id)
        try:
            stored = self._store(procedure_id).put(source, filename)
        finally:
            _remove_empty(folder, stop=self.root)
        return StagedFile(stored, new=stored.sha256 not in before)

    def discard(self, procedure_id: str, sha256: str) -> None:
        """Remove one staged file (an upload whose draft could not be saved)."""
        path = self.path(procedure_id, sha256)
        path.unlink(missing_ok=True)
        _remove_empty(path.parent, stop=self.root)

    def clear(self, procedure_id: str, keep: Iterable[str] = ()) -> None:
        """Remove the procedure's staged files except those in ``keep`` (SHA-256), and the empty folders."""
        kept = {k.lower() for k in keep}
        folder = self._folder(procedure_id)
        if not folder.is_dir():
            return
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)
            return
        for path in folder.glob("??/*"):
            if path.name not in kept:
                path.unlink(missing_ok=True)
        for sub in folder.glob("*"):
            if sub.is_dir():
                _remove_empty(sub, stop=folder)
            elif sub.name.startswith(".upload-"):
                sub.unlink(missing_ok=True)  # a temporary file an interrupted upload left
        _remove_empty(folder, stop=self.root)

    def promote(self, procedure_id: str, files: Iterable[tuple[str, str]], store: EvidenceStore) -> Promotion:
        """Copy the staged files ``(sha256, filename)`` into ``store`` (hash checked), for a committed submission.

        A file the store holds already is not copied again; one that cannot be copied stays staged and
        is named in :attr:`Promotion.failed`. Staged files are not removed here (see :meth:`clear`).
        """
        moved: list[StoredFile] = []
        failed: list[tuple[str, str]] = []
        seen: set[str] = set()
        for sha256, filename in files:
            if sha256 in seen:
                continue
            seen.add(sha256)
            if store.exists(sha256):
                continue
            path = self.path(procedure_id, sha256)
            try:
                moved.append(store.put(path, filename, expected_sha256=sha256))
            except EvidenceRejected as exc:
                failed.append((sha256, exc.reason))
            except OSError as exc:
                failed.append((sha256, f"{filename}: {exc.strerror or exc}"))
        return Promotion(tuple(moved), tuple(failed))

    def describe(self, procedure_id: str, sha256: str, filename: str) -> StoredFile:
        """The size and type of a staged file (for the audit trail of the submission)."""
        path = self.path(procedure_id, sha256)
        with path.open("rb") as fh:
            head = fh.read(HEAD_SIZE)
            fh.seek(0)
            media_type = detect_media_type(head, fh) or "application/octet-stream"
        return StoredFile(sha256=sha256, size=path.stat().st_size, media_type=media_type, filename=filename)


def _remove_empty(folder: Path, *, stop: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``stop`` while they are empty."""
    current = folder
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent
