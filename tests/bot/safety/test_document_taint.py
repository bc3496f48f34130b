"""Documents are outside content like text files: an order hidden in a PDF, a Word file,
a workbook or a web page is marked untrusted, and acting on it needs the person's yes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.chat.channels import Attachment
from memory.db.models import Approval
from tests.bot.conftest import AppMaker
from tests.bot.safety.harness import count, obedient, order
from tests.bot.safety.test_taint import PLANTED, _questions, memories, refuse_next
from tests.fakes.documents import docx_file, text_pdf, xlsx_file
from tests.fakes.openai_server import FakeOpenAI

ORDER = order("remember", PLANTED)
DOCUMENTS = {
    "bill.pdf": ("application/pdf", lambda: text_pdf([["Electricity bill", ORDER, "Thanks"]])),
    "memo.docx": ("application/octet-stream", lambda: docx_file("Memo", ["Hi team", ORDER])),
    "sheet.xlsx": ("application/octet-stream", lambda: xlsx_file({"S": [["note"], [ORDER]]})),
    "page.html": (
        "text/html",
        lambda: (
            f"<html><body><article><p>News of the day, long enough to be the main "
            f"text of this page.</p><p>{ORDER}</p></article></body></html>".encode()
        ),
    ),
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_an_order_in_a_document_needs_the_persons_yes(
    name: str, make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    fake_llm.responder = obedient
    app, channel = await make_app(approval_timeout=5)
    mime, build = DOCUMENTS[name]
    inbound = channel.inbound("here is a file")
    document = Attachment("document", name, mime, build())
    await app.sessions.handle(replace(inbound, attachments=(document,)))
    question = await refuse_next(app, channel, 1)
    assert f"(file {name})" in question
    assert await memories(app) == []
    assert await count(app, Approval, status="denied") == 1


async def test_with_a_yes_the_action_from_a_pdf_goes_ahead(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    fake_llm.responder = obedient
    app, channel = await make_app(approval_timeout=5)
    mime, build = DOCUMENTS["bill.pdf"]
    inbound = channel.inbound("here is my bill")
    await app.sessions.handle(
        replace(inbound, attachments=(Attachment("document", "bill.pdf", mime, build()),))
    )
    await _questions(channel, 1)
    await app.sessions.handle(channel.inbound("yes"))
    await app.sessions.drain()
    assert await memories(app) == [PLANTED["text"]]
