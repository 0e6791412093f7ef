"""The evidence store: content-addressed, type by content, nothing half-written left behind."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from certflow.evidence_store import (
    DOCX,
    ODT,
    XLSX,
    EvidenceRejected,
    EvidenceStore,
    LocalEvidenceStore,
    StoredFile,
    detect_media_type,
)

ALLOWED_TEXT = "erlaubt: PDF, PNG, JPEG, DOCX, XLSX, ODT"


# ---------------------------------------------------------------- sample content


def make_pdf(padding: int = 0) -> bytes:
    """A minimal one-page PDF, written by hand; ``padding`` bytes of comment make it larger."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    if padding:
        out += b"%" + b"x" * padding + b"\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_png(width: int = 2, height: int = 2) -> bytes:
    """A valid greyscale PNG built with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(range(width)) for _ in range(height))  # filter byte + pixels
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 44


def make_ooxml(main_content_type: str, main_part: str, *, filler_first: int = 0) -> bytes:
    """A zip with an OOXML [Content_Types].xml; ``filler_first`` entries come before it."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{main_part}" ContentType="{main_content_type}"/>'
        "</Types>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(filler_first):
            zf.writestr(f"customXml/item{i}.xml", "<x/>" * 50)
        zf.writestr("[Content_Types].xml", content_types)
        zf.writestr("_rels/.rels", "<Relationships/>")
        zf.writestr(main_part, "<document/>")
    return buf.getvalue()


def make_docx(**kw) -> bytes:
    return make_ooxml(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "word/document.xml", **kw
    )


def make_odt(mime: str = ODT) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), mime, compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", "<office:document-content/>", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", "<manifest/>", compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def location(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"{sha[:2]}/{sha}"


class Reader:
    """A binary file-like object over ``data``; counts what was read, may fail after ``fail_after`` calls."""

    def __init__(self, data: bytes, fail_after: int | None = None, exc: BaseException | None = None):
        self._buf = io.BytesIO(data)
        self.calls = 0
        self.bytes_read = 0
        self.fail_after = fail_after
        self.exc = exc or OSError("Verbindung abgebrochen")

    def read(self, n: int = -1) -> bytes:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise self.exc
        self.calls += 1
        chunk = self._buf.read(n)
        self.bytes_read += len(chunk)
        return chunk


class Endless:
    """A PNG header followed by zeros, forever; counts what was read."""

    def __init__(self):
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        assert n > 0, "the store must ask for bounded chunks"
        head = make_png()
        chunk = (head + b"\x00" * n)[:n] if self.bytes_read == 0 else b"\x00" * n
        self.bytes_read += n
        return chunk


@pytest.fixture
def store(tmp_path) -> EvidenceStore:
    return LocalEvidenceStore(tmp_path / "belege")


# ---------------------------------------------------------------- storing and reading


def test_pdf_is_stored_under_its_hash_and_read_back(store):
    pdf = make_pdf()
    stored = store.put(pdf, "nachweis.pdf")

    sha = hashlib.sha256(pdf).hexdigest()
    assert stored == StoredFile(sha256=sha, size=len(pdf), media_type="application/pdf", filename="nachweis.pdf")
    assert store.get(sha) == store.root / sha[:2] / sha
    assert store.get(sha).read_bytes() == pdf
    with store.open(sha) as fh:
        assert fh.read() == pdf
    assert store.exists(sha)
    assert store.verify(sha)
    assert files_under(store.root) == [location(pdf)]


def test_png_from_a_path_and_jpeg_from_a_stream(store, tmp_path):
    png = make_png()
    source = tmp_path / "foto.png"
    source.write_bytes(png)

    stored_png = store.put(source, "foto.png")
    stored_jpeg = store.put(io.BytesIO(JPEG_BYTES), "bild.jpg")

    assert stored_png.media_type == "image/png"
    assert stored_jpeg.media_type == "image/jpeg"
    assert store.get(stored_png.sha256).read_bytes() == png
    assert files_under(store.root) == sorted([location(png), location(JPEG_BYTES)])


def test_type_comes_from_the_content_not_the_name(store):
    assert store.put(make_png(), "scan.pdf").media_type == "image/png"
    with pytest.raises(EvidenceRejected, match="application/x-msdownload"):
        store.put(EXE_BYTES, "nachweis.pdf")


def test_same_content_twice_is_one_file(store):
    pdf = make_pdf()
    first = store.put(pdf, "a.pdf")
    second = store.put(io.BytesIO(pdf), "b.pdf")

    assert second.sha256 == first.sha256
    assert second.filename == "b.pdf"
    assert files_under(store.root) == [location(pdf)]


def test_a_damaged_copy_of_the_same_content_is_replaced(store):
    pdf = make_pdf()
    sha = store.put(pdf, "a.pdf").sha256
    store.get(sha).write_bytes(pdf[:10])

    store.put(pdf, "a.pdf")

    assert store.verify(sha)
    assert files_under(store.root) == [location(pdf)]


# ---------------------------------------------------------------- refusals


def test_too_large_is_refused_and_nothing_is_left(tmp_path):
    store = LocalEvidenceStore(tmp_path / "belege", max_bytes=1000)
    reader = Reader(make_pdf(padding=200_000))

    with pytest.raises(EvidenceRejected) as info:
        store.put(reader, "gross.pdf")

    assert info.value.reason == "gross.pdf: Datei ist größer als 1000 Bytes"
    assert reader.bytes_read == 1001  # stopped one byte past the limit
    assert files_under(store.root) == []
    assert list(store.root.iterdir()) == []


def test_exactly_at_the_limit_is_accepted(tmp_path):
    pdf = make_pdf()
    store = LocalEvidenceStore(tmp_path / "belege", max_bytes=len(pdf))
    assert store.put(pdf, "knapp.pdf").size == len(pdf)
    with pytest.raises(EvidenceRejected, match="größer als"):
        LocalEvidenceStore(tmp_path / "andere", max_bytes=len(pdf) - 1).put(pdf, "knapp.pdf")


def test_default_limit_is_20_mb_and_reading_stops_there(store):
    endless = Endless()
    with pytest.raises(EvidenceRejected) as info:
        store.put(endless, "foto.png")

    assert str(info.value) == "foto.png: Datei ist größer als 20 MB"
    assert endless.bytes_read == 20 * 1024 * 1024 + 1
    assert files_under(store.root) == []


def test_bytes_over_the_limit_are_refused(tmp_path):
    store = LocalEvidenceStore(tmp_path / "belege", max_bytes=2 * 1024 * 1024)
    with pytest.raises(EvidenceRejected, match="^foto.png: Datei ist größer als 2 MB$"):
        store.put(make_png() + b"\x00" * (3 * 1024 * 1024), "foto.png")
    assert files_under(store.root) == []


def test_empty_file_is_refused(store):
    with pytest.raises(EvidenceRejected) as info:
        store.put(b"", "leer.pdf")
    assert info.value.reason == "leer.pdf: Datei ist leer"
    assert files_under(store.root) == []


@pytest.mark.parametrize(
    ("content", "name", "shown"),
    [
        (EXE_BYTES, "nachweis.exe", "application/x-msdownload"),
        (ELF_BYTES, "programm", "application/x-executable"),
        ("Protokoll der Elternversammlung – März\n".encode(), "protokoll.txt", "text/plain"),
        (bytes(range(256)) * 4, "daten.bin", "unbekannt"),
    ],
)
def test_disallowed_types_are_refused_with_a_german_message(store, content, name, shown):
    with pytest.raises(EvidenceRejected) as info:
        store.put(content, name)

    assert info.value.reason == f"{name}: Dateityp {shown} ist nicht erlaubt ({ALLOWED_TEXT})"
    assert files_under(store.root) == []


def test_plain_text_can_be_allowed(tmp_path):
    store = LocalEvidenceStore(tmp_path / "belege", allowed=frozenset({"text/plain", "application/pdf"}))
    assert store.put(b"Konzeption\n", "konzeption.txt").media_type == "text/plain"
    with pytest.raises(EvidenceRejected, match=r"\(erlaubt: PDF, TXT\)$"):
        store.put(make_png(), "foto.png")


def test_expected_checksum(store):
    pdf = make_pdf()
    good = hashlib.sha256(pdf).hexdigest()
    wrong = hashlib.sha256(b"etwas anderes").hexdigest()

    with pytest.raises(EvidenceRejected) as info:
        store.put(pdf, "nachweis.pdf", expected_sha256=wrong)
    assert info.value.reason == f"nachweis.pdf: Prüfsumme stimmt nicht: erwartet {wrong}, erhalten {good}"
    assert files_under(store.root) == []

    assert store.put(pdf, "nachweis.pdf", expected_sha256=good.upper()).sha256 == good

    with pytest.raises(EvidenceRejected, match="kein SHA-256-Wert"):
        store.put(pdf, "nachweis.pdf", expected_sha256="abc")


# ---------------------------------------------------------------- failures mid-stream


def test_reader_failing_mid_stream_leaves_nothing(store):
    reader = Reader(make_pdf(padding=300_000), fail_after=1)

    with pytest.raises(OSError, match="Verbindung abgebrochen"):
        store.put(reader, "abbruch.pdf")

    assert reader.calls == 1  # the first chunk was read (and written) before the failure
    assert files_under(store.root) == []


def test_keyboard_interrupt_mid_stream_leaves_nothing(store):
    reader = Reader(make_pdf(padding=300_000), fail_after=2, exc=KeyboardInterrupt())

    with pytest.raises(KeyboardInterrupt):
        store.put(reader, "abbruch.pdf")

    assert files_under(store.root) == []


def test_failure_before_the_rename_leaves_nothing(store, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("Datenträger voll")

    monkeypatch.setattr("certflow.evidence_store.os.replace", broken_replace)
    with pytest.raises(OSError, match="Datenträger voll"):
        store.put(make_pdf(), "nachweis.pdf")
    assert files_under(store.root) == []


def test_text_mode_stream_is_a_programming_error(store):
    with pytest.raises(TypeError):
        store.put(io.StringIO("%PDF-1.4"), "nachweis.pdf")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.put("nachweis.pdf", "nachweis.pdf")  # type: ignore[arg-type]
    assert files_under(store.root) == []


# ---------------------------------------------------------------- verify and lookups


def test_verify_detects_a_flipped_byte(store):
    pdf = make_pdf()
    sha = store.put(pdf, "nachweis.pdf").sha256
    path = store.get(sha)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    assert store.verify(sha) is False


def test_lookups_of_unknown_or_malformed_hashes(store):
    missing = hashlib.sha256(b"nie gespeichert").hexdigest()
    assert not store.exists(missing)
    with pytest.raises(FileNotFoundError):
        store.get(missing)
    with pytest.raises(FileNotFoundError):
        store.verify(missing)
    for bad in ["../../etc/passwd", "abc", "g" * 64, ""]:
        with pytest.raises(ValueError):
            store.get(bad)


# ---------------------------------------------------------------- office documents


def test_docx_xlsx_odt_are_accepted(store):
    xlsx = make_ooxml(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xl/workbook.xml"
    )
    assert store.put(make_docx(), "konzept.docx").media_type == DOCX
    assert store.put(xlsx, "liste.xlsx").media_type == XLSX
    assert store.put(make_odt(), "bericht.odt").media_type == ODT
    assert len(files_under(store.root)) == 3


def test_docx_is_found_even_when_its_parts_come_late_in_the_zip(store):
    # Past the first few entries, filetype's prefix check alone would not see word/.
    assert store.put(make_docx(filler_first=20), "konzept.docx").media_type == DOCX


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        (make_ooxml("application/vnd.ms-word.document.macroEnabled.main+xml", "word/document.xml"),
         "application/vnd.ms-word.document.macroEnabled.12"),
        (make_odt("application/vnd.oasis.opendocument.spreadsheet"), "application/vnd.oasis.opendocument.spreadsheet"),
        (make_ooxml("application/xml", "data.xml"), "application/zip"),
        (b"PK\x03\x04" + b"\x00" * 100, "application/zip"),  # broken zip
    ],
    # named ids: the zips carry the time they were made, so ids made from their bytes differed between the
    # two xdist workers when their collection straddled a second (a collection error in CI)
    ids=["docm", "ods", "zip-ohne-office", "zip-kaputt"],
)
def test_other_zip_containers_are_refused(store, content, shown):
    with pytest.raises(EvidenceRejected) as info:
        store.put(content, "anhang.docx")
    assert info.value.reason == f"anhang.docx: Dateityp {shown} ist nicht erlaubt ({ALLOWED_TEXT})"
    assert files_under(store.root) == []


def test_detect_media_type_without_a_container():
    assert detect_media_type(make_pdf()) == "application/pdf"
    assert detect_media_type(make_png()) == "image/png"
    assert detect_media_type(b"Hallo\n") == "text/plain"
    assert detect_media_type("Grüß".encode()[:-1]) == "text/plain"  # cut inside a character
