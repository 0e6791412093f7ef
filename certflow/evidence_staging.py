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

Each procedure's files wait in a store of their own, of the same kind as the evidence store
(:meth:`~certflow.evidence_store.EvidenceStore.staging_area`, through the seam): for the local
folder ``<store root>-staging/<procedure id>/<sha256[:2]>/<sha256>``, beside the store (same
filesystem, and the store's own folder stays exactly the submitted evidence); for the in-memory
twin another dict. Procedure ids are used as names only when they are plain (letters, digits,
``.``, ``_``, ``-``; no ``..``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .evidence_store import (
    HEAD_SIZE, EvidenceRejected, EvidenceStore, LocalEvidenceStore, StoredFile, detect_media_type,
)

__all__ = ["EvidenceStaging", "Promotion", "StagedFile"]

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

    def __init__(self, store: EvidenceStore):
        self.store = store
        self.max_bytes = store.max_bytes
        self.allowed = frozenset(store.allowed)
        #: the staging folder of a local store (``<store root>-staging``); ``None`` for another kind
        self.root: Path | None = (store.root.with_name(store.root.name + "-staging")
                                  if isinstance(store, LocalEvidenceStore) else None)

    @classmethod
    def beside(cls, store: EvidenceStore) -> EvidenceStaging:
        """The staging area of ``store``, with the store's size limit and allow-list."""
        return cls(store)

    # -- one procedure's files

    def _store(self, procedure_id: str) -> EvidenceStore:
        return self.store.staging_area(procedure_id)  # ValueError for an id that is not plain

    def path(self, procedure_id: str, sha256: str) -> Path:
        """A file on this machine with the staged content (``FileNotFoundError`` if it is not staged)."""
        return self._store(procedure_id).get(_key(sha256))

    def open(self, procedure_id: str, sha256: str) -> BinaryIO:
        return self._store(procedure_id).open(_key(sha256))

    def has(self, procedure_id: str, sha256: str) -> bool:
        return self._store(procedure_id).exists(_key(sha256))

    def staged(self, procedure_id: str) -> frozenset[str]:
        """The SHA-256 of every file staged for the procedure."""
        return frozenset(self._store(procedure_id).iterate())

    # -- writing

    def stage(self, procedure_id: str, source: BinaryIO | bytes | Path, filename: str) -> StagedFile:
        """Check and keep ``source`` for the procedure; :class:`EvidenceRejected` (German) when it is refused.

        Read in chunks, refused as soon as it passes the size limit (nothing half-written stays).
        """
        area = self._store(procedure_id)
        before = frozenset(area.iterate())
        try:
            stored = area.put(source, filename)
        finally:
            self._tidy(area)
        return StagedFile(stored, new=stored.sha256 not in before)

    def discard(self, procedure_id: str, sha256: str) -> None:
        """Remove one staged file (an upload whose draft could not be saved)."""
        area = self._store(procedure_id)
        area.delete(_key(sha256))
        self._tidy(area)

    def clear(self, procedure_id: str, keep: Iterable[str] = ()) -> None:
        """Remove the procedure's staged files except those in ``keep`` (SHA-256), and the empty folders."""
        kept = {k.lower() for k in keep}
        area = self._store(procedure_id)
        if isinstance(area, LocalEvidenceStore):
            if not area.root.is_dir():
                return
            if not kept:
                shutil.rmtree(area.root, ignore_errors=True)
                return
        for sha256 in list(area.iterate()):
            if sha256 not in kept:
                area.delete(sha256)
        if isinstance(area, LocalEvidenceStore):
            for sub in area.root.glob("*"):
                if sub.name.startswith(".upload-") and sub.is_file():
                    sub.unlink(missing_ok=True)  # a temporary file an interrupted upload left
        self._tidy(area)

    def promote(self, procedure_id: str, files: Iterable[tuple[str, str]], store: EvidenceStore) -> Promotion:
        """Copy the staged files ``(sha256, filename)`` into ``store`` (hash checked), for a committed submission.

        A file the store holds already is not copied again; one that cannot be copied stays staged and
        is named in :attr:`Promotion.failed`. Staged files are not removed here (see :meth:`clear`).
        """
        area = self._store(procedure_id)
        moved: list[StoredFile] = []
        failed: list[tuple[str, str]] = []
        seen: set[str] = set()
        for sha256, filename in files:
            if sha256 in seen:
                continue
            seen.add(sha256)
            if store.exists(sha256):
                continue
            try:
                with area.open(_key(sha256)) as content:
                    moved.append(store.put(content, filename, expected_sha256=sha256))
            except EvidenceRejected as exc:
                failed.append((sha256, exc.reason))
            except OSError as exc:
                failed.append((sha256, f"{filename}: {exc.strerror or exc}"))
        return Promotion(tuple(moved), tuple(failed))

    def describe(self, procedure_id: str, sha256: str, filename: str) -> StoredFile:
        """The size and type of a staged file (for the audit trail of the submission)."""
        area = self._store(procedure_id)
        with area.open(_key(sha256)) as fh:
            head = fh.read(HEAD_SIZE)
            fh.seek(0)
            media_type = detect_media_type(head, fh) or "application/octet-stream"
        return StoredFile(sha256=sha256, size=area.size(sha256), media_type=media_type, filename=filename)

    def _tidy(self, area: EvidenceStore) -> None:
        """No empty folders left behind (a local store's)."""
        if isinstance(area, LocalEvidenceStore) and self.root is not None:
            _remove_empty(area.root, stop=self.root)
            for sub in area.root.glob("*") if area.root.is_dir() else ():
                if sub.is_dir():
                    _remove_empty(sub, stop=area.root)
            _remove_empty(area.root, stop=self.root)


def _key(sha256: str) -> str:
    key = sha256.strip().lower() if isinstance(sha256, str) else ""
    if not _SHA256.fullmatch(key):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return key


def _remove_empty(folder: Path, *, stop: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``stop`` while they are empty."""
    current = folder
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent
