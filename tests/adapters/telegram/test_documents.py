"""PDF, Word and Excel documents sent on Telegram reach the model as text."""

from __future__ import annotations

from typing import Any

from bot.app import App
from tests.adapters.telegram.conftest import OWNER, OWNER_USER, answered, running
from tests.fakes.documents import docx_file, scanned_pdf, text_pdf, xlsx_file
from tests.fakes.openai_server import FakeOpenAI, last_user_text
from tests.fakes.telegram_server import FakeTelegram

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _send(telegram: FakeTelegram, data: bytes, name: str, mime: str, text: str | None) -> None:
    stored = telegram.add_file(data, name)
    document = {**stored, "file_name": name, "mime_type": mime}
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, text, document=document)


async def test_a_pdf_reaches_the_model_as_marked_text(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    pdf = text_pdf([["Invoice 2291", "Total due: 418 EUR"], ["Pay by 3 March"]])
    _send(telegram, pdf, "invoice.pdf", PDF, "what do I owe?")

    await answered(telegram, bot, OWNER)
    said = last_user_text(fake_llm.requests[0])
    assert said.startswith("what do I owe?\n\n[File invoice.pdf]\n")
    assert '<untrusted_data source="file invoice.pdf">\n--- page 1 ---\nInvoice 2291\n' in said
    assert "Total due: 418 EUR" in said and "--- page 2 ---\nPay by 3 March" in said


async def test_a_word_document_and_a_workbook_reach_the_model_as_text(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    _send(telegram, docx_file("Packing list", ["Passport", "Charger"]), "list.docx", DOCX, None)
    await answered(telegram, bot, OWNER)
    said = last_user_text(fake_llm.requests[0])
    assert "# Packing list\n\nPassport\n\nCharger" in said
    assert '<untrusted_data source="file list.docx">' in said

    book = xlsx_file({"Costs": [["item", "eur"], ["train", 89]]})
    _send(telegram, book, "costs.xlsx", XLSX, None)
    await answered(telegram, bot, OWNER, count=2)
    said = last_user_text(fake_llm.requests[1])
    assert "## Sheet: Costs\n\n| item | eur |\n| --- | --- |\n| train | 89 |" in said


async def test_a_long_pdf_is_cut_at_the_character_limit_with_a_note(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    pages = [[f"clause {page}.{line} of the lease" for line in range(40)] for page in range(1, 21)]
    pdf = text_pdf(pages)
    assert len(pdf) > 4_000  # more bytes than a text file may have at this limit
    async with running(settings_for({"max_file_chars": 1000})) as app:
        _send(telegram, pdf, "lease.pdf", PDF, "summarise")
        await answered(telegram, app, OWNER)

    said = last_user_text(fake_llm.requests[0])
    assert "[File lease.pdf: only its first 1,000 characters were read (the limit)" in said
    assert "clause 1.0 of the lease" in said and "clause 20." not in said


async def test_a_scan_and_a_damaged_file_are_explained_plainly(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    _send(telegram, scanned_pdf(), "scan.pdf", PDF, "read this")
    await answered(telegram, bot, OWNER)
    said = last_user_text(fake_llm.requests[0])
    assert "[File scan.pdf: this PDF has no text layer — it looks like a scan; " in said
    assert "untrusted_data" not in said  # nothing of the file went in

    _send(telegram, b"PK\x03\x04broken", "broken.docx", DOCX, "and this")
    await answered(telegram, bot, OWNER, count=2)
    said = last_user_text(fake_llm.requests[1])
    assert "[File broken.docx: it could not be read: it looks damaged.]" in said
    assert "Traceback" not in said


async def test_a_document_larger_than_telegram_serves_is_not_downloaded(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    document = {"file_id": "big", "file_unique_id": "big", "file_name": "atlas.pdf",
                "mime_type": PDF, "file_size": 25 * 1024 * 1024}  # fmt: skip
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "see", document=document)

    await answered(telegram, bot, OWNER)
    said = last_user_text(fake_llm.requests[0])
    assert "[atlas.pdf: 25.0 MB is more than the 20.0 MB Telegram lets bots download]" in said
    assert "getFile" not in telegram.calls
