"""Writing a file someone asked for (``-o``): all of it or nothing, and a German reason when it fails.

:func:`write_atomically` is the one way certflow writes its output files (the PDF documents through
:func:`certflow.packet.write_pdf`, the calendar feed, a migrated self-assessment): the bytes go into
a temporary ``<name>.<random>.part`` beside the target, are flushed to the disk (``fsync``), and only
then renamed over the target (atomic on one filesystem); the folder is synced so the rename lasts.
Readers see the old file or the new one, never half of it.

On any failure (a folder that does not exist, no permission, a target that is a folder or no
ordinary file such as ``/proc/version`` or ``/dev/null``, a full disk in the middle of writing) the
``.part`` file is removed, the target is left as it was, and :class:`OutputError` says in German
which file and why. Missing folders are not created: a mistyped folder name must not leave new
folders behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

__all__ = ["OutputError", "write_atomically"]

_CHUNK = 1024 * 1024
_ATTEMPTS = 5


class OutputError(OSError):
    """A file was not written. ``str()`` is the German message naming the file; ``reason`` is the cause alone.

    An :class:`OSError` (``strerror`` is the German reason, ``filename`` the target), so code that
    already handles failed writes handles this one too.
    """

    def __init__(self, path: str | Path, reason: str, code: int = 0):
        super().__init__(code, reason, str(path))
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: nicht geschrieben ({self.reason})"


def _reason(exc: OSError, path: Path) -> str:
    """A failed write's cause in German."""
    code = exc.errno
    folder = path.parent
    if code == errno.ENOENT:
        if not folder.is_dir():
            return f"Ordner {folder} gibt es nicht"
        return f"in {folder} lassen sich keine Dateien anlegen"
    if code == errno.ENOTDIR:
        return f"{folder} ist kein Ordner"
    if code == errno.EISDIR:
        return "das Ziel ist ein Ordner"
    if code in (errno.EACCES, errno.EPERM):
        return "keine Schreibberechtigung"
    if code == errno.ENOSPC:
        return "kein Platz mehr auf dem Datenträger"
    if code == getattr(errno, "EDQUOT", None):
        return "Speicherkontingent erschöpft"
    if code == errno.EROFS:
        return "Datenträger ist schreibgeschützt"
    if code == errno.ENAMETOOLONG:
        return "Dateiname zu lang"
    return exc.strerror or type(exc).__name__


def _write_chunk(fd: int, data: memoryview) -> int:
    """One ``write`` call (its own function, so a test can make the disk run full in the middle)."""
    return os.write(fd, data)


def _open_part(path: Path) -> tuple[int, Path]:
    """A new, empty ``<name>.<random>.part`` beside ``path`` (mode from the umask, like any new file)."""
    for _ in range(_ATTEMPTS):
        part = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
        try:
            return os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), part
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "keine freie Zwischendatei", str(path))


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); where a folder cannot be opened or synced, the rename stands anyway."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    try:
        fd = os.open(folder, os.O_RDONLY | flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: str | Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text is encoded with ``encoding``) to ``path`` all at once; :class:`OutputError` if not.

    See the module doc: ``.part`` file, ``fsync``, rename, folder synced; on failure the ``.part`` is
    removed and the target left untouched. Returns the path written.
    """
    path = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(path, _reason(exc, path), exc.errno or 0) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(path, "das Ziel ist ein Ordner", errno.EISDIR)
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(path, "das Ziel ist keine gewöhnliche Datei", errno.EINVAL)
    part: Path | None = None
    try:
        fd, part = _open_part(path)
        try:
            view = memoryview(payload)
            while view:
                written = _write_chunk(fd, view[:_CHUNK])
                if written <= 0:
                    raise OSError(errno.EIO, "nichts geschrieben", str(part))
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(part, stat.S_IMODE(mode))  # a replaced file keeps its permissions
        os.replace(part, path)
        part = None
    except OSError as exc:
        raise OutputError(path, _reason(exc, path), exc.errno or 0) from None
    finally:
        if part is not None:
            with contextlib.suppress(OSError):
                part.unlink()
    _sync_folder(path.parent)
    return path
