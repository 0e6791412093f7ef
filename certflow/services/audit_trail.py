"""Checking the audit trail and anchoring it outside the database: the use cases behind ``certflow audit``.

* :func:`check_audit_trail` (``audit verify``): recompute the hash chain, check it against an anchor
  if one is given (:mod:`.anchor`: rewritten or cut before the anchor's entry), and replay the
  trail's state changes against the procedure and certificate tables
  (:mod:`certflow.db.audit_replay`: a state changed past the trail) -- all in one snapshot;
* :func:`anchor_audit_trail` (``audit anchor``): check the same, then write a signed checkpoint of
  the chain's last entry to a file that is kept elsewhere.

Both only read the database. Failures leave as :class:`~.runner.UseCaseError`: an anchor file or
key that cannot be used is bad input, a trail that fails a check refuses the anchor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .anchor import Anchor, AnchorError, key_for_checking, key_for_writing, read_anchor, write_anchor_file
from .runner import ErrorKind, UseCaseError

if TYPE_CHECKING:
    from ..db.audit_log import VerifyResult
    from .runner import Application

__all__ = ["AnchorWritten", "AuditCheck", "anchor_audit_trail", "check_audit_trail", "failures"]


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """What ``audit verify`` found (``result``), and the anchor it checked against, if any."""

    result: VerifyResult
    anchor: Anchor | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok


@dataclass(frozen=True, slots=True)
class AnchorWritten:
    """The anchor written, where, and with which key (``new_key``: a key file was made for it)."""

    anchor: Anchor
    path: Path
    key: str
    new_key: Path | None = None


def failures(result: VerifyResult) -> list[str]:
    """Each failed check as one German line that names the check."""
    lines = []
    if result.problem:
        lines.append(f"Hash-Kette beschädigt ab Eintrag {result.first_broken}: {result.problem} "
                     f"({result.checked} Einträge davor sind in Ordnung)")
    if result.anchor_problem:
        lines.append(f"Abgleich mit dem Anker fehlgeschlagen: {result.anchor_problem}")
    for mismatch in result.mismatches:
        lines.append(f"Zustand weicht vom Prüfprotokoll ab: {mismatch}")
    return lines


def _input(exc: AnchorError) -> UseCaseError:
    return UseCaseError(ErrorKind.INPUT, f"Fehler: {exc.message}")


def check_audit_trail(app: Application, *, anchor_file: Path | None = None,
                      key_file: Path | None = None) -> AuditCheck:
    """Check the chain, the anchor in ``anchor_file`` (signature with the configured key or ``key_file``,
    then its entry in the chain) and the replayed states; read only, one snapshot."""
    from ..db.audit_log import Checkpoint

    anchor, signature_problem = None, None
    if anchor_file is not None:
        try:
            anchor = read_anchor(anchor_file)
            signature_problem = key_for_checking(anchor, app.settings.signing, key_file).check(anchor)
        except AnchorError as exc:
            raise _input(exc) from None
    point = Checkpoint(anchor.seq, anchor.hash) if anchor is not None and signature_problem is None else None
    result = app.run(lambda uow: uow.audit_log.verify(anchor=point, replay=True))
    if signature_problem is not None:
        result = replace(result, ok=False, anchor_problem=f"{signature_problem}; der Anker wurde nicht verwendet")
    return AuditCheck(result, anchor)


def anchor_audit_trail(app: Application, output: Path, *, key_file: Path | None = None) -> AnchorWritten:
    """Write a signed checkpoint of the chain's last entry to ``output``, if the trail passes every check
    (an anchor vouches for what it anchors); refused otherwise, naming what failed."""
    try:
        key = key_for_writing(app.settings.signing, key_file)
    except AnchorError as exc:
        raise _input(exc) from None
    result = app.run(lambda uow: uow.audit_log.verify(replay=True))
    if not result.ok or result.head is None:
        raise UseCaseError(ErrorKind.REFUSED, "Kein Anker geschrieben: " + "; ".join(failures(result)))
    anchor = key.sign(Anchor(seq=result.head.seq, hash=result.head.hash, written_at=app.now(), method=key.method,
                             key_id=key.key_id))
    try:
        write_anchor_file(anchor, output)
    except AnchorError as exc:
        raise _input(exc) from None
    return AnchorWritten(anchor, Path(output), key.description, key.path if key.created else None)
