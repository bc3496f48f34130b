"""Export and erase with two people seeded fully: Ana's export holds only Ana, and
erasing Ana leaves every row of Bob's identical (and his files: see
tests/bot/commands/test_memory.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.conversations import NewMessage, SavedFile, ToolCallRecord
from memory.db.models import Conversation
from memory.deliveries import DeliveryStore, OutgoingMessage
from memory.memories import MemoryStore
from memory.privacy import Erased, PrivacyStore
from memory.retrieval.embeddings import VectorStore
from memory.summaries import SummaryStore
from memory.usage import LLMCallRecord, UsageStore
from tests.memory.conftest import T0, Person, days, group, person

TABLES = (
    "users",
    "identities",
    "messages",
    "memories",
    "conversation_summaries",
    "deliveries",
    "embeddings",
    "llm_calls",
    "conversations",
)


async def _embed(texts: list[str]) -> list[list[float]]:
    return [[float(len(t)), 1.0, 0.5] for t in texts]


@dataclass
class Seeded:
    ana: Person
    bob: Person


async def seed_everything(engine: AsyncEngine) -> Seeded:
    """Each person: private chat with a file, a group chat together, current and
    superseded memories, a summary and profile, embeddings and model usage."""
    ana, bob = await person(engine, "ana"), await person(engine, "bob")
    room = await group(engine)
    memories, summaries, usage = MemoryStore(engine), SummaryStore(engine), UsageStore(engine)
    for who in (ana, bob):
        name = who.user.name
        photo = SavedFile("image", f"{name}.png", "image/png", f"files/{who.chat.id}/{name}.png", 3)
        await who.store.add_user_message(
            who.chat.id, who.user.id, f"{name} private secret", attachments=[photo]
        )
        await who.says(f"{name} says hello")
        await who.says(f"{name} in the group", chat=room)
        await memories.remember(who.user.id, f"{name} lives in town A", key="home")
        await memories.remember(who.user.id, f"{name} lives in town B", key="home")  # supersedes
        await memories.remember(who.user.id, f"{name} likes tea")
        await summaries.save(
            who.chat.id,
            summary=f"{name} summary",
            profile=f"{name} profile",
            through_turn=1,
            window_start=1,
        )
        await usage.record_llm_call(
            LLMCallRecord(
                "turn", "m", True, 10, 5, conversation_id=who.chat.id, user_id=who.user.id
            )
        )
        await VectorStore(engine, _embed, "e").index_pending(who.user.id)
        await DeliveryStore(engine).add(
            OutgoingMessage(f"r-{name}", "test", who.chat.chat_id, "", f"{name}, your reminder")
        )
    await summaries.save(
        room.id, summary="group summary", profile="", through_turn=1, window_start=1
    )
    return Seeded(ana, bob)


async def rows_of(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables that hold people's data."""
    metadata = MetaData()
    async with engine.connect() as connection:
        await connection.run_sync(lambda sync: metadata.reflect(sync, only=TABLES))
        found = {}
        for name in TABLES:
            table = metadata.tables[name]
            result = await connection.execute(select(table).order_by(*table.primary_key))
            found[name] = [dict(row._mapping) for row in result]
    return found


def bobs(rows: dict[str, list[dict[str, Any]]], bob: Person) -> dict[str, list[Any]]:
    """Bob's part of every table (by user, or by his private chat)."""
    mine = {}
    for name, table_rows in rows.items():
        mine[name] = [
            r
            for r in table_rows
            if r.get("user_id") == bob.user.id
            or r.get("owner_id") == bob.user.id
            or r.get("conversation_id") == bob.chat.id
            or r.get("chat_id") == bob.chat.chat_id
            or (name == "users" and r["id"] == bob.user.id)
        ]
    return mine


async def test_an_export_holds_the_one_person_only(engine: AsyncEngine) -> None:
    seeded = await seed_everything(engine)
    export = await PrivacyStore(engine).export(seeded.ana.user.id, T0)
    text = json.dumps(export, ensure_ascii=False)
    assert "Ana private secret" in text and "Ana likes tea" in text
    assert "Ana lives in town A" in text  # superseded memories are hers too
    assert "Ana summary" in text and "Ana profile" in text
    assert "Bob" not in text and "bob" not in text
    assert "group summary" not in text  # the group's summary is everyone's
    assert [s["summary"] for s in export["summaries"]] == ["Ana summary"]
    assert {i["id"] for i in export["identities"]} == {"ana"}
    assert len(export["model_usage"]) == 1
    assert all(m["text"].startswith(("Ana", "noted for Ana")) for m in export["messages"])


async def test_erasing_one_person_leaves_the_other_identical(engine: AsyncEngine) -> None:
    seeded = await seed_everything(engine)
    before = bobs(await rows_of(engine), seeded.bob)
    erased = await PrivacyStore(engine).erase(seeded.ana.user.id)
    after = await rows_of(engine)
    assert bobs(after, seeded.bob) == before
    assert erased.files == (f"files/{seeded.ana.chat.id}/Ana.png",)

    ana = seeded.ana.user.id
    assert [r["id"] for r in after["users"] if r["id"] == ana] == [ana]  # the account stays
    for name in ("messages", "memories", "embeddings", "llm_calls"):
        assert [r for r in after[name] if r.get("user_id") == ana] == [], name
    assert [r["text"] for r in after["deliveries"]] == ["Bob, your reminder"]
    summaries = [r["summary"] for r in after["conversation_summaries"]]
    assert "Ana summary" not in summaries and "group summary" in summaries
    assert "Bob in the group" in [r["content"] for r in after["messages"]]


@pytest.mark.parametrize("who", ["ana", "bob"])
async def test_export_and_erase_are_symmetric(engine: AsyncEngine, who: str) -> None:
    """The same holds whichever of the two is asked for (ids differ, rules do not)."""
    seeded = await seed_everything(engine)
    target, other = (seeded.ana, seeded.bob) if who == "ana" else (seeded.bob, seeded.ana)
    export = json.dumps(await PrivacyStore(engine).export(target.user.id, T0))
    assert other.user.name not in export
    before = bobs(await rows_of(engine), other)
    await PrivacyStore(engine).erase(target.user.id)
    assert bobs(await rows_of(engine), other) == before


def _times_checked(value: Any) -> Any:
    """The document with each timestamp checked to be ISO 8601 and replaced by "<time>"."""
    if isinstance(value, dict):
        checked = {}
        for key, item in value.items():
            if key in ("created_at", "updated_at", "at") and item is not None:
                datetime.fromisoformat(item)
                item = "<time>"
            checked[key] = _times_checked(item)
        return checked
    if isinstance(value, list):
        return [_times_checked(item) for item in value]
    return value


async def test_an_export_names_every_field(engine: AsyncEngine) -> None:
    """The document's shape is what people keep and other tools read: field by field."""
    seeded = await seed_everything(engine)
    ana = seeded.ana
    await ana.store.set_timezone(ana.user.id, "Europe/Lisbon")
    thread = await ana.store.open_conversation("test", "g1", "t1", is_direct=False, owner_id=None)
    await ana.says("Ana in a thread", chat=thread)
    context = await ana.store.load_context(ana.chat.id)
    [hello] = [m for m in context.messages if m.content == "Ana says hello"]
    await MemoryStore(engine).remember(
        ana.user.id,
        "Ana has the dentist on Friday",
        kind="plan",
        source_message_id=hello.id,
        expires_at=T0 + days(4),
    )
    await ana.store.record_step(
        ana.chat.id,
        ana.user.id,
        9,
        [NewMessage("assistant", "", (ToolCallRecord("call-1", "current_time", "{}"),))],
    )
    # The photo is answered last: its row changes after later ones were written, and the
    # export still lists messages in the order they came.
    [secret] = [m for m in context.messages if m.content == "Ana private secret"]
    await ana.store.record_step(
        ana.chat.id, ana.user.id, 10, [NewMessage("assistant", "Nice photo")], [secret.id]
    )

    export = await PrivacyStore(engine).export(ana.user.id, T0)
    messages = export["messages"]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    assert [m["at"] for m in messages if m["text"] == "Ana says hello"] == [T0.isoformat()]
    memories = export["memories"]
    assert [m["expires_at"] for m in memories] == [None, None, None, (T0 + days(4)).isoformat()]
    superseded, current = memories[0]["id"], memories[1]["id"]
    photo = {
        "kind": "image",
        "name": "Ana.png",
        "mime_type": "image/png",
        "path": f"files/{ana.chat.id}/Ana.png",
        "size": 3,
    }

    def message(text: str, role: str = "user", chat: str = "dm-ana", **more: Any) -> dict:
        private = chat == "dm-ana"
        return {
            "chat": f"test:{chat}",
            "private_chat": private,
            "role": role,
            "speaker": None,
            "text": text,
            "tool_calls": None,
            "attachments": None,
            "at": "<time>",
        } | more

    def memory(text: str, key: str = "", kind: str = "fact", **more: Any) -> dict:
        return {
            "kind": kind,
            "key": key,
            "text": text,
            "current": True,
            "superseded_by": None,
            "source_message_id": None,
            "created_at": "<time>",
            "updated_at": "<time>",
            "expires_at": None,
        } | more

    without_ids = _times_checked(export)
    for part in ("messages", "memories"):
        for item in without_ids[part]:
            del item["id"]
    assert without_ids == {
        "format": "clawling-export-1",
        "exported_at": "2026-05-03T12:00:00+00:00",
        "user": {
            "account": "test:ana",
            "name": "Ana",
            "timezone": "Europe/Lisbon",
            "created_at": "<time>",
            "role": "member",
            "status": "active",
            "daily_tokens": None,
            "monthly_tokens": None,
        },
        "identities": [
            {"platform": "test", "id": "ana", "name": "Ana", "username": None, "linked_at": None}
        ],
        "memories": [
            memory("Ana lives in town A", "home", current=False, superseded_by=current),
            memory("Ana lives in town B", "home"),
            memory("Ana likes tea"),
            memory(
                "Ana has the dentist on Friday",
                kind="plan",
                source_message_id=hello.id,
                expires_at=(T0 + days(4)).isoformat(),
            ),
        ],
        "messages": [
            message("Ana private secret", attachments=[photo]),
            message("Ana says hello"),
            message("noted for Ana", "assistant"),
            message("Ana in the group", chat="g1"),
            message("noted for Ana", "assistant", chat="g1"),
            message("Ana in a thread", chat="g1/t1"),
            message("noted for Ana", "assistant", chat="g1/t1"),
            message(
                "",
                "assistant",
                tool_calls=[{"id": "call-1", "name": "current_time", "arguments": "{}"}],
            ),
            message("Nice photo", "assistant"),
        ],
        "summaries": [{"chat": "test:dm-ana", "summary": "Ana summary", "profile": "Ana profile"}],
        "model_usage": [
            {
                "at": "<time>",
                "model": "m",
                "purpose": "turn",
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "cached_tokens": 0,
                "estimated": False,
            }
        ],
    }
    assert superseded < current


async def test_an_unknown_person_has_nothing_to_export(engine: AsyncEngine) -> None:
    with pytest.raises(LookupError, match="no user 4711"):
        await PrivacyStore(engine).export(4711, T0)


async def test_erasing_says_what_went_and_erasing_again_finds_nothing(
    engine: AsyncEngine,
) -> None:
    """Everything in Ana's private chat goes, also what nobody in particular wrote there
    (a reminder); in the group only what she wrote or was written for her."""
    seeded = await seed_everything(engine)
    ana = seeded.ana
    await ana.store.record_step(ana.chat.id, None, 7, [NewMessage("assistant", "Reminder: tea")])
    privacy = PrivacyStore(engine)

    erased = await privacy.erase(ana.user.id)
    assert erased == Erased(
        messages=6, memories=3, summaries=1, files=(f"files/{ana.chat.id}/Ana.png",)
    )
    left = await rows_of(engine)
    assert [r["content"] for r in left["messages"] if r["conversation_id"] == ana.chat.id] == []
    assert await privacy.erase(ana.user.id) == Erased(0, 0, 0, ())


async def test_a_group_chat_is_never_private_even_with_an_owner_recorded(
    engine: AsyncEngine,
) -> None:
    """Conversations are stored with an owner only when direct, but export and erase do
    not rely on that: a group row naming Ana as owner stays everyone's."""
    seeded = await seed_everything(engine)
    ana, bob = seeded.ana, seeded.bob
    room = await group(engine)  # the same g1 the seed made
    await DeliveryStore(engine).add(OutgoingMessage("r-g1", "test", "g1", "", "group reminder"))
    async with engine.begin() as connection:
        await connection.execute(
            update(Conversation).where(Conversation.id == room.id).values(owner_id=ana.user.id)
        )

    export = await PrivacyStore(engine).export(ana.user.id, T0)
    assert [s["summary"] for s in export["summaries"]] == ["Ana summary"]
    before = bobs(await rows_of(engine), bob)
    await PrivacyStore(engine).erase(ana.user.id)
    after = await rows_of(engine)
    assert bobs(after, bob) == before
    assert [r["summary"] for r in after["conversation_summaries"]] == [
        "Bob summary",
        "group summary",
    ]
    assert sorted(r["text"] for r in after["deliveries"]) == [
        "Bob, your reminder",
        "group reminder",
    ]


async def test_erasing_with_the_data_dir_deletes_the_files_inside_it_only(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    seeded = await seed_everything(engine)
    data = tmp_path / "data"
    files = {
        who: data / f"files/{p.chat.id}/{p.user.name}.png"
        for who, p in (("ana", seeded.ana), ("bob", seeded.bob))
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
    outside = tmp_path / "keep.png"
    outside.write_bytes(b"mine")
    escaping = SavedFile("image", "x.png", "image/png", "../keep.png", 3)
    await seeded.ana.store.add_user_message(
        seeded.ana.chat.id, seeded.ana.user.id, "look", attachments=[escaping]
    )

    erased = await PrivacyStore(engine).erase(seeded.ana.user.id, data)
    assert "../keep.png" in erased.files
    assert not files["ana"].exists()
    assert files["bob"].exists() and outside.exists()
