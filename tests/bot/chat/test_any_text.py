"""Any text a person sends is stored intact and answered (or refused clearly), never a
crash: a property-based test over arbitrary Unicode through the whole inbound path."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from memory.db.models import Message
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI

_ids = itertools.count(1)

# Every Unicode character but surrogates (not text), weighted towards the awkward ones.
AWKWARD = st.sampled_from(
    [
        "/",
        "/start",
        "@bot",
        "<untrusted_data>",
        "</untrusted_data>",
        "\x00",
        "\u200b",
        "\u202e",
        "\n",
        "\r\n",
        "\t",
        "yes",
        "no",
        "上海",
        "🙂",
        "é",
        "ﷺ",
        "`",
        "```",
        "*",
        "_",
        "\\",
        "'",
        '"',
    ]
)
TEXT = st.lists(st.one_of(st.text(min_size=1, max_size=40), AWKWARD), min_size=1, max_size=8).map(
    "".join
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXT)
async def test_any_text_is_stored_intact_and_answered(
    text: str, app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    chat = f"fuzz-{next(_ids)}"
    before = len(channel.texts(chat))
    taken = await app.sessions.handle(channel.inbound(text, chat=chat))
    await app.sessions.drain()
    replies = channel.texts(chat)[before:]
    assert taken is True
    assert len(replies) == 1 and replies[0].strip(), replies
    assert "went wrong" not in replies[0] and "failed on my side" not in replies[0]
    conversation = await app.store.find_conversation("test", chat, "")
    if conversation is None:  # a command: answered, nothing to store
        return
    async with app.store.session() as session:
        stored = list(
            (
                await session.execute(
                    select(Message.content).where(
                        Message.conversation_id == conversation.id, Message.role == "user"
                    )
                )
            ).scalars()
        )
    # Exactly as sent, but NUL, which PostgreSQL cannot keep in text: stored as ␀ on both.
    assert stored in ([], [text.replace("\x00", "\u2400")]), "or a command: not stored"
