"""The one atomic writer for output files (certflow.output.write_atomically) and the commands that use it.

All or nothing: the bytes go to a ``.part`` beside the target, are synced, then renamed over it. Any
failure (no such folder, ``/proc``, a folder or a device as the target, a full disk in the middle of
writing) removes the ``.part``, leaves the target as it was and says in German which file and why;
the commands print it and exit 2.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from db_support import db_url, engine, postgres_admin  # noqa: F401
from test_services_world import db_world  # noqa: F401

from certflow import services
from certflow.cli import cli
from certflow.lifecycle import Jugendamt, Role, User
from certflow.output import OutputError, write_atomically
from certflow.packet import PacketError, write_pdf
from certflow.services.rendering import render_certificate
from certflow.services.runner import Application, ErrorKind, UseCaseError
from certflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_writes_bytes_and_text_and_replaces_a_file_keeping_its_permissions(tmp_path):
    target = tmp_path / "feed.ics"
    assert write_atomically(target, b"erste Fassung") == target
    os.chmod(target, 0o640)
    write_atomically(target, "zweite Fassung: äöü")
    assert target.read_text(encoding="utf-8") == "zweite Fassung: äöü"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and leftovers(tmp_path) == []


def test_the_file_is_synced_before_it_is_renamed(tmp_path, monkeypatch):
    from certflow import output

    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(output.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(output.os, "replace", lambda a, b: (calls.append(("replace", Path(b).name)),
                                                            real_replace(a, b))[1])
    write_atomically(tmp_path / "x.pdf", b"%PDF")
    assert calls[0] == "fsync" and calls[1] == ("replace", "x.pdf")


def test_a_missing_folder_is_named_and_not_created(tmp_path):
    with pytest.raises(OutputError) as failed:
        write_atomically(tmp_path / "fehlt" / "x.ics", b"x")
    assert str(failed.value) == f"{tmp_path / 'fehlt' / 'x.ics'}: nicht geschrieben (Ordner {tmp_path / 'fehlt'} " \
                                "gibt es nicht)"
    assert not (tmp_path / "fehlt").exists()


@pytest.mark.parametrize(("target", "reason"), [
    ("/proc/version", "in /proc lassen sich keine Dateien anlegen"),
    ("/dev/null", "das Ziel ist keine gewöhnliche Datei"),
    ("/", "das Ziel ist ein Ordner"),
    ("/etc/hostname/x", "/etc/hostname ist kein Ordner"),
])
def test_places_that_are_no_file_are_refused(target, reason):
    if not Path(target).parent.exists():
        pytest.skip(f"{Path(target).parent} gibt es hier nicht")
    before = os.stat("/dev/null")
    with pytest.raises(OutputError, match=reason):
        write_atomically(target, b"x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and os.stat("/dev/null").st_ino == before.st_ino


def test_a_full_disk_in_the_middle_leaves_the_old_file_and_no_part(tmp_path, monkeypatch):
    from certflow import output

    target = tmp_path / "paket.pdf"
    target.write_bytes(b"die alte Fassung")
    written = []

    def disk_full_after_a_while(fd, data):
        if sum(written) >= 3 * 1024 * 1024:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = os.write(fd, data)
        written.append(n)
        return n

    monkeypatch.setattr(output, "_write_chunk", disk_full_after_a_while)
    with pytest.raises(OutputError, match="kein Platz mehr auf dem Datenträger") as failed:
        write_atomically(target, os.urandom(8 * 1024 * 1024))
    assert failed.value.errno == errno.ENOSPC and sum(written) == 3 * 1024 * 1024  # it did fail mid-write
    assert target.read_bytes() == b"die alte Fassung" and leftovers(tmp_path) == []


def test_a_failing_rename_leaves_no_part(tmp_path, monkeypatch):
    from certflow import output

    def refused(a, b):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(output.os, "replace", refused)
    with pytest.raises(OutputError, match="keine Schreibberechtigung"):
        write_atomically(tmp_path / "x.yaml", "a: 1\n")
    assert leftovers(tmp_path) == [] and not (tmp_path / "x.yaml").exists()


def test_write_pdf_says_why_in_a_packet_error(tmp_path, monkeypatch):
    from certflow import output

    with pytest.raises(PacketError, match=r"x\.pdf: nicht geschrieben \(Ordner .* gibt es nicht\)"):
        write_pdf(tmp_path / "fehlt" / "x.pdf", b"%PDF-1.7")
    monkeypatch.setattr(output, "_write_chunk", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "voll")))
    with pytest.raises(PacketError, match="kein Platz mehr"):
        write_pdf(tmp_path / "x.pdf", b"%PDF-1.7")
    assert list(tmp_path.iterdir()) == []


def test_write_pdf_writes_the_file_and_its_hash(tmp_path):
    result = write_pdf(tmp_path / "y.pdf", b"%PDF-1.7 kurz", pages=1)
    assert (tmp_path / "y.pdf").read_bytes() == b"%PDF-1.7 kurz" and result.pages == 1
    assert result.sha256 == result.file_sha256 and leftovers(tmp_path) == []


# --- the commands ------------------------------------------------------------------------------------------------


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    return result


@pytest.mark.parametrize("target", ["/nonexistent/neu.yaml", "/proc/version"])
def test_assessment_migrate_into_a_place_it_cannot_write_is_exit_2(target):
    result = invoke("assessment", "migrate", ROOT / "examples" / "assessment-pass.yaml",
                    "--to", ROOT / "criteria" / "familienzentrum-nrw-2020.yaml", "-o", target)
    assert result.exit_code == 2 and f"Fehler: {target}: nicht geschrieben (" in result.output


def test_assessment_migrate_writes_the_file(tmp_path):
    result = invoke("assessment", "migrate", ROOT / "examples" / "assessment-pass.yaml",
                    "--to", ROOT / "criteria" / "familienzentrum-nrw-2020.yaml", "-o", tmp_path / "neu.yaml")
    assert result.exit_code == 0 and (tmp_path / "neu.yaml").read_text(encoding="utf-8").startswith("catalogue:")
    assert leftovers(tmp_path) == []


@pytest.fixture
def admin_db(engine, db_url):  # noqa: F811
    """A migrated database with the administrator (for ``certflow --local-admin``) and one Jugendamt."""
    app = Application(Settings(database_url=db_url), engine=engine, after_commit=(), check_schema=False)
    app.run(lambda uow: services.add_user(uow, "admin", User("admin", "Ada Admin", Role.ADMIN), "Einrichtung"))
    app.run(lambda uow: services.add_jugendamt(uow, "admin", Jugendamt("ja-a", "Jugendamt A"), "Einrichtung"))
    return db_url


@pytest.mark.parametrize("target", ["/nonexistent/x.ics", "/proc/version", "/dev/null"])
def test_calendar_into_a_place_it_cannot_write_is_exit_2(admin_db, target):
    result = invoke("--local-admin", "calendar", "--jugendamt", "ja-a", "-o", target, "--db", admin_db)
    assert result.exit_code == 2 and f"Fehler: {target}: nicht geschrieben (" in result.output


def test_calendar_writes_the_feed(admin_db, tmp_path):
    result = invoke("--local-admin", "calendar", "--jugendamt", "ja-a", "-o", tmp_path / "ja.ics", "--db", admin_db)
    assert result.exit_code == 0 and (tmp_path / "ja.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert leftovers(tmp_path) == []


def test_a_document_that_cannot_be_written_is_bad_input_and_leaves_nothing(db_world, tmp_path):  # noqa: F811
    """The Urkunde rendered (in a worker) and written where it cannot go: exit-2 kind, German, nothing behind."""
    db_world.certify()
    number = db_world.read(lambda uow: uow.certificates.of_familienzentrum("fz-1")[0].number)
    for target in (Path("/proc/version"), tmp_path / "fehlt" / "urkunde.pdf"):
        with pytest.raises(UseCaseError) as failed:
            render_certificate(db_world.app, "cert-1", number, target)
        assert failed.value.kind is ErrorKind.INPUT and f"{target}: nicht geschrieben (" in failed.value.message
    assert not (tmp_path / "fehlt").exists() and leftovers(tmp_path) == []
    written = render_certificate(db_world.app, "cert-1", number, tmp_path / "urkunde.pdf")
    assert written.pages == 1 and (tmp_path / "urkunde.pdf").read_bytes().startswith(b"%PDF")
