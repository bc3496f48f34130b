"""The memory tools through the whole app: real model client, fake model server,
real databases. Each tool acts only for the person speaking."""

from __future__ import annotations

from bot.app import App
from tests.bot.harness.memory import say, use_tool
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


async def test_remember_recall_supersede_forget(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await say(app, channel, "I live in Berlin")
    out = await use_tool(
        app, channel, fake_llm, "remember", {"text": "Lives in Berlin", "key": "home city"}
    )
    assert out.startswith("Remembered as #")
    alice = await app.memory.history.find_user("test:alice")
    assert alice is not None
    [stored] = await app.memory.memories.current(alice.id)
    assert stored.source_message_id is not None  # the message that said it

    out = await use_tool(
        app, channel, fake_llm, "remember", {"text": "Lives in Lisbon", "key": "Home city"}
    )
    assert "replaces" in out and "Lives in Berlin" in out
    out = await use_tool(app, channel, fake_llm, "recall", {"query": "where do I live"})
    assert "Lives in Lisbon" in out and "Berlin" not in out

    out = await use_tool(app, channel, fake_llm, "forget", {"memory": "lisbon"})
    assert out.startswith("Forgotten: #")
    assert await app.memory.memories.all(alice.id) == []
    out = await use_tool(app, channel, fake_llm, "recall", {"query": ""})
    assert out == "No matching memories."


async def test_bad_tool_arguments_come_back_as_errors(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    out = await use_tool(app, channel, fake_llm, "remember", {"text": "x", "kind": "gossip"})
    assert out.startswith("Error: invalid arguments: kind:")
    out = await use_tool(app, channel, fake_llm, "remember", {"text": "x", "replaces": 424242})
    assert out == "Error: there is no memory #424242 to replace"


async def test_search_history_with_dates(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await say(app, channel, "The flat on Rua Augusta has a tiny balcony")
    await say(app, channel, "Lunch was great")
    out = await use_tool(app, channel, fake_llm, "search_history", {"query": "flat balcony"})
    assert "The flat on Rua Augusta has a tiny balcony" in out.splitlines()[0]
    assert out.startswith("[20")  # each line starts with its date
    out = await use_tool(
        app, channel, fake_llm, "search_history", {"query": "flat", "until": "2001-01-01"}
    )
    assert out == "No earlier messages match."


async def test_tools_never_cross_between_people(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await say(app, channel, "my bank PIN hint is walrus", sender="alice")
    await use_tool(
        app, channel, fake_llm, "remember", {"text": "PIN hint is walrus"}, sender="alice"
    )
    alice = await app.memory.history.find_user("test:alice")
    assert alice is not None
    [alices] = await app.memory.memories.current(alice.id)

    bob = {"sender": "bob"}
    assert "walrus" not in await use_tool(
        app, channel, fake_llm, "recall", {"query": "walrus"}, **bob
    )
    assert "walrus" not in await use_tool(app, channel, fake_llm, "recall", {"query": ""}, **bob)
    out = await use_tool(app, channel, fake_llm, "search_history", {"query": "walrus PIN"}, **bob)
    assert "walrus" not in out.replace("please use", "")
    out = await use_tool(app, channel, fake_llm, "forget", {"memory": str(alices.id)}, **bob)
    assert out.startswith("No memory matches")
    out = await use_tool(app, channel, fake_llm, "forget", {"memory": "walrus"}, **bob)
    assert out.startswith("No memory matches")
    assert [m.id for m in await app.memory.memories.current(alice.id)] == [alices.id]
    # Bob's own memory with the same key does not supersede Alice's.
    await use_tool(
        app, channel, fake_llm, "remember", {"text": "PIN hint is otter", "key": ""}, **bob
    )
    assert [m.id for m in await app.memory.memories.current(alice.id)] == [alices.id]


async def test_in_a_group_only_the_group_and_the_speaker(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await say(app, channel, "private: my diagnosis is hay fever", sender="alice")
    await use_tool(app, channel, fake_llm, "remember", {"text": "Has hay fever"}, sender="alice")
    await say(app, channel, "private: bob's hay fever remedy", sender="bob")
    group = {"chat": "room", "direct": False}
    await say(app, channel, "group: anyone for hay rides?", sender="carol", **group)

    out = await use_tool(
        app,
        channel,
        fake_llm,
        "search_history",
        {"query": "hay fever diagnosis"},
        sender="bob",
        **group,
    )
    assert "private:" not in out
    assert "group: anyone for hay rides?" in out
    out = await use_tool(
        app, channel, fake_llm, "recall", {"query": "hay fever"}, sender="bob", **group
    )
    assert "Has hay fever" not in out
    out = await use_tool(
        app, channel, fake_llm, "recall", {"query": "hay fever"}, sender="alice", **group
    )
    assert "Has hay fever" in out


async def test_search_history_and_recall_in_chinese_japanese_and_korean(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await say(app, channel, "我下周三要去上海开会，住在外滩旁边。")
    await say(app, channel, "昨日は東京で寿司を食べました")
    await say(app, channel, "Lunch was great")
    out = await use_tool(app, channel, fake_llm, "search_history", {"query": "什么时候去上海？"})
    assert "我下周三要去上海开会" in out.splitlines()[0]
    out = await use_tool(app, channel, fake_llm, "search_history", {"query": "寿司"})
    assert "東京で寿司を食べました" in out.splitlines()[0]

    await use_tool(app, channel, fake_llm, "remember", {"text": "对花生过敏", "key": "过敏"})
    await use_tool(app, channel, fake_llm, "remember", {"text": "강아지 이름은 초코"})
    out = await use_tool(app, channel, fake_llm, "recall", {"query": "我对什么过敏？"})
    assert "对花生过敏" in out and "초코" not in out
    out = await use_tool(app, channel, fake_llm, "recall", {"query": "강아지 이름"})
    assert "강아지 이름은 초코" in out and "花生" not in out
