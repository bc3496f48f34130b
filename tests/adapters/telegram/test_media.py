"""Photos, documents, voice notes and outgoing files through the fake Bot API."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.chat.channels import ChatRef
from tests.adapters.telegram.conftest import OWNER, OWNER_USER, answered, running
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _user_content(request: dict[str, Any]) -> Any:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


async def test_photo_reaches_the_model_as_an_image(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    stored = telegram.add_file(PNG, "photo.jpg")
    photo = [{**stored, "width": 1, "height": 1}]
    telegram.push_message(
        FakeTelegram.private(OWNER_USER), OWNER_USER, "what is this?", photo=photo
    )

    await answered(telegram, bot, OWNER)
    parts = _user_content(fake_llm.requests[0])
    assert isinstance(parts, list)
    assert any(p["type"] == "text" and "what is this?" in p["text"] for p in parts)
    images = [p for p in parts if p["type"] == "image_url"]
    assert len(images) == 1 and images[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")


async def test_text_document_is_read_into_the_conversation(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    stored = telegram.add_file(b"line one\nthe secret word is kumquat\n", "notes.txt")
    document = {**stored, "file_name": "notes.txt", "mime_type": "text/plain"}
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, None, document=document)

    await answered(telegram, bot, OWNER)
    assert "kumquat" in str(_user_content(fake_llm.requests[0]))


async def test_too_large_text_document_is_not_downloaded_and_the_model_is_told(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    stored = telegram.add_file(b"x" * 9000, "big.log")
    document = {**stored, "file_name": "big.log", "mime_type": "text/plain"}
    async with running(settings_for({"max_file_chars": 1000})) as app:
        telegram.push_message(
            FakeTelegram.private(OWNER_USER), OWNER_USER, "read it", document=document
        )
        await answered(telegram, app, OWNER)

    content = str(_user_content(fake_llm.requests[0]))
    assert "big.log" in content and "more than" in content and "xxxx" not in content
    assert "getFile" not in telegram.calls


async def test_voice_note_is_acknowledged_honestly(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    voice = {**telegram.add_file(b"OggS", "voice.ogg"), "duration": 3, "mime_type": "audio/ogg"}
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, None, voice=voice)

    await answered(telegram, bot, OWNER)
    assert "transcription is not configured" in str(_user_content(fake_llm.requests[0]))


async def test_unreadable_file_is_described_not_downloaded(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    document = {"file_id": "p1", "file_unique_id": "p1", "file_name": "photos.zip",
                "mime_type": "application/zip", "file_size": 50_000}  # fmt: skip
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "see", document=document)

    await answered(telegram, bot, OWNER)
    content = str(_user_content(fake_llm.requests[0]))
    assert "photos.zip" in content and "only text files, documents and images" in content
    assert "getFile" not in telegram.calls


async def test_failed_download_still_answers_with_a_note(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    document = {"file_id": "gone", "file_unique_id": "gone", "file_name": "a.txt",
                "mime_type": "text/plain", "file_size": 10}  # fmt: skip
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "read", document=document)

    await answered(telegram, bot, OWNER)
    assert "could not be downloaded" in str(_user_content(fake_llm.requests[0]))


async def test_files_are_sent_as_documents(bot: App, telegram: FakeTelegram) -> None:
    chat = ChatRef("telegram", str(OWNER))
    ref = await bot.outbox.send_file(chat, "export.json", b'{"a": 1}', "your export")

    assert telegram.documents == [
        {"chat_id": OWNER, "name": "export.json", "data": b'{"a": 1}', "caption": "your export"}
    ]
    assert ref.chat == chat and ref.message_id
