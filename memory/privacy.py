"""Everything stored about one person: export it, or delete it.

What counts as "about me": my user row and platform identities, every message
I sent and every reply written for me (in any chat), my memories with their
history, the summaries of my private conversations, my embeddings, my model
usage, and what was queued or sent to my private chats (deliveries). Other people's messages in shared group chats are theirs, not mine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import (
    Conversation,
    ConversationSummary,
    Delivery,
    Embedding,
    Identity,
    LLMCall,
    MemoryItem,
    Message,
    User,
)

EXPORT_FORMAT = "clawling-export-1"


@dataclass(frozen=True)
class Erased:
    messages: int
    memories: int
    summaries: int
    files: tuple[str, ...]  # attachment paths (relative to the data dir) to delete


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class PrivacyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine)  # nothing is read after a commit

    async def export(self, user_id: int, now: datetime) -> dict[str, Any]:
        """A JSON-ready document of everything stored about the user."""
        async with self._sessions() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise LookupError(f"no user {user_id}")
            identities = list(
                (
                    await session.execute(
                        select(Identity).where(Identity.user_id == user_id).order_by(Identity.id)
                    )
                ).scalars()
            )
            messages = list(
                (
                    await session.execute(
                        select(Message, Conversation)
                        .join(Conversation)  # by the one foreign key: messages.conversation_id
                        .where(Message.user_id == user_id)
                        .order_by(Message.id)
                    )
                ).all()
            )
            memories = (
                await session.execute(
                    select(MemoryItem).where(MemoryItem.user_id == user_id).order_by(MemoryItem.id)
                )
            ).scalars()
            summaries = (
                await session.execute(
                    select(ConversationSummary, Conversation)
                    .join(Conversation)  # by the one foreign key
                    .where(Conversation.owner_id == user_id, Conversation.is_direct.is_(True))
                )
            ).all()
            usage = (
                await session.execute(
                    select(LLMCall).where(LLMCall.user_id == user_id).order_by(LLMCall.id)
                )
            ).scalars()
            return {
                "format": EXPORT_FORMAT,
                "exported_at": now.isoformat(),
                "user": {
                    # Named as everywhere else, by their first account (`platform:id`).
                    "account": (
                        f"{identities[0].platform}:{identities[0].external_id}"
                        if identities
                        else None
                    ),
                    "name": user.name,
                    "timezone": user.timezone,
                    "created_at": _time(user.created_at),
                    "role": user.role,
                    "status": user.status,
                    "daily_tokens": user.daily_tokens,
                    "monthly_tokens": user.monthly_tokens,
                },
                "identities": [
                    {
                        "platform": i.platform,
                        "id": i.external_id,
                        "name": i.display_name,
                        "username": i.username,
                        "linked_at": _time(i.linked_at),
                    }
                    for i in identities
                ],
                "memories": [
                    {
                        "id": m.id,
                        "kind": m.kind,
                        "key": m.key,
                        "text": m.content,
                        "current": m.superseded_by_id is None,
                        "superseded_by": m.superseded_by_id,
                        "source_message_id": m.source_message_id,
                        "created_at": _time(m.created_at),
                        "updated_at": _time(m.updated_at),
                        "expires_at": _time(m.expires_at),
                    }
                    for m in memories
                ],
                "messages": [
                    {
                        "id": m.id,
                        "chat": f"{c.channel}:{c.chat_id}"
                        + (f"/{c.thread_id}" if c.thread_id else ""),
                        "private_chat": c.is_direct,
                        "role": m.role,
                        "speaker": m.speaker,
                        "text": m.content,
                        "tool_calls": m.tool_calls,
                        "attachments": m.attachments,
                        "at": _time(m.created_at),
                    }
                    for m, c in messages
                ],
                "summaries": [
                    {"chat": f"{c.channel}:{c.chat_id}", "summary": s.summary, "profile": s.profile}
                    for s, c in summaries
                ],
                "model_usage": [
                    {
                        "at": _time(u.created_at),
                        "model": u.model,
                        "purpose": u.purpose,
                        "prompt_tokens": u.prompt_tokens,
                        "completion_tokens": u.completion_tokens,
                        "cached_tokens": u.cached_tokens,
                        "estimated": u.estimated,  # counted by us: the endpoint reported none
                    }
                    for u in usage
                ],
            }

    async def erase(self, user_id: int, data_dir: Path | None = None) -> Erased:
        """Delete everything about the user except the account link itself (user row and
        identities), so the person can go on talking and starts from nothing.

        With `data_dir`, the files they sent (attachments kept under it) are deleted too,
        after the rows: /forget_me, `clawling memory forget --everything` and
        `clawling users remove --forget` all erase through here, so they erase alike."""
        async with self._sessions() as session, session.begin():
            attachments = (
                await session.execute(
                    select(Message.attachments).where(
                        Message.user_id == user_id, Message.attachments.is_not(None)
                    )
                )
            ).scalars()
            files = tuple(
                str(item["path"]) for group in attachments for item in group or () if "path" in item
            )
            own_private = select(Conversation.id).where(
                Conversation.owner_id == user_id, Conversation.is_direct.is_(True)
            )
            summaries = await session.execute(
                delete(ConversationSummary).where(
                    ConversationSummary.conversation_id.in_(own_private)
                )
            )
            await session.execute(
                update(MemoryItem)
                .where(MemoryItem.user_id == user_id)
                .values(superseded_by_id=None)
            )
            memories = await session.execute(
                delete(MemoryItem).where(MemoryItem.user_id == user_id)
            )
            await session.execute(delete(Embedding).where(Embedding.user_id == user_id))
            messages = await session.execute(
                delete(Message).where(
                    or_(Message.user_id == user_id, Message.conversation_id.in_(own_private))
                )
            )
            await session.execute(delete(LLMCall).where(LLMCall.user_id == user_id))
            # Answers and reminders queued for or sent to the person's private chats.
            chats = select(Conversation.channel, Conversation.chat_id).where(
                Conversation.owner_id == user_id, Conversation.is_direct.is_(True)
            )
            await session.execute(
                delete(Delivery).where(tuple_(Delivery.channel, Delivery.chat_id).in_(chats))
            )
        if data_dir is not None:
            _delete_files(data_dir, files)
        return Erased(
            messages=int(messages.rowcount or 0),  # type: ignore[attr-defined]
            memories=int(memories.rowcount or 0),  # type: ignore[attr-defined]
            summaries=int(summaries.rowcount or 0),  # type: ignore[attr-defined]
            files=files,
        )


def _delete_files(data_dir: Path, files: tuple[str, ...]) -> None:
    """Delete the attachments, never a path that leads outside the data dir."""
    root = data_dir.resolve()
    for relative in files:
        path = (data_dir / relative).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)
