"""Small real documents for tests: PDFs written by hand (with a text layer, or only an
image like a scan), and Word and Excel files made with python-docx and openpyxl."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence


def _pdf(objects: Sequence[bytes]) -> bytes:
    """A PDF file of `objects` (numbered from 1; the first is the catalog), with its xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(content), extra) + content + b"\nendstream"


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with a real text layer: each page shows its lines in Helvetica."""
    count = len(pages)
    # 1 catalog, 2 pages, 3 font, then a page object and its content stream per page.
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        shown = b" T* ".join(
            b"("
            + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
            + b") Tj"
            for line in lines
        )
        content = b"BT /F1 11 Tf 14 TL 50 760 Td " + shown + b" ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(_stream(content))
    return _pdf(objects)


def scanned_pdf() -> bytes:
    """A PDF whose one page is only an image, as a scanner makes: no text layer."""
    pixels = bytes(range(0, 256, 16)) * 16  # a 16x16 grey gradient
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
            _stream(b"q 500 0 0 700 50 50 cm /Im1 Do Q"),
            _stream(
                pixels,
                b"/Type /XObject /Subtype /Image /Width 16 /Height 16 "
                b"/ColorSpace /DeviceGray /BitsPerComponent 8 ",
            ),
        ]
    )


def docx_file(
    heading: str, paragraphs: Sequence[str], table: Sequence[Sequence[str]] = ()
) -> bytes:
    """A Word document made by python-docx: a heading, paragraphs and an optional table."""
    from docx import Document

    document = Document()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_file(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    """An Excel workbook made by openpyxl, one sheet per entry."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.worksheets[0])  # a new workbook starts with one empty sheet
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb(name: str = "word/document.xml", unpacked: int = 80 * 1024 * 1024) -> bytes:
    """A small zip (shaped like a docx) whose one part inflates to `unpacked` bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(name, "w", force_zip64=True) as part:
            block = b"\0" * (1024 * 1024)
            for _ in range(unpacked // len(block)):
                part.write(block)
    return out.getvalue()


def locked_pdf(password: str = "s3cret") -> bytes:
    """A text PDF encrypted with a password (pypdf's writer)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["private"]]))))
    writer.encrypt(user_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
