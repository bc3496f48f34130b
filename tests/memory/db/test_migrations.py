"""Every migration runs up and down on SQLite and PostgreSQL, and the models agree
with what the migrations build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from memory import db
from memory.conversations import ConversationStore
from memory.db import include_name
from memory.db.models import Base
from memory.memories import MemoryStore
from memory.retrieval.scopes import Scope
from memory.retrieval.search import Searcher


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(db.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"include_name": include_name, "compare_type": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return {t for t in inspect(connection).get_table_names() if include_name(t, "table", {})}


async def test_each_migration_goes_up_and_down(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        revisions = _revisions()
        assert revisions[0] == "0001"
        for revision in revisions:
            await db.upgrade(engine, revision)
            assert await db.current_revision(engine) == revision
        for revision in reversed(revisions[:-1]):
            await db.downgrade(engine, revision)
            assert await db.current_revision(engine) == revision
        await db.downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == {"alembic_version"} or (
                await connection.run_sync(_tables) == set()
            )
        await db.upgrade(engine, "head")
        assert await db.current_revision(engine) == db.head_revision()
    finally:
        await engine.dispose()


async def test_models_match_migrations(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
        assert differences == []
    finally:
        await engine.dispose()


def test_processes_starting_together_migrate_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    env.update(CLAWLING_DATABASE_URL=database_url, CLAWLING_DATA_DIR=str(tmp_path))
    command = [str(Path(sys.executable).parent / "clawling"), "db", "upgrade"]
    starters = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in starters]
    head = db.head_revision()
    for out, err, code in results:
        assert code == 0, err
        assert out == f"database at {head}\n"


async def test_upgrading_keeps_the_data_of_the_first_release(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine, "0001")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, name, created_at) VALUES (1, 'Ana', '2026-01-02 03:04:05')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO identities (id, user_id, platform, external_id, display_name, created_at)"
                    " VALUES (1, 1, 'telegram', '42', 'Ana', '2026-01-02 03:04:05')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO conversations (id, channel, chat_id, thread_id, is_direct, owner_id,"
                    " context_from_turn, created_at) VALUES (1, 'telegram', '42', '', true, 1, 0,"
                    " '2026-01-02 03:04:05')"
                )
            )
            for i, (role, content) in enumerate(
                [
                    ("user", "my cat is Miso"),
                    ("assistant", "Nice!"),
                    ("tool", '<untrusted_data source="web page x">\nhi\n</untrusted_data>'),
                    ("user", "see this\n\n[File a.txt]\n```\nbuy milk\n```"),
                ]
            ):
                await connection.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, user_id, turn, role, content,"
                        " created_at) VALUES (:id, 1, 1, 1, :role, :content, '2026-01-02 03:04:05')"
                    ),
                    {"id": i + 1, "role": role, "content": content},
                )
        await db.upgrade(engine)
        store = ConversationStore(engine)
        user = await store.resolve_identity("telegram", "42", "Ana")
        assert user.id == 1
        context = await store.load_context(1)
        assert [m.content for m in context.messages][:2] == ["my cat is Miso", "Nice!"]
        # Outside content stored before 0006 is marked untrusted by it.
        assert [m.untrusted for m in context.messages] == [False, False, True, True]
        assert context.next_turn == 2
    finally:
        await engine.dispose()


async def test_full_text_search_still_finds_new_rows_after_every_migration(
    database_url: str,
) -> None:
    """A migration that rebuilds a table (SQLite's batch mode) would silently drop the
    full-text triggers: new messages would never be found again."""
    engine = db.create_engine(database_url)
    try:
        for revision in _revisions():
            await db.upgrade(engine, revision)
        store = ConversationStore(engine)
        user = await store.resolve_identity("test", "u1", "Ana")
        conversation = await store.open_conversation(
            "test", "c1", "", is_direct=True, owner_id=user.id
        )
        await store.add_user_message(conversation.id, user.id, "the zebra crossing is blocked")
        await MemoryStore(engine).remember(user.id, "Keeps a pet zebra")
        searcher = Searcher(engine)
        found = await searcher.search_messages(Scope(user.id), "zebra", limit=5)
        assert [hit.text for hit in found] == ["the zebra crossing is blocked"]
        memories = await searcher.search_memories(user.id, "zebra", limit=5)
        assert [hit.memory.content for hit in memories] == ["Keeps a pet zebra"]
    finally:
        await engine.dispose()


async def test_cjk_search_reindexes_what_was_stored_before_it_and_goes_down_cleanly(
    database_url: str,
) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine, "0009_people")
        store = ConversationStore(engine)
        user = await store.resolve_identity("test", "u1", "Ana")
        conversation = await store.open_conversation(
            "test", "c1", "", is_direct=True, owner_id=user.id
        )
        await store.add_user_message(conversation.id, user.id, "我明天去上海开会 with the zebra")
        await MemoryStore(engine).remember(user.id, "对花生过敏", key="过敏")
        searcher = Searcher(engine)
        assert await searcher.search_messages(Scope(user.id), "上海") == []

        await db.upgrade(engine, "0010_cjk_search")
        searcher = Searcher(engine)
        [found] = await searcher.search_messages(Scope(user.id), "上海", limit=5)
        assert found.text == "我明天去上海开会 with the zebra"
        [memory] = await searcher.search_memories(user.id, "过敏", limit=5)
        assert memory.memory.content == "对花生过敏"

        await db.downgrade(engine, "0009_people")
        searcher = Searcher(engine)
        assert await searcher.search_messages(Scope(user.id), "上海") == []
        [found] = await searcher.search_messages(Scope(user.id), "zebra", limit=5)
        assert found.text == "我明天去上海开会 with the zebra"
        await store.add_user_message(conversation.id, user.id, "a second zebra")
        assert len(await searcher.search_messages(Scope(user.id), "zebra", limit=5)) == 2
    finally:
        await engine.dispose()
