"""Documents people send (PDF, Word, Excel, HTML) read into text the model can use.

The rules:
- Each format has one converter, a generator of text pieces; the reader stops pulling
  at the character cap, so a 2,000-page PDF costs only the pages that fit.
- Every converter is bounded as well: pages, sheets, rows and columns are capped, and
  a docx/xlsx (a zip) is refused before it is opened when its entries would unpack to
  more than MAX_UNPACKED_BYTES (zipfile never inflates an entry past its declared size,
  so the declared sizes are a real bound: a zip bomb is caught here).
- A PDF with pages but no text layer is a scan, and says so; a password-protected or
  damaged file gets one plain sentence, never a traceback.
- This is blocking CPU work: callers run `read_document` in a thread, and the reader
  stops pulling after `max_seconds` too (a thread cannot be cancelled from outside, so
  it must end by itself; one slow page is the most it can overrun).
Markdown, CSV and other plain text need no converting; FileKeeper reads them as they are
(a CSV is already the most compact table a model reads, and stays faithful to its quoting).
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import PurePath

log = logging.getLogger(__name__)

PDF, DOCX, XLSX, HTML = "pdf", "docx", "xlsx", "html"
MIME_KINDS = {
    "application/pdf": PDF,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": XLSX,
    "text/html": HTML,
    "application/xhtml+xml": HTML,
}
SUFFIX_KINDS = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".xlsx": XLSX,
    ".xlsm": XLSX,
    ".html": HTML,
    ".htm": HTML,
}
NAMES = {PDF: "PDF", DOCX: "Word", XLSX: "Excel", HTML: "HTML"}
MAX_PDF_PAGES = 500
MAX_SHEETS = 20
MAX_ROWS = 1_000  # per sheet
MAX_COLUMNS = 50
MAX_CELL_CHARS = 500
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
SCAN_NOTE = "this PDF has no text layer — it looks like a scan; I can't read scans yet"


@dataclass(frozen=True)
class Reading:
    """A document's text (empty when none could be read) and what to tell about it."""

    text: str
    note: str = ""  # cut at the limit, a scan, password-protected, damaged…


class _Unreadable(Exception):
    """A file that cannot be read, with the plain reason to tell the person."""


def document_kind(name: str, mime_type: str) -> str | None:
    """pdf, docx, xlsx or html when the file is a document this module reads."""
    by_mime = MIME_KINDS.get(mime_type.split(";")[0].strip().lower())
    return by_mime or SUFFIX_KINDS.get(PurePath(name).suffix.lower())


def read_document(kind: str, data: bytes, max_chars: int, max_seconds: float = 30.0) -> Reading:
    """The document's text, at most `max_chars` characters, with a note when cut or unread."""
    pieces: list[str] = []
    length = 0
    cut = slow = False
    deadline = time.monotonic() + max_seconds
    converted = CONVERTERS[kind](data)
    try:
        for piece in converted:
            if pieces and time.monotonic() > deadline:
                slow = True
                break
            if length + len(piece) > max_chars:
                pieces.append(piece[: max_chars - length])
                cut = True
                break
            pieces.append(piece)
            length += len(piece)
    except _Unreadable as exc:
        return Reading("", str(exc))
    except Exception:
        # Converters raise many kinds of errors on damaged input; none reaches the person.
        log.warning("could not read a %s document", kind, exc_info=True)
        return Reading(
            "", f"it could not be read: it looks damaged or is not really a {NAMES[kind]} file"
        )
    finally:
        converted.close()  # stops the converter at the cap (and closes a workbook)
    text = "".join(pieces).strip()
    if not text:
        return Reading("", SCAN_NOTE if kind == PDF else "it has no text in it")
    if slow:
        note = "reading it took too long, so only its first part was read"
        return Reading(text, note)
    if cut:
        note = (
            f"only its first {max_chars:,} characters were read (the limit); "
            "ask for the part that matters if the rest is needed"
        )
        return Reading(text, note)
    return Reading(text)


def _pdf(data: bytes) -> Generator[str, None, None]:
    from pypdf import PdfReader  # loaded on first use, like the other converters

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = bool(reader.decrypt(""))  # many "protected" PDFs only restrict printing
        except Exception:
            opened = False
        if not opened:
            raise _Unreadable("it is password-protected, so it could not be read")
    for number, page in enumerate(reader.pages, start=1):
        if number > MAX_PDF_PAGES:
            yield f"\n[only the first {MAX_PDF_PAGES} pages were read]\n"
            return
        text = page.extract_text() or ""
        if text.strip():
            yield f"\n--- page {number} ---\n{text.strip()}\n"


def _check_zip(data: bytes) -> None:
    """Refuse a docx/xlsx whose parts would unpack past the bound (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        raise _Unreadable("it could not be read: it looks damaged") from None
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_UNPACKED_BYTES:
        raise _Unreadable(
            f"it unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB, too much to read"
        )


def _docx(data: bytes) -> Generator[str, None, None]:
    _check_zip(data)
    from docx import Document
    from docx.table import Table

    document = Document(io.BytesIO(data))
    # Paragraph.style looks its style up anew each time (about 1 ms: seconds for a long
    # document), so the names are looked up once, by the paragraph's style id.
    styles = {style.style_id: style.name for style in document.styles}
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = ([cell.text for cell in row.cells] for row in block.rows)
            yield from _table(rows)
            continue
        text = block.text.strip()
        if not text:
            continue
        style = styles.get(block._p.style or "") or ""
        level = style.removeprefix("Heading ").strip()
        prefix = "#" * int(level) + " " if style.startswith("Heading ") and level.isdigit() else ""
        yield f"{prefix}{text}\n\n"


def _xlsx(data: bytes) -> Generator[str, None, None]:
    _check_zip(data)
    from openpyxl import load_workbook

    # read_only streams rows from the zip instead of building every cell in memory.
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for index, sheet in enumerate(book.worksheets):
            if index >= MAX_SHEETS:
                yield f"[only the first {MAX_SHEETS} sheets were read]\n"
                return
            yield f"## Sheet: {sheet.title}\n\n"
            yield from _table(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _html(data: bytes) -> Generator[str, None, None]:
    import trafilatura  # heavy: loaded on first use (as in bot/tools/web.py)

    html = data.decode("utf-8", errors="replace")
    text = trafilatura.extract(
        html, output_format="markdown", include_tables=True, favor_recall=True
    ) or trafilatura.html2txt(html)
    yield text or ""


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ").strip()[:MAX_CELL_CHARS]


def _table(rows: Iterable[Iterable[object]]) -> Iterable[str]:
    """Rows as a Markdown table (the first row as its header), capped in rows and columns."""
    count = 0
    for row in rows:
        cells = [_cell(value) for value in list(row)[:MAX_COLUMNS]]
        if not any(cells):
            continue
        if count == MAX_ROWS:
            yield f"[only the first {MAX_ROWS:,} rows were read]\n"
            break
        yield "| " + " | ".join(cells) + " |\n"
        if count == 0:
            yield "|" + " --- |" * len(cells) + "\n"
        count += 1
    yield "\n"


CONVERTERS: dict[str, Callable[[bytes], Generator[str, None, None]]] = {
    PDF: _pdf,
    DOCX: _docx,
    XLSX: _xlsx,
    HTML: _html,
}
