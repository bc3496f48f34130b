"""SQLAlchemy models. Alembic migrations own the schema; these must agree with them
(tests/memory/db/test_migrations.py checks it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from memory.db.sqltypes import Content, Id, UtcDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def table(model: type[Base]) -> Table:
    """The model's Core table, for statements that skip the ORM on hot paths."""
    return cast(Table, model.__table__)


class User(Base):
    """A person. `role` is "owner" (administers) or "member"; `status` is "active",
    "blocked" (no answer at all) or "removed" (access taken away, data kept).
    Quotas are tokens per day and month: NULL takes the deployment's default
    (CLAWLING_DAILY_TOKENS / CLAWLING_MONTHLY_TOKENS), 0 is unlimited."""

    __tablename__ = "users"
    # Server defaults are not read back on insert (voice_replies, below, stays unnamed).
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    daily_tokens: Mapped[int | None] = mapped_column(BigInteger)
    monthly_tokens: Mapped[int | None] = mapped_column(BigInteger)
    # The budget period the person was last told about (80 %, 100 %), so they are told once.
    quota_notice: Mapped[str | None] = mapped_column(String(64))
    # Answers also as voice notes (/voice on; memory/voice.py). Deferred, and defaulted by
    # the database only: loading or adding a person never names it, so code that works
    # on a database before 0012_voice (migration tests) still does.
    voice_replies: Mapped[bool] = mapped_column(Boolean, server_default=false(), deferred=True)


class Identity(Base):
    """One platform account of a person; several may point at one user."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The platform's @username when it has one (Telegram), for allowlists and listings.
    username: Mapped[str | None] = mapped_column(String(200))
    # Set when this account was joined to a person by /link (so /unlink knows it).
    linked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Conversation(Base):
    """One chat, or one thread of a chat, on one channel."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "thread_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(200))
    thread_id: Mapped[str] = mapped_column(String(200), default="")
    is_direct: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The model sees turns from this one on; /new and the context window move it.
    context_from_turn: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Message(Base):
    """Every message of a conversation: user, assistant (with tool calls) and tool results.

    `turn` is NULL while a user message waits to be answered; the turn that
    answers it stamps its number, so history reads in the order the model saw it.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_turn", "conversation_id", "turn", "id"),
        UniqueConstraint("conversation_id", "platform_message_id"),
        # Messages waiting for an answer (migration 0019_waiting).
        Index(
            "ix_messages_waiting",
            "created_at",
            postgresql_where=text("turn IS NULL"),
            sqlite_where=text("turn IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    turn: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Content, default="")
    tool_calls: Mapped[list[Any] | None] = mapped_column(JSON)
    tool_call_id: Mapped[str | None] = mapped_column(String(200))
    # Files that came with a user message: [{kind, name, mime_type, path, size}].
    attachments: Mapped[list[Any] | None] = mapped_column(JSON)
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Who said it, when that is not the user row (imported history); searchable.
    speaker: Mapped[str | None] = mapped_column(String(200))
    # Came from outside the person's own words, or was written while such content was in
    # the model's context (bot/safety/gate.py): side effects still need a yes.
    untrusted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Too large for the model's window: kept, but left out of what the model sees.
    set_aside: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Turn(Base):
    """One turn of a conversation, claimed with the first messages that carry its number:
    the primary key keeps two processes from both answering as turn N
    (memory/turns.py `claim_turn`)."""

    __tablename__ = "turns"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)


class StopRequest(Base):
    """When `/stop` was last asked for a conversation's turn running in another replica
    (bot/chat/stops.py): found there even when the notice was missed."""

    __tablename__ = "stop_requests"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Replica(Base):
    """A running process that answers people (`clawling run`, `clawling chat`), seen by
    its heartbeat; what it claimed (deliveries, approvals) is its own while it lives
    (memory/replicas.py)."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # NULL once it stopped cleanly.
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LLMCall(Base):
    """One request to the model endpoint, successful or not, with its token usage."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200))
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Content)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    # The endpoint reported no usage; the tokens are our estimate (memory/usage.py).
    estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class MemoryItem(Base):
    """One thing remembered about a person: a fact, preference, person or plan.

    A newer memory that contradicts this one sets `superseded_by_id`; the old one
    stays as history (and is deleted with the newer one) but is no longer current.
    Full-text indexes (FTS5 table / `search_vector` column) are made by the migration.
    """

    __tablename__ = "memories"
    __table_args__ = (Index("ix_memories_user_key", "user_id", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Content)
    source_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memories.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Saved from untrusted content: recalled as data, never in the profile snapshot.
    untrusted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ConversationSummary(Base):
    """The slowly changing context of a conversation: its rolling summary and a
    snapshot of what is known about its owner, rebuilt only when the window moves."""

    __tablename__ = "conversation_summaries"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    summary: Mapped[str] = mapped_column(Content, default="")
    profile: Mapped[str] = mapped_column(Content, default="")
    # The summary covers turns before this one.
    through_turn: Mapped[int] = mapped_column(Integer, default=0)
    # The context start this background was built for; a move rebuilds the profile.
    window_start: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Made from untrusted messages (until /new starts a context without it).
    untrusted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Embedding(Base):
    """A message's or memory's vector, as packed float32 (portable across databases)."""

    __tablename__ = "embeddings"
    __table_args__ = (
        UniqueConstraint("message_id", "model"),
        UniqueConstraint("memory_id", "model"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    memory_id: Mapped[int | None] = mapped_column(ForeignKey("memories.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProcessedEvent(Base):
    """A platform event already taken, so a redelivery (Slack retries) is not answered twice."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("platform", "event_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class InboxEvent(Base):
    """A webhook or HTTP event stored before its 200 was answered, until it is handed to its
    adapter (memory/inbox.py). Kept a day after that, so a redelivery is stored once."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index("ix_inbox_chat_waiting", "platform", "chat", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    # Events of one chat are handed on one at a time, in the order they were stored.
    chat: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class UserSkill(Base):
    """A skill one person's assistant drafted (or they added): its SKILL.md text.

    `status` is "pending" until its owner approves ("active") or rejects it; an
    approved update turns the previous active version into "replaced".
    """

    __tablename__ = "user_skills"
    __table_args__ = (Index("ix_user_skills_user_status", "user_id", "status", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(1024))
    content: Mapped[str] = mapped_column(Content)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Approval(Base):
    """A tool call that waits for a person's yes or no in the chat (see bot/safety/approvals.py)."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_conversation_status", "conversation_id", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    tool_name: Mapped[str] = mapped_column(String(200))
    arguments: Mapped[str] = mapped_column(Content)
    summary: Mapped[str] = mapped_column(Content)
    reason: Mapped[str] = mapped_column(Content)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The replica whose turn waits for the answer (`replicas.id`; NULL before 0014).
    owner: Mapped[str | None] = mapped_column(String(100))
    # Who answered (`platform:id`, or "system"), on whichever replica the answer reached.
    decided_by: Mapped[str | None] = mapped_column(String(200))


class Job(Base):
    """A reminder, recurring prompt, standing instruction or heartbeat (issue 6).

    APScheduler only keeps the timer (job id `job-<id>`); what the job means,
    who it is for and where it reports live here. `schedule` is the parsed
    `bot.background.when` spec (at / cron / every), `next_run_at` the fire time we expect next.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # reminder, prompt, instruction, heartbeat
    text: Mapped[str] = mapped_column(Content, default="")
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)  # active, done, cancelled, missed
    next_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Task(Base):
    """A long-horizon background task; `task_events` is its append-only log."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_status_parent", "status", "parent_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    # Set for tasks started by a job, so a job that fires twice starts one task.
    origin: Mapped[str | None] = mapped_column(String(200), unique=True)
    goal: Mapped[str] = mapped_column(Content)
    success_check: Mapped[str] = mapped_column(Content, default="")
    plan: Mapped[str] = mapped_column(Content, default="")
    notes: Mapped[str] = mapped_column(Content, default="")
    status: Mapped[str] = mapped_column(String(24))
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(Integer, default=0)
    max_steps: Mapped[int] = mapped_column(Integer)
    max_tokens: Mapped[int] = mapped_column(Integer)
    max_seconds: Mapped[int] = mapped_column(Integer)
    tokens_used: Mapped[int] = mapped_column(Integer, default=0)
    seconds_used: Mapped[float] = mapped_column(Float, default=0.0)
    # Recent step results, sub-task results, a pending answer: what the next step needs.
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON)
    question: Mapped[str | None] = mapped_column(Content)
    result: Mapped[str | None] = mapped_column(Content)
    status_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TaskEvent(Base):
    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Content, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Delivery(Base):
    """A message the background sends to a chat, sent once: `key` is its idempotency key."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_channel", "status", "channel"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(200))
    thread_id: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Content)
    status: Mapped[str] = mapped_column(String(16))  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The replica sending it while `sending` (`replicas.id`; NULL before 0014).
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    # [[label, command], ...]: buttons under the message where the platform has them.
    buttons: Mapped[list[list[str]] | None] = mapped_column(JSON)
    # `chat_id` is a platform account: sent to that person's private chat with the
    # assistant, found when sending (bot/chat/channels.py DirectChats).
    to_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ModelWindow(Base):
    """What was learnt about one model at one endpoint: its context window and how its
    tokenizer counts against our estimate (bot/llm/window.py)."""

    __tablename__ = "model_windows"
    __table_args__ = (UniqueConstraint("base_url", "model"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    base_url: Mapped[str] = mapped_column(String(500))
    model: Mapped[str] = mapped_column(String(200))
    context_tokens: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32), default="")
    token_ratio: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PairingRequest(Base):
    """A stranger asking to talk to the assistant, with the code an owner approves.

    Nothing else of a stranger is stored: no user row, no message, until approved.
    `status`: "pending", "approved", "denied" or "expired".
    """

    __tablename__ = "pairing_requests"
    __table_args__ = (
        UniqueConstraint("code"),
        Index("ix_pairing_requests_platform_external", "platform", "external_id", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(200))
    # Where to tell them the answer: their private chat with the assistant.
    chat_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LinkCode(Base):
    """A one-time code from /link: sent from another account, it joins that account to
    `user_id`. Issued for the account `platform:external_id` that asked."""

    __tablename__ = "link_codes"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """One line of the append-only audit trail: who did what, to whom, when, from where.

    People are kept as `platform:id` text as well as ids, so an entry still names them
    after their rows are erased (/forget_me)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(200))  # platform:id, "cli" or "system"
    platform: Mapped[str] = mapped_column(String(32))  # where it was done: telegram, cli...
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TokenHold(Base):
    """Tokens reserved for a model call in flight, so calls running at once for one person
    cannot all pass a nearly spent budget. The call's `llm_calls` row replaces it (in one
    transaction); a hold whose process died lapses at `expires_at`."""

    __tablename__ = "token_holds"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    tokens: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DashboardLink(Base):
    """A one-time login link to the web dashboard (/dashboard, `clawling dashboard link`).
    Only the token's SHA-256 is kept; it works once, until `expires_at`."""

    __tablename__ = "dashboard_links"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DashboardSession(Base):
    """A browser logged in to the dashboard: the cookie's SHA-256, the form token (CSRF)
    and when it ends. Deleted on logout; worthless once the person is not active."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
