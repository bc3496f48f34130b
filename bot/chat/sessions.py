"""The session manager: one ordered queue per conversation, many conversations at once.

`handle()` stores an incoming message and returns at once; a worker per busy
conversation runs its turns strictly in order, under a global limit on
concurrent turns. Messages that arrive during a turn are answered together in
the next one.

Several replicas (PostgreSQL): `/stop` reaching this replica while another one runs the
conversation's turn (it holds the turn lock, memory/db/turn_lock.py) is passed on to
that replica, which cancels the turn as a local `/stop` would (bot/chat/stops.py).
`/new` waits for the turn lock like a turn and
moves the context in SQL, which every turn reads, so it counts wherever the next turn
runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.agent.loop import Agent
from bot.chat.accounts import Accounts
from bot.chat.attachments import Absorbed, FileKeeper
from bot.chat.channels import (
    Admission,
    ChatRef,
    Inbound,
    MessageRef,
    ReplyStream,
    Screen,
    ShowsActivity,
)
from bot.chat.delivery import SentMarks
from bot.chat.outbox import Outbox
from bot.chat.spoken import SpokenReplies
from bot.chat.stops import RemoteStops, RunningTurn
from bot.chat.voice import Ears
from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.errors import TransportError
from bot.llm.client import LLMError
from bot.llm.quota import QuotaExceeded
from bot.llm.transcription import Listener
from bot.logcontext import turn_context
from memory.conversations import (
    ConversationRecord,
    ConversationStore,
    NewMessage,
    PersonGone,
    StoredMessage,
    UserRecord,
    WaitingConversation,
)
from memory.db.turn_lock import TurnLocks
from memory.deliveries import DeliveryStore
from memory.people import PeopleStore

log = logging.getLogger(__name__)

TYPING_EVERY = 4.0
CACHE_SIZE = 10_000

SAVED = "Your message is saved; send another message to try again."
OWNERS_ONLY = "Only the assistant's owners can use /{name}."
INTERNAL_ERROR = "Sorry, something went wrong on my side while answering. " + SAVED


@dataclass
class SessionStats:
    """Counters for /metrics."""

    turns: int = 0
    failed_turns: int = 0
    stopped_turns: int = 0
    running_turns: int = 0
    undelivered_replies: int = 0


@dataclass
class _TurnRequest:
    user: UserRecord
    reply_to: str | None
    up_to_id: int  # the newest stored message this turn answers


@dataclass
class _CommandRequest:
    command: Command
    user: UserRecord
    args: str
    boundary_id: int  # the newest message stored before the command was sent
    account: str = ""  # the sender's platform:id


@dataclass
class _Session:
    """The live state of one conversation while it has work."""

    conversation: ConversationRecord
    chat: ChatRef
    items: deque[_TurnRequest | _CommandRequest] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    turn: asyncio.Task[object] | None = None
    turn_started: datetime | None = None  # before it waited for the turn lock
    command_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _TrackingStream:
    """Remembers the last text shown, so a stopped turn can be closed off cleanly."""

    def __init__(self, inner: ReplyStream) -> None:
        self.inner = inner
        self.shown = ""

    async def update(self, text: str) -> None:
        self.shown = text
        await self.inner.update(text)

    async def activity(self, text: str) -> None:
        if isinstance(self.inner, ShowsActivity):
            await self.inner.activity(text)

    async def finish(self, text: str) -> list[MessageRef]:
        return await self.inner.finish(text)


class _Control:
    """SessionControl for commands: acts on one conversation."""

    def __init__(self, manager: SessionManager, session: _Session, boundary_id: int) -> None:
        self._manager = manager
        self._session = session
        self._boundary_id = boundary_id

    async def stop_turn(self) -> bool:
        turn = self._session.turn
        if turn is None or turn.done():
            return await self._manager.stop_elsewhere(self._session.conversation.id)
        turn.cancel()
        return True

    async def new_context(self) -> None:
        await self._manager.store.start_new_context(
            self._session.conversation.id, self._boundary_id
        )


class _LRU(OrderedDict[tuple[str, ...], object]):
    def remember(self, key: tuple[str, ...], value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > CACHE_SIZE:
            self.popitem(last=False)


class SessionManager:
    def __init__(
        self,
        store: ConversationStore,
        agent: Agent,
        outbox: Outbox,
        commands: CommandRegistry,
        files: FileKeeper,
        deliveries: DeliveryStore,
        people: PeopleStore,
        *,
        doorman: Screen,
        max_concurrent_turns: int,
        now: Callable[[], datetime],
        wake_deliverer: Callable[[], None] = lambda: None,
        ears: Ears | None = None,
        spoken: SpokenReplies | None = None,
        turn_locks: TurnLocks | None = None,
        stops: RemoteStops | None = None,
    ) -> None:
        self.store = store
        self._deliveries = deliveries
        self._sent = SentMarks(deliveries)
        self._wake_deliverer = wake_deliverer
        self._agent = agent
        self._outbox = outbox
        self._commands = commands
        self._people = people
        self._doorman = doorman
        self._files = files
        self._ears = ears  # transcription (bot/chat/voice.py); None: audio is described
        self._spoken = spoken  # answers also as voice notes (/voice on), when set up
        self._slots = asyncio.Semaphore(max_concurrent_turns)
        # Other replicas' turns of the same conversation (PostgreSQL; see memory/db/turn_lock.py).
        self._turn_locks = turn_locks
        self._stops = stops
        if stops is not None:
            stops.watch(self.running_turns)
        self._now = now
        self._sessions: dict[tuple[str, str, str], _Session] = {}
        self.accounts = Accounts(store)
        self._conversations = _LRU()
        self._background: set[asyncio.Task[None]] = set()
        self._closed = False
        self._draining = False
        self.stats = SessionStats()

    async def stop_elsewhere(self, conversation_id: int) -> bool:
        """Stop the conversation's turn if another replica runs it; False if none does."""
        return self._stops is not None and await self._stops.ask(conversation_id)

    def running_turns(self) -> dict[int, RunningTurn]:
        """The turns running in this process, by conversation id."""
        return {
            session.conversation.id: RunningTurn(session.turn_started, session.turn)
            for session in self._sessions.values()
            if session.turn is not None and session.turn_started is not None
        }

    def forget_people(self, user_ids: tuple[int, ...]) -> None:
        """These people changed (linked, merged, blocked; here or in another replica):
        look up their accounts and private conversations again."""
        self.accounts.forget_people(user_ids)
        for key in [
            key
            for key, known in self._conversations.items()
            if isinstance(known, ConversationRecord) and known.owner_id in user_ids
        ]:
            del self._conversations[key]

    async def handle(self, inbound: Inbound) -> bool:
        """Take one incoming message: store it and schedule its answer. Returns at once.

        False when the message is not for the assistant (see `_addressed`), its sender
        is not let in (bot/people/doorman.py: nothing of it is stored) or it was stored
        before (a redelivery); True when it will be answered.
        """
        if self._closed:
            raise TransportError("shutting down", "I'm restarting; please send that again shortly.")
        admission = await self.screen(inbound)
        if not admission.admitted:
            if admission.reply:
                await self._tell(inbound, admission.reply)
            return False
        user = await self._user(inbound)
        session = await self._session(inbound, user)
        text = inbound.text.strip()
        parsed = self._commands.parse(text) or await self._commands.match_reply(
            text, conversation_id=session.conversation.id, user_id=user.id
        )
        if parsed is not None and self._draining:
            return False  # shutting down: commands are not stored, so none is half-done
        if parsed is not None:
            command, args = parsed
            boundary = await self.store.last_message_id(session.conversation.id)
            account = f"{inbound.channel}:{inbound.sender_id}"
            request = _CommandRequest(command, user, args, boundary, account)
            if command.immediate:
                self._spawn(self._run_command(session, request))
            else:
                self._enqueue(session, request)
            return True
        absorbed = await self._absorb(session.conversation.id, user.id, inbound)
        user, stored = await self._store_message(inbound, session, user, absorbed)
        if stored is None:
            log.info("duplicate message %s ignored", inbound.platform_message_id)
            return False
        unknown = self._commands.unknown(inbound.text)
        if unknown is not None:
            # Stored like any message, answered in its place in the queue, never by the model.
            answer = self._unknown_command(stored.id, unknown)
            self._enqueue(session, _CommandRequest(answer, user, "", stored.id))
            return True
        if self._draining:
            return True  # stored: answered after the restart (see resume)
        last = session.items[-1] if session.items else None
        if isinstance(last, _TurnRequest):
            # Not started yet: the waiting turn will answer this message too.
            last.user, last.reply_to, last.up_to_id = user, inbound.platform_message_id, stored.id
        else:
            self._enqueue(session, _TurnRequest(user, inbound.platform_message_id, stored.id))
        return True

    async def screen(self, inbound: Inbound) -> Admission:
        """Whether a message is for the assistant and its sender is let in; adapters ask
        before work that costs something (files, a slash command's acknowledgement)."""
        if not await self._addressed(inbound):
            return Admission(False)
        return await self._doorman(inbound)

    async def _tell(self, inbound: Inbound, text: str) -> None:
        try:
            await self._outbox.send(inbound.chat, text, inbound.platform_message_id)
        except TransportError as exc:
            log.error("could not answer %s:%s: %s", inbound.channel, inbound.sender_id, exc)

    async def _addressed(self, inbound: Inbound) -> bool:
        """Whether a message is for the assistant. Adapters hand in only messages that may
        be; the one question left for here is a group thread reply without a mention: it
        is for the assistant when it already takes part in that thread, else it is people
        talking among themselves."""
        if inbound.is_direct or inbound.mentions_bot or not inbound.thread_id:
            return True
        key = inbound.conversation_key
        if key in self._sessions or isinstance(self._conversations.get(key), ConversationRecord):
            return True
        return await self.store.find_conversation(*key) is not None

    async def drain(self) -> None:
        """Wait until every queued turn and command has finished."""
        while True:
            pending = [s.worker for s in self._sessions.values() if s.worker is not None]
            pending.extend(self._background)
            if not pending:
                await self._sent.flush()
                return
            await asyncio.gather(*pending, return_exceptions=True)

    async def resume(self, within: timedelta) -> int:
        """After a restart: answer messages that arrived in the last `within` and were
        never answered (the process stopped mid-turn). Returns how many conversations."""
        since = self._now() - within
        return await self._answer_waiting(
            await self.store.waiting_conversations(since, self._outbox.channels)
        )

    async def take_orphans(self, within: timedelta, quiet_for: timedelta) -> int:
        """Several replicas: answer messages of the last `within` that have waited longer
        than `quiet_for` in conversations no replica is answering or has queued here —
        the replica that took them died mid-turn (PostgreSQL drops a dead replica's turn
        lock with its connection). A replica that has them queued and takes the turn
        lock later finds them answered. Returns how many conversations."""
        locks = self._turn_locks
        if locks is None or not locks.shared or self._closed or self._draining:
            return 0
        now = self._now()
        waiting = await self.store.waiting_conversations(
            now - within, self._outbox.channels, before=now - quiet_for
        )
        orphans = [
            w
            for w in waiting
            if _key(w.conversation) not in self._sessions
            and not await locks.held(w.conversation.id)
        ]
        if orphans:
            log.info("answering %s conversations a stopped replica left", len(orphans))
        return await self._answer_waiting(orphans)

    async def _answer_waiting(self, waiting_conversations: list[WaitingConversation]) -> int:
        resumed = 0
        for waiting in waiting_conversations:
            user = await self.store.get_user(waiting.user_id)
            if user is None:
                continue
            conversation = waiting.conversation
            key = (conversation.channel, conversation.chat_id, conversation.thread_id)
            chat = ChatRef(*key)
            session = self._sessions.setdefault(key, _Session(conversation, chat))
            self._enqueue(
                session, _TurnRequest(user, waiting.platform_message_id, waiting.up_to_id)
            )
            resumed += 1
        return resumed

    async def shutdown(self, grace: float) -> None:
        """Stop starting turns; let running ones finish for up to `grace` seconds, then
        cancel the rest. Messages arriving meanwhile are stored and answered after restart."""
        self._draining = True
        for session in self._sessions.values():
            session.items = deque(i for i in session.items if isinstance(i, _CommandRequest))
        running = [s.worker for s in self._sessions.values() if s.worker is not None]
        running.extend(self._background)
        if running:
            await asyncio.wait(running, timeout=grace)
        await self._cancel_work()
        await self._sent.flush()

    async def close(self) -> None:
        """Stop taking messages and cancel running work (its messages stay stored)."""
        self._closed = True
        await self._cancel_work()
        await self._sent.flush()
        if self._turn_locks is not None:
            await self._turn_locks.close()

    async def _cancel_work(self) -> None:
        tasks = [s.worker for s in self._sessions.values() if s.worker is not None]
        tasks.extend(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _user(self, inbound: Inbound) -> UserRecord:
        return await self.accounts.person(inbound.channel, inbound.sender_id, inbound.sender_name)

    async def _absorb(self, conversation_id: int, user_id: int, inbound: Inbound) -> Absorbed:
        """The message's text with its files read in and its audio transcribed."""
        if self._ears is None:
            return await self._files.absorb(conversation_id, inbound.text, inbound.attachments)
        heard = await self._ears.hear(Listener(user_id, conversation_id), inbound.attachments)
        return heard.joined(await self._files.absorb(conversation_id, inbound.text, heard.others))

    async def _store_message(
        self, inbound: Inbound, session: _Session, user: UserRecord, absorbed: Absorbed
    ) -> tuple[UserRecord, StoredMessage | None]:
        """Store the message as said by `user`; when that person was merged into another
        meanwhile (by another process), as said by the person the account now belongs to."""

        async def add(by: UserRecord) -> StoredMessage | None:
            return await self.store.add_user_message(
                session.conversation.id,
                by.id,
                absorbed.text,
                platform_message_id=inbound.platform_message_id,
                sent_at=inbound.sent_at,
                attachments=absorbed.saved,
                untrusted=absorbed.untrusted,
            )

        try:
            return user, await add(user)
        except PersonGone:
            self.accounts.forget(inbound.channel, inbound.sender_id)
            user = await self._user(inbound)
        return user, await add(user)

    async def _session(self, inbound: Inbound, user: UserRecord) -> _Session:
        key = inbound.conversation_key
        session = self._sessions.get(key)
        if session is not None:
            return session
        conversation = self._conversations.get(key)
        if not isinstance(conversation, ConversationRecord):
            conversation = await self.store.open_conversation(
                inbound.channel,
                inbound.chat_id,
                inbound.thread_id,
                is_direct=inbound.is_direct,
                owner_id=user.id,
            )
            self._conversations.remember(key, conversation)
        # Another message of this conversation may have created it while we awaited.
        return self._sessions.setdefault(key, _Session(conversation, inbound.chat))

    def _enqueue(self, session: _Session, request: _TurnRequest | _CommandRequest) -> None:
        session.items.append(request)
        if session.worker is None:
            session.worker = asyncio.create_task(self._work(session))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _work(self, session: _Session) -> None:
        try:
            while session.items:
                request = session.items.popleft()
                if isinstance(request, _TurnRequest):
                    await self._run_turn(session, request)
                else:
                    await self._run_queued_command(session, request)
        finally:
            session.worker = None
            if not session.items:
                self._sessions.pop(
                    (session.chat.channel, session.chat.chat_id, session.chat.thread_id), None
                )

    @property
    def queued_turns(self) -> int:
        """Turns waiting to start (their conversation is busy, or all slots are taken)."""
        return sum(
            isinstance(item, _TurnRequest) for s in self._sessions.values() for item in s.items
        )

    async def _run_turn(self, session: _Session, request: _TurnRequest) -> None:
        async with self._slots:
            session.turn_started = self._now()
            if self._turn_locks is None:
                await self._counted(session, request)
                return
            # Another replica may be answering this conversation: its turn goes first, and
            # this one then answers only what that one left unanswered (maybe nothing).
            async with self._turn_locks.hold(session.conversation.id):
                await self._counted(session, request)

    async def _counted(self, session: _Session, request: _TurnRequest) -> None:
        self.stats.running_turns += 1
        try:
            await self._answer(session, request)
        finally:
            self.stats.running_turns -= 1

    async def _answer(self, session: _Session, request: _TurnRequest) -> None:
        # Every line logged for this turn, in the tasks it starts too, names its ids.
        with turn_context(user_id=request.user.id, conversation_id=session.conversation.id):
            await self._answer_in_context(session, request)

    async def _answer_in_context(self, session: _Session, request: _TurnRequest) -> None:
        stream = _TrackingStream(self._outbox.open_stream(session.chat, request.reply_to))
        typing = asyncio.create_task(self._keep_typing(session.chat))
        session.turn = asyncio.create_task(
            self._agent.run_turn(request.user, session.conversation, stream, request.up_to_id)
        )
        delivery: str | None = None
        try:
            outcome = await session.turn
            text = None if outcome is None else outcome.text
            delivery = None if outcome is None else outcome.delivery_key
            self.stats.turns += outcome is not None
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise  # shutting down: the waiting messages are answered after restart
            await self.store.close_pending(session.conversation.id, request.up_to_id)
            self.stats.stopped_turns += 1
            text = f"{stream.shown} …(stopped)" if stream.shown else None
        except LLMError as exc:
            log.warning("turn failed in conversation %s: %s", session.conversation.id, exc)
            self.stats.failed_turns += 1
            text = f"{exc.user_message} {SAVED}"
        except QuotaExceeded as exc:
            # No model call was made; the message waits for the budget (bot/people/quota.py).
            log.info("turn refused in conversation %s: %s", session.conversation.id, exc)
            text = exc.user_message
        except Exception:
            log.exception("turn failed in conversation %s", session.conversation.id)
            self.stats.failed_turns += 1
            text = INTERNAL_ERROR
        finally:
            session.turn = None
            typing.cancel()
        if text:
            await self._deliver(stream, text, delivery)
        if self._spoken is not None and delivery is not None and text:
            listener = Listener(request.user.id, session.conversation.id)
            await self._spoken.after_answer(listener, session.chat, text)

    async def _deliver(self, stream: ReplyStream, text: str, delivery: str | None) -> None:
        """Show the final text. An answer is also a delivery row the turn claimed: marked
        sent once shown; if the platform refuses it (even after retries, e.g. flood
        control), the deliverer sends it later; if the process dies first, the row goes
        stale and is sent again (memory/deliveries.py)."""
        try:
            refs = await stream.finish(text)
        except TransportError as exc:
            self.stats.undelivered_replies += 1
            log.error("could not deliver a reply now (it will be sent later): %s", exc)
            if delivery is not None:
                await self._deliveries.release_key(delivery)
                self._wake_deliverer()
            return
        if delivery is not None:
            self._sent.add(delivery, refs[-1].message_id if refs else "")

    def _unknown_command(self, message_id: int, reply: str) -> Command:
        """A command that answers a mistyped one: the message is kept but set aside, out
        of the model's context, with the reply stored after it."""

        async def answer(ctx: CommandContext) -> str:
            turn = (await self.store.load_context(ctx.conversation.id)).next_turn
            said = NewMessage(role="assistant", content=reply)
            await self.store.set_aside(
                ctx.conversation.id, ctx.user.id, turn, [message_id], said, None
            )
            return reply

        return Command("unknown", "answers an unknown command", answer)

    async def _run_queued_command(self, session: _Session, request: _CommandRequest) -> None:
        """A command that takes its place among the turns (/new): on PostgreSQL it also
        waits for another replica's turn of this conversation, as it waits for this
        process's; immediate ones (/stop, /approve) act during a turn and do not."""
        if self._turn_locks is None:
            await self._run_command(session, request)
            return
        async with self._turn_locks.hold(session.conversation.id):
            await self._run_command(session, request)

    async def _run_command(self, session: _Session, request: _CommandRequest) -> None:
        ctx = CommandContext(
            user=request.user,
            conversation=session.conversation,
            args=request.args,
            session=_Control(self, session, request.boundary_id),
            now=self._now(),
            account=request.account,
            owner_check=lambda: self._is_owner(request.user.id),
        )
        # Commands of one conversation answer in the order they were sent.
        async with session.command_lock:
            try:
                if request.command.owner_only and not await ctx.is_owner():
                    text = OWNERS_ONLY.format(name=request.command.name)
                else:
                    text = await request.command.handler(ctx)
            except Exception:
                log.exception("command /%s failed", request.command.name)
                text = f"/{request.command.name} failed on my side; the details were logged."
            try:
                await self._outbox.send(session.chat, text)
            except TransportError as exc:
                log.error("could not deliver the reply to /%s: %s", request.command.name, exc)

    async def _is_owner(self, user_id: int) -> bool:
        try:
            person = await self._people.person(user_id)
        except Exception:
            log.exception("could not read the role of user %s", user_id)
            return False  # fails closed: owners' commands are refused, others still run
        return person is not None and person.is_owner

    async def _keep_typing(self, chat: ChatRef) -> None:
        with contextlib.suppress(TransportError):
            while True:
                await self._outbox.typing(chat)
                await asyncio.sleep(TYPING_EVERY)


def _key(conversation: ConversationRecord) -> tuple[str, str, str]:
    return (conversation.channel, conversation.chat_id, conversation.thread_id)
