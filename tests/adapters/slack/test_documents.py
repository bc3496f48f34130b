"""PDF, Word, Excel and HTML files shared on Slack reach the model as text."""

from __future__ import annotations

from tests.adapters.slack.harness import Harness, dm
from tests.fakes.documents import docx_file, scanned_pdf, text_pdf, xlsx_file
from tests.fakes.openai_server import FakeOpenAI, last_user_text

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE = b"""<html><head><title>Menu</title></head><body><nav>Home | About</nav>
<article><h1>Tonight</h1><p>Grilled aubergine with miso, then a yuzu tart for dessert.</p>
</article></body></html>"""


def _block(said: str, name: str) -> str:
    """The untrusted block a file's content went into (empty when there is none)."""
    opening = f'<untrusted_data source="file {name}">\n'
    return said.split(opening, 1)[1].split("</untrusted_data>", 1)[0] if opening in said else ""


async def test_shared_documents_reach_the_model_as_marked_text(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    files = [
        slack.fake.host_file(
            "minutes.pdf", text_pdf([["Decided: move to Lyon"]]), "application/pdf"
        ),
        slack.fake.host_file("memo.docx", docx_file("Memo", ["Budget frozen until May"]), DOCX),
        slack.fake.host_file("q1.xlsx", xlsx_file({"Q1": [["month", "sales"], ["Jan", 12]]}), XLSX),
        slack.fake.host_file("menu.html", PAGE, "text/html"),
        slack.fake.host_file("scan.pdf", scanned_pdf(), "application/pdf"),
    ]
    await slack.deliver(dm("what's in these?", subtype="file_share", files=files))
    await slack.settle()

    said = last_user_text(fake_llm.requests[0])
    assert said.startswith("what's in these?\n\n[File minutes.pdf]\n")
    for name, content in [
        ("minutes.pdf", "--- page 1 ---\nDecided: move to Lyon"),
        ("memo.docx", "# Memo\n\nBudget frozen until May"),
        ("q1.xlsx", "## Sheet: Q1\n\n| month | sales |\n| --- | --- |\n| Jan | 12 |"),
        ("menu.html", "Grilled aubergine with miso, then a yuzu tart"),
    ]:
        assert content in _block(said, name)
    assert "<nav>" not in _block(said, "menu.html")
    assert "[File scan.pdf: this PDF has no text layer — it looks like a scan; " in said
    assert len(slack.fake.texts("DALICE")) == 1
