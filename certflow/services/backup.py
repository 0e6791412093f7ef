"""Backup and restore: the database and the evidence store together, with a manifest of hashes.

A backup is a folder (or the same as one ``.tar`` file)::

    manifest.json                  format, time, database revision and head of the audit trail,
                                   rows per table, and the SHA-256 and size of every other file
    database/<table>.jsonl         every table's rows (:mod:`certflow.db.dump`: one snapshot)
    evidence/<aa>/<sha256>         the evidence store's files, as the store keeps them
    evidence-staging/...           files uploaded for drafts (beside the store), if any

Consistent: the database is read in one snapshot first; the evidence store only ever gains files
(content-addressed, never changed), so copying it afterwards holds every file the snapshot names
that the store held. A file the snapshot names but the store does not hold (a submission whose
files were not yet moved into the store) is waited for a moment, then listed in the manifest as
missing and reported: the packets of the restored data show it as missing, as the live ones did.

:func:`restore` refuses unless the database is empty (not set up, or set up without data) and the
evidence folder is empty or missing; it checks every file against the manifest before anything
is written, copies the evidence, loads the database in one transaction (the guard triggers stay
in place; see :mod:`certflow.db.dump`), and then checks the audit trail as ``audit verify`` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runner import ErrorKind, UseCaseError, first_line

if TYPE_CHECKING:
    from ..db.audit_log import VerifyResult
    from .runner import Application

__all__ = ["FORMAT", "MANIFEST", "BackupResult", "RestoreResult", "backup", "restore"]

FORMAT = "certflow-backup/1"
MANIFEST = "manifest.json"
DATABASE = "database"
EVIDENCE = "evidence"
STAGING = "evidence-staging"
CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_WAIT_FOR_EVIDENCE_S = 2.0


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    manifest_sha256: str
    rows: dict[str, int]
    evidence_files: int
    head_seq: int
    missing_evidence: tuple[str, ...] = ()
    damaged_evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RestoreResult:
    source: Path
    rows: dict[str, int]
    evidence_files: int
    check: VerifyResult
    missing_evidence: tuple[str, ...] = field(default=())


def _input(message: str) -> UseCaseError:
    return UseCaseError(ErrorKind.INPUT, message)


def _copy(source: Path, target: Path) -> tuple[str, int]:
    """Copy ``source`` to ``target`` (folders made, fsynced); the SHA-256 and size of what was copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as reader, target.open("wb") as writer:
        for chunk in iter(lambda: reader.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest(), size


def _hash(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as reader:
        for chunk in iter(lambda: reader.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _stored_files(root: Path) -> list[tuple[str, Path]]:
    """The evidence store's files (``<aa>/<sha256>``, the layout of :mod:`certflow.evidence_store`), by hash."""
    if not root.is_dir():
        return []
    return sorted((path.name, path) for path in root.glob("??/*")
                  if path.is_file() and _SHA256.fullmatch(path.name) and path.parent.name == path.name[:2])


def _staged_files(root: Path) -> list[Path]:
    """Every file in the staging folder beside the store (temporary ones, named with a leading dot, left out)."""
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*") if path.is_file()
                  and not any(part.startswith(".") for part in path.relative_to(root).parts))


def _named_evidence(database: Path) -> set[str]:
    """The SHA-256 of every evidence file a self-assessment revision in the dump names."""
    from ..db.dump import table_file

    named: set[str] = set()
    path = database / table_file("assessment_revision")
    if not path.exists():
        return named
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                evidence = json.loads(json.loads(line)["canonical_json"]).get("evidence") or []
            except (ValueError, KeyError, AttributeError):
                continue
            named.update(e["sha256"] for e in evidence if isinstance(e, dict) and isinstance(e.get("sha256"), str))
    return named


def _copy_evidence(store: Path, folder: Path, only: set[str] | None = None) -> tuple[set[str], list[str]]:
    """Copy the store's files (or ``only`` those) into ``folder``; the hashes copied and those damaged."""
    copied, damaged = set(), []
    for name, path in _stored_files(store):
        if only is not None and name not in only:
            continue
        digest, _size = _copy(path, folder / name[:2] / name)
        copied.add(name)
        if digest != name:
            damaged.append(name)
    return copied, damaged


def _check_output(output: Path) -> bool:
    """Whether ``output`` is a tar file to write (else a folder); bad input if it cannot be written."""
    as_tar = output.suffix == ".tar"
    if not output.parent.is_dir():
        raise _input(f"Fehler: {output.parent}: den Ordner gibt es nicht")
    if as_tar and output.exists():
        raise _input(f"Fehler: {output} gibt es schon; eine Sicherung überschreibt nichts")
    if not as_tar and output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise _input(f"Fehler: {output} ist kein leerer Ordner; eine Sicherung überschreibt nichts")
    return as_tar


def _manifest(folder: Path, facts: dict[str, Any]) -> str:
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest, size = _hash(path)
        files[path.relative_to(folder).as_posix()] = {"sha256": digest, "size": size}
    text = json.dumps({"format": FORMAT, **facts, "files": files}, indent=2, ensure_ascii=False, sort_keys=True)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")
    return hashlib.sha256((text + "\n").encode("utf-8")).hexdigest()


def _write_tar(folder: Path, output: Path) -> None:
    temporary = output.with_name(f".{output.name}.part")
    try:
        with tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT) as archive:
            for path in sorted(folder.rglob("*")):
                archive.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def backup(app: Application, output: Path, *, evidence_dir: Path | None = None) -> BackupResult:
    """Write a backup of the database and the evidence store (``evidence_dir``, else the settings') to
    ``output``: a folder (that does not exist or is empty), or a ``.tar`` file (that does not exist)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..db.dump import dump_database

    output = Path(output)
    as_tar = _check_output(output)
    store = Path(evidence_dir if evidence_dir is not None else app.settings.evidence_dir)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        try:
            dumped = dump_database(app.engine, work / DATABASE)
        except SQLAlchemyError as exc:
            raise UseCaseError(ErrorKind.DATABASE, f"Datenbankfehler beim Sichern: {first_line(exc)}") from None
        copied, damaged = _copy_evidence(store, work / EVIDENCE)
        missing = _named_evidence(work / DATABASE) - copied
        if missing:  # committed, but not yet moved into the store: give it a moment
            time.sleep(_WAIT_FOR_EVIDENCE_S)
            late, late_damaged = _copy_evidence(store, work / EVIDENCE, only=missing)
            copied |= late
            damaged += late_damaged
            missing -= late
        staged = Path(f"{store}-staging")
        for path in _staged_files(staged):
            _copy(path, work / STAGING / path.relative_to(staged))
        facts = {
            "created_at": app.now().astimezone(UTC).isoformat(timespec="seconds"),
            "database": {"dialect": dumped.dialect, "revision": dumped.revision, "rows": dumped.rows,
                         "audit_head": {"seq": dumped.head_seq, "hash": dumped.head_hash}},
            "evidence": {"files": len(copied), "missing": sorted(missing), "damaged": sorted(damaged)},
        }
        digest = _manifest(work, facts)
        if as_tar:
            _write_tar(work, output)
        else:
            if output.exists():
                output.rmdir()
            os.replace(work, output)
    except OSError as exc:
        raise _input(f"Fehler: Sicherung nach {output} nicht möglich: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(output, digest, dumped.rows, len(copied), dumped.head_seq, tuple(sorted(missing)),
                        tuple(sorted(damaged)))


# --- restore -------------------------------------------------------------------------------------------------------


def _read_manifest(folder: Path, shown: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except OSError:
        raise _input(f"Fehler: {shown}: keine certflow-Sicherung ({MANIFEST} fehlt)") from None
    except (UnicodeDecodeError, ValueError):
        raise _input(f"Fehler: {shown}: {MANIFEST} ist kein JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or not isinstance(manifest.get("files"), dict):
        raise _input(f"Fehler: {shown}: keine certflow-Sicherung (erwartet format: {FORMAT})")
    return manifest


def _check_files(folder: Path, manifest: dict[str, Any], shown: Path) -> None:
    """Every file of the manifest is there with its hash and size, and there is no other."""
    listed = manifest["files"]
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    for name in sorted(present - listed.keys()):
        raise _input(f"Fehler: Sicherung {shown} beschädigt: {name} steht nicht im Manifest")
    for name, expected in sorted(listed.items()):
        path = folder / name
        if name not in present:
            raise _input(f"Fehler: Sicherung {shown} beschädigt: {name} fehlt")
        if not isinstance(expected, dict) or _hash(path) != (expected.get("sha256"), expected.get("size")):
            raise _input(f"Fehler: Sicherung {shown} beschädigt: {name}: Prüfsumme stimmt nicht mit dem Manifest "
                         "überein")


def _unpack(source: Path, into: Path) -> Path:
    """Extract the archive ``source`` into ``into``: regular files and folders inside it only."""
    try:
        with tarfile.open(source, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                parts = Path(member.name).parts
                if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in parts:
                    raise _input(f"Fehler: {source}: keine certflow-Sicherung (unerwarteter Eintrag {member.name})")
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later: refuse what a data archive cannot hold
                archive.extractall(into, members=members, filter="data")
            else:
                archive.extractall(into, members=members)
    except (OSError, tarfile.TarError) as exc:
        raise _input(f"Fehler: {source}: kein lesbares tar-Archiv ({exc})") from None
    return into


def _empty_folder(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def restore(app: Application, source: Path, evidence_dir: Path) -> RestoreResult:
    """Restore the backup ``source`` (folder or ``.tar``) into ``app``'s database and ``evidence_dir``, both
    empty; then check the audit trail (chain and replayed states) of what was restored."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..db.dump import emptiness, load_database

    source, evidence_dir = Path(source), Path(evidence_dir)
    if not source.exists():
        raise _input(f"Fehler: {source}: gibt es nicht")
    staging = Path(f"{evidence_dir}-staging")
    with tempfile.TemporaryDirectory(prefix=".certflow-restore-") as scratch:
        folder = source if source.is_dir() else _unpack(source, Path(scratch))
        manifest = _read_manifest(folder, source)
        _check_files(folder, manifest, source)
        database = manifest.get("database") or {}
        staged_files = sorted(p for p in (folder / STAGING).rglob("*") if p.is_file()) \
            if (folder / STAGING).is_dir() else []

        if not _empty_folder(evidence_dir):
            raise UseCaseError(ErrorKind.REFUSED, f"Zurückspielen nur in einen leeren Belegspeicher: {evidence_dir} "
                                                  "enthält schon Dateien")
        if staged_files and not _empty_folder(staging):
            raise UseCaseError(ErrorKind.REFUSED, f"Zurückspielen nur in einen leeren Belegspeicher: {staging} "
                                                  "enthält schon Dateien")
        engine = app.unchecked_engine
        try:
            reason = emptiness(engine)
        except SQLAlchemyError as exc:
            raise UseCaseError(ErrorKind.DATABASE, f"Datenbank nicht erreichbar: {first_line(exc)}") from None
        if reason is not None:
            raise UseCaseError(ErrorKind.REFUSED, f"Zurückspielen nur in eine leere Datenbank: {reason}")

        made = [path for path in (evidence_dir, staging) if not path.exists()]
        files = 0
        try:
            for path in sorted((folder / EVIDENCE).rglob("*")) if (folder / EVIDENCE).is_dir() else []:
                if path.is_file():
                    _copy(path, evidence_dir / path.relative_to(folder / EVIDENCE))
                    files += 1
            for path in staged_files:
                _copy(path, staging / path.relative_to(folder / STAGING))
            rows = load_database(engine, folder / DATABASE, database.get("revision"))
        except (OSError, ValueError, SQLAlchemyError) as exc:
            for path in (evidence_dir, staging):  # only what this restore filled: both were empty
                if path.exists():
                    shutil.rmtree(path) if path in made else _clear(path)
            if isinstance(exc, SQLAlchemyError):
                raise UseCaseError(ErrorKind.DATABASE, f"Datenbankfehler beim Zurückspielen: {first_line(exc)}"
                                   ) from None
            if isinstance(exc, ValueError):
                raise _input(f"Fehler: {exc}") from None
            raise _input(f"Fehler: Zurückspielen nicht möglich: {exc.strerror or exc}") from None
    check = app.run(lambda uow: uow.audit_log.verify(replay=True))
    head = database.get("audit_head") or {}
    if check.head is not None and (check.head.seq, check.head.hash) != (head.get("seq"), head.get("hash")):
        check = replace(check, ok=False, anchor_problem=f"Das Prüfprotokoll endet bei Eintrag {check.head.seq}, das "
                                                        f"Manifest nennt Eintrag {head.get('seq')}")
    missing = tuple((manifest.get("evidence") or {}).get("missing") or ())
    return RestoreResult(source, rows, files, check, missing)


def _clear(folder: Path) -> None:
    for child in folder.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
