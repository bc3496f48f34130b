"""Documents read into text by the real converters: PDF, Word, Excel and HTML, within
their caps, and plain notes for scans, locked, damaged and oversized files."""

from __future__ import annotations

from bot.chat.documents import (
    MAX_ROWS,
    SCAN_NOTE,
    document_kind,
    read_document,
)
from tests.fakes.documents import (
    docx_file,
    locked_pdf,
    scanned_pdf,
    text_pdf,
    xlsx_file,
    zip_bomb,
)


def test_kinds_come_from_the_type_or_else_the_name() -> None:
    assert document_kind("report.pdf", "application/pdf") == "pdf"
    assert document_kind("report", "application/pdf; charset=binary") == "pdf"
    assert document_kind("Plan.DOCX", "application/octet-stream") == "docx"
    assert document_kind("sheet.xlsx", "") == "xlsx"
    assert document_kind("page.htm", "application/octet-stream") == "html"
    assert document_kind("notes.md", "text/markdown") is None  # plain text: read as it is
    assert document_kind("rows.csv", "text/csv") is None
    assert document_kind("archive.zip", "application/zip") is None


def test_a_pdf_is_read_page_by_page() -> None:
    reading = read_document("pdf", text_pdf([["Hello (world)", "kumquat"], ["page two"]]), 10_000)
    assert reading.note == ""
    assert reading.text == "--- page 1 ---\nHello (world)\nkumquat\n\n--- page 2 ---\npage two"


def test_a_long_pdf_is_cut_at_the_limit_with_a_note() -> None:
    pages = [[f"line {line} of page {page}" for line in range(40)] for page in range(1, 31)]
    reading = read_document("pdf", text_pdf(pages), 2_000)
    assert len(reading.text) <= 2_000 and "line 0 of page 1" in reading.text
    assert "page 30" not in reading.text
    assert reading.note.startswith("only its first 2,000 characters were read")


def test_a_scanned_pdf_says_it_has_no_text_layer() -> None:
    assert read_document("pdf", scanned_pdf(), 10_000).note == SCAN_NOTE
    assert "looks like a scan" in SCAN_NOTE


def test_a_locked_pdf_and_damaged_files_get_a_plain_note() -> None:
    assert read_document("pdf", locked_pdf(), 10_000).note == (
        "it is password-protected, so it could not be read"
    )
    damaged = read_document("pdf", b"%PDF-1.7\n1 0 obj <<", 10_000)
    assert damaged.text == ""
    assert damaged.note == "it could not be read: it looks damaged or is not really a PDF file"
    for kind in ("docx", "xlsx"):
        assert read_document(kind, b"PK\x03\x04 not a zip", 10_000).note == (
            "it could not be read: it looks damaged"
        )


def test_a_word_document_keeps_headings_paragraphs_and_tables_in_order() -> None:
    data = docx_file("Trip", ["Book the hotel.", "Pack light."], [["day", "city"], ["1", "Lyon"]])
    reading = read_document("docx", data, 10_000)
    assert reading.text == (
        "# Trip\n\nBook the hotel.\n\nPack light.\n\n| day | city |\n| --- | --- |\n| 1 | Lyon |"
    )


def test_a_workbook_becomes_one_table_per_sheet_with_capped_rows() -> None:
    rows = [["item", "cost"]] + [[f"thing {n}", n] for n in range(MAX_ROWS + 50)]
    data = xlsx_file({"Budget": [["rent", 900], [None, None], ["food", 12.5]], "Long": rows})
    text = read_document("xlsx", data, 1_000_000).text
    budget, long = text.split("## Sheet: Long")
    assert budget == "## Sheet: Budget\n\n| rent | 900 |\n| --- | --- |\n| food | 12.5 |\n\n"
    assert f"thing {MAX_ROWS - 2} " in long and f"thing {MAX_ROWS - 1} " not in long
    assert long.rstrip().endswith(f"[only the first {MAX_ROWS:,} rows were read]")


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    bomb = zip_bomb()
    assert len(bomb) < 1024 * 1024
    for kind in ("docx", "xlsx"):
        assert (
            read_document(kind, bomb, 10_000).note
            == "it unpacks to more than 64 MB, too much to read"
        )


def test_a_web_page_is_read_as_its_text() -> None:
    html = (
        b"<html><head><title>T</title><script>var tracking = 1;</script></head><body>"
        b"<article><h1>News</h1><p>The secret fruit is a persimmon, orange and sweet.</p>"
        b"</article></body></html>"
    )
    text = read_document("html", html, 10_000).text
    assert "The secret fruit is a persimmon" in text and "News" in text
    assert "<p>" not in text and "tracking" not in text


def test_reading_stops_at_the_time_limit_with_a_note() -> None:
    pdf = text_pdf([[f"page {page} text"] for page in range(1, 6)])
    reading = read_document("pdf", pdf, 10_000, max_seconds=0.0)
    assert reading.text == "--- page 1 ---\npage 1 text"
    assert reading.note == "reading it took too long, so only its first part was read"
