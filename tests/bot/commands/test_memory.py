"""/memory, /forget, /export, /forget_me and /compact through the session manager."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import App, build_app
from bot.settings import Settings
from tests.bot.harness.memory import say, use_tool
from tests.fakes.chat import FileChannel, RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


async def _alice_id(app: App) -> int:
    alice = await app.memory.history.find_user("test:alice")
    assert alice is not None
    return alice.id


async def test_memory_is_paged_and_forget_takes_ids_or_text(
    app: App, channel: RecordingChannel
) -> None:
    assert await say(app, channel, "/memory") == "I don't remember anything about you yet."
    await say(app, channel, "hello")
    alice = await _alice_id(app)
    for i in range(12):
        await app.memory.memories.remember(alice, f"Fact number {i:02d}")
    first = await say(app, channel, "/memory")
    assert "(1–10 of 12)" in first and "More: /memory 2" in first
    second = await say(app, channel, "/memory 2")
    assert "(11–12 of 12)" in second and "More:" not in second
    newest = (await app.memory.memories.current(alice, limit=1))[0]
    assert f"#{newest.id}" in await say(app, channel, f"/forget {newest.id}")
    assert "Fact number 03" in await say(app, channel, "/forget number 03")
    assert await app.memory.memories.count_current(alice) == 10
    assert "Nothing I remember matches" in await say(app, channel, "/forget zebra")
    assert "Usage:" in await say(app, channel, "/forget")


async def test_export_is_a_file_where_the_app_takes_files(app: App, fake_llm: FakeOpenAI) -> None:
    files = FileChannel()
    app.add_channel(files)
    await use_tool(app, files, fake_llm, "remember", {"text": "Likes figs"})
    answer = await say(app, files, "/export")
    assert answer.startswith("Sent your export: 1 memories")
    document = json.loads(files.files[0].data)
    assert document["memories"][0]["text"] == "Likes figs"
    assert {m["text"] for m in document["messages"]} >= {"please use remember"}
    assert document["identities"] == [
        {"platform": "files", "id": "alice", "name": "Alice", "username": None, "linked_at": None}
    ]
    assert document["user"]["account"] == "files:alice" and "id" not in document["user"]


async def test_export_is_saved_where_the_app_cannot_take_files(
    app: App, channel: RecordingChannel
) -> None:
    await say(app, channel, "my plants need water on Sundays")
    answer = await say(app, channel, "/export")
    path = answer.rsplit(" ", 1)[-1]
    assert path.startswith(str(app.settings.core.data_dir / "exports"))
    document = json.loads(Path(path).read_bytes())  # noqa: ASYNC240
    assert "my plants need water on Sundays" in [m["text"] for m in document["messages"]]


async def test_forget_me_needs_confirmation_then_erases_only_me(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await use_tool(app, channel, fake_llm, "remember", {"text": "Alice owns a kayak"})
    await use_tool(app, channel, fake_llm, "remember", {"text": "Bob owns a canoe"}, sender="bob")
    assert "send /forget_me yes" in await say(app, channel, "/forget_me yes")  # not asked yet
    assert await app.memory.memories.count_current(await _alice_id(app)) == 1
    assert "To confirm" in await say(app, channel, "/forget_me")
    answer = await say(app, channel, "/forget_me yes")
    assert answer.startswith("Done. I deleted 1 memories")
    alice = await _alice_id(app)
    assert await app.memory.memories.all(alice) == []
    document = await app.memory.privacy.export(alice, app.agent._now())  # noqa: SLF001
    assert document["messages"] == [] and document["model_usage"] == []
    bob = await app.memory.history.find_user("test:bob")
    assert bob is not None and await app.memory.memories.count_current(bob.id) == 1
    # Alice can go on talking, from nothing.
    assert await say(app, channel, "hi again") == "echo: hi again"


async def test_forget_me_confirmation_expires(settings: Settings) -> None:
    clock = [datetime(2026, 6, 1, 9, 0, tzinfo=UTC)]
    app = build_app(settings, now=lambda: clock[0])
    await app.prepare_database()
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        await say(app, channel, "/forget_me")
        clock[0] += timedelta(minutes=6)
        assert "To confirm" in await say(app, channel, "/forget_me yes")
        clock[0] += timedelta(minutes=4)
        assert (await say(app, channel, "/forget_me yes")).startswith("Done.")
    finally:
        await app.close()


async def test_private_commands_refuse_in_groups(app: App, channel: RecordingChannel) -> None:
    for command in ("memory", "forget 1", "export", "forget_me yes"):
        answer = await say(app, channel, f"/{command}", chat="room", direct=False)
        assert answer.startswith("For your privacy, use /")


async def test_commands_show_and_touch_only_my_data(app: App, fake_llm: FakeOpenAI) -> None:
    files = FileChannel()
    app.add_channel(files)
    await use_tool(app, files, fake_llm, "remember", {"text": "Alice's door code is 4711"})
    await say(app, files, "alice private: my locker is 12")
    found = await app.memory.history.find_user("files:alice")
    assert found is not None
    alice = found.id
    [secret] = await app.memory.memories.current(alice)
    bob = {"sender": "bob"}
    await say(app, files, "hello from bob", **bob)

    assert "4711" not in await say(app, files, "/memory", **bob)
    assert "Nothing I remember matches" in await say(app, files, f"/forget {secret.id}", **bob)
    assert "Nothing I remember matches" in await say(app, files, "/forget door code", **bob)
    await say(app, files, "/export", **bob)
    exported = files.files[-1].data.decode()
    assert "4711" not in exported and "locker" not in exported and "hello from bob" in exported
    await say(app, files, "/forget_me", **bob)
    await say(app, files, "/forget_me yes", **bob)
    assert [m.id for m in await app.memory.memories.current(alice)] == [secret.id]
    document = await app.memory.privacy.export(alice, datetime.now(UTC))
    assert "alice private: my locker is 12" in [m["text"] for m in document["messages"]]
