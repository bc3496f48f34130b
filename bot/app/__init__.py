"""Wiring: every component gets its collaborators here and nowhere else.

`build_app` assembles the graph; the modules beside it build its larger parts
(tools and skills, memory, background work, chat apps).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from openai import AsyncOpenAI
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.agent.loop import Agent, AgentLimits
from bot.agent.prompt import PromptBuilder
from bot.app.background import BackgroundParts, build_background, leader_gauges
from bot.app.changes import listen_for_changes
from bot.app.channels import add_console, add_slack, build_telegram
from bot.app.dashboard import build_dashboard
from bot.app.memory import MemoryParts, build_memory
from bot.app.pairing import Door, build_door
from bot.app.tools import build_skills, build_tools
from bot.app.voice import build_ears, build_spoken
from bot.background.jobs import Jobs
from bot.background.tasks import Tasks
from bot.chat.attachments import FileKeeper, FileLimits
from bot.chat.channels import ChatAdapter, SoleReceiver
from bot.chat.inbox import DurableInbox
from bot.chat.outbox import Outbox
from bot.chat.receivers import Receivers
from bot.chat.repeating import Repeating
from bot.chat.sessions import SessionManager
from bot.chat.stops import RemoteStops
from bot.commands.linking import link_commands
from bot.commands.memory import MemoryCommands
from bot.commands.people import people_commands
from bot.commands.quota import QuotaCommands
from bot.commands.registry import CommandRegistry, core_commands
from bot.commands.skills import skill_commands
from bot.dashboard import Site
from bot.http.observability import Observability
from bot.http.server import HttpServer
from bot.llm.client import LLM, make_client
from bot.llm.window import DEFAULT_CONTEXT_TOKENS, ModelWindows
from bot.people.admin import PeopleAdmin
from bot.people.budget import Budgets
from bot.people.linking import Linking
from bot.people.quota import QuotaGate
from bot.people.trail import Trail
from bot.safety.approvals import Approvals
from bot.safety.untrusted import UNTRUSTED_RULE
from bot.settings import Settings
from bot.tools import ToolRegistry
from bot.tools.memory import memory_tools
from bot.tools.skills import UserSkillsContext, skill_tools
from bot.tools.web import Lookup, system_lookup
from memory import db
from memory.approvals import ApprovalStore
from memory.audit import AuditStore
from memory.conversations import ConversationStore
from memory.db.leader import RECEIVERS_KEY, Leadership
from memory.db.notices import Notices
from memory.db.turn_lock import TurnLocks
from memory.deliveries import DeliveryStore
from memory.inbox import InboxStore
from memory.linking import LinkStore
from memory.pairing import Stranger
from memory.people import PeopleStore
from memory.quotas import QuotaStore
from memory.replicas import Heartbeat, new_replica_id
from memory.skills import UserSkillStore
from memory.stops import StopRequests
from memory.usage import UsageStore
from memory.voice import VoicePreferences
from memory.windows import WindowStore
from skills.catalog import SkillCatalog

if TYPE_CHECKING:
    from adapters.telegram import TelegramTuning

__all__ = ["App", "Service", "add_console", "build_app"]

# Unanswered messages younger than this are answered after a restart; older ones
# wait for the person's next message rather than surprising them.
RESUME_WINDOW = timedelta(hours=12)
# Several replicas: how often each looks for messages left unanswered by a replica that
# died mid-turn, and how long a message waits before it counts as left.
ORPHANS_EVERY = 10.0
ORPHANED_AFTER = timedelta(seconds=20)


def system_now() -> datetime:
    return datetime.now(UTC)


class Service(Protocol):
    """Something that runs alongside the channels in `clawling run` (scheduler, workers)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    store: ConversationStore
    client: AsyncOpenAI
    llm: LLM
    tools: ToolRegistry
    commands: CommandRegistry
    outbox: Outbox
    agent: Agent
    sessions: SessionManager
    http: HttpServer
    observability: Observability
    approvals: Approvals
    skills: SkillCatalog
    memory: MemoryParts
    background: BackgroundParts
    people: PeopleStore
    audit: AuditStore
    door: Door  # who is answered (doorman) and how strangers get in (pairing)
    # People's token budgets: the model client's Quota, /quota, `clawling users quota`.
    quota: QuotaGate = field(kw_only=True)
    usage: UsageStore = field(kw_only=True)
    skill_store: UserSkillStore = field(kw_only=True)
    # Webhook and HTTP events stored before their 200; a service once a route uses it.
    inbox: DurableInbox = field(kw_only=True)
    # The web dashboard on the HTTP server (bot/dashboard/), added by build_app.
    dashboard: Site | None = field(default=None, kw_only=True)
    # Turns polling and Socket Mode on in the one replica that holds their lock.
    receivers: Receivers | None = field(default=None, kw_only=True)
    services: list[Service] = field(default_factory=list)
    _started: list[Service | ChatAdapter | HttpServer] = field(default_factory=list)

    @property
    def jobs(self) -> Jobs:
        return self.background.jobs

    @property
    def tasks(self) -> Tasks:
        return self.background.tasks

    @property
    def trail(self) -> Trail:
        """Writes audit entries after their actions (stateless: made when asked)."""
        return Trail(self.audit, self.people)

    @property
    def admin(self) -> PeopleAdmin:
        """Block, unblock, roles, removal: the rules the CLI and the chat share."""
        return admin_of(self.settings, self.memory, self.trail)

    @property
    def budgets(self) -> Budgets:
        return self.quota.budgets

    async def prepare_database(self) -> None:
        """Check the database answers, bring its schema up to date, and make the people
        of CLAWLING_OWNERS owners."""
        await db.check_reachable(self.engine)
        await db.upgrade(self.engine)
        await self.people.seed(self.settings.core.owners)

    def add_channel(self, adapter: ChatAdapter) -> None:
        """Send through `adapter`; one that receives alone (polling, Socket Mode) receives
        while this process holds the receivers' lock."""
        self.outbox.register(adapter)
        if (
            self.receivers is not None
            and isinstance(adapter, SoleReceiver)
            and adapter.receives_alone
        ):
            self.receivers.adapters.append(adapter)

    async def start(self) -> None:
        """Start the channels, the background services (they send through the channels),
        the HTTP server and then receiving (polling, Socket Mode: not begun when the
        server cannot start), then answer what was left unanswered when the process last
        stopped."""
        receivers = [self.receivers] if self.receivers is not None else []
        for part in [*self.outbox.adapters, *self.services, self.http, *receivers]:
            await part.start()
            self._started.append(part)
        # Everything built so far lives as long as the process: keep the garbage
        # collector from walking it again and again (a full pass over it stalled
        # every conversation for ~100 ms; bench/turn_overhead.py).
        gc.collect()
        gc.freeze()
        await self.quota.prune()
        await self.sessions.resume(RESUME_WINDOW)

    async def start_services(self, *, leaving_out: tuple[Service, ...] = ()) -> None:
        """Start only the background services (the terminal chat: no HTTP server; a
        worker: not the scheduler and deliverer either)."""
        for service in self.services:
            if service in leaving_out:
                continue
            await service.start()
            self._started.append(service)

    async def start_http(self) -> None:
        """Start the HTTP server alone (the terminal chat serves the dashboard with it)."""
        await self.http.start()
        self._started.append(self.http)

    async def shutdown(self) -> None:
        """SIGTERM: finish or set aside running turns, stop the channels (messages that
        arrive until then are stored and answered after the restart), close the rest."""
        await self.sessions.shutdown(self.settings.core.shutdown_timeout)
        await self._stop_started()
        await self.close()

    async def close(self) -> None:
        """Stop taking messages, stop what was started (newest first), close connections."""
        # First: stored events not handed on yet stay stored for the next process, rather
        # than reach a closed session manager and be answered "send it again".
        await self.inbox.stop()
        await self.sessions.close()
        await self._stop_started()
        if self.background.queue is not None:
            await self.background.queue.close()
        await self.client.close()
        await self.engine.dispose()

    async def _stop_started(self) -> None:
        while self._started:
            await self._started.pop().stop()


def admin_of(settings: Settings, memory: MemoryParts, trail: Trail) -> PeopleAdmin:
    core = settings.core
    seeded = tuple(entry.strip() for entry in core.owners)  # as `PeopleStore.seed` reads them
    return PeopleAdmin(trail.people, memory.privacy, trail, core.data_dir, seeded)


def build_app(
    settings: Settings,
    *,
    now: Callable[[], datetime] = system_now,
    client: AsyncOpenAI | None = None,
    telegram_tuning: TelegramTuning | None = None,
    lookup: Lookup = system_lookup,
) -> App:
    """The whole object graph for these settings. Nothing connects until used."""
    core = settings.core
    engine = db.create_engine(settings.database_url)
    # This process among the replicas: what it has in flight is its own while it beats.
    heartbeat = Heartbeat(engine, new_replica_id())
    # What other replicas change and this one caches or waits for (PostgreSQL only).
    notices = Notices(engine, f"clawling notices {heartbeat.replica_id}")
    store = ConversationStore(engine, heartbeat.replica_id)
    if client is None:
        key = settings.openai.api_key
        client = make_client(
            settings.openai.base_url,
            key.get_secret_value() if key else None,
            timeout=core.llm_timeout,
            max_retries=core.llm_max_retries,
        )
    usage = UsageStore(engine)
    people = PeopleStore(engine, notices)
    audit = AuditStore(engine)
    budgets = Budgets(
        usage, daily=core.daily_tokens, monthly=core.monthly_tokens, timezone=core.timezone
    )
    quota = QuotaGate(people, budgets, QuotaStore(engine), audit, now=now)
    llm = LLM(
        client,
        settings.models,
        recorder=usage,
        max_output_tokens=core.max_output_tokens,
        stream=core.stream,
        quota=quota,
    )
    trail = Trail(audit, people)
    outbox = Outbox()
    commands = CommandRegistry()
    quota_commands = QuotaCommands(people, quota, usage, core.model_prices)
    core_commands(commands, usage, core.assistant_name, quota_commands.usage_extra())
    quota_commands.register(commands)

    approvals = Approvals(
        ApprovalStore(engine, heartbeat.replica_id), outbox, core.approval_timeout, notices
    )
    approvals.register(commands)
    tools = build_tools(settings, approvals, trail, lookup)

    memory = build_memory(settings, engine, store, llm, client)
    for item in memory_tools(memory.memories, memory.searcher):
        tools.add(item)
    MemoryCommands(
        memory.memories, memory.privacy, memory.compactor, outbox, core.data_dir, trail
    ).register(commands)

    skill_store = UserSkillStore(engine, notices)
    catalog = build_skills(settings, tools, skill_store)
    for item in skill_tools(catalog, skill_store, trail):
        tools.add(item)
    skill_commands(commands, catalog, skill_store, trail)
    people_commands(commands, admin_of(settings, memory, trail), budgets, core.model_prices)

    background = build_background(
        settings,
        engine,
        store,
        llm,
        tools,
        outbox,
        commands,
        now,
        quota.allows,
        replica_id=heartbeat.replica_id,
    )
    quota.listeners.append(background.tasks.budget_changed)
    door = build_door(
        settings,
        engine,
        people,
        audit,
        commands,
        now=now,
        wake_deliverer=background.deliverer.notify,
    )

    files = FileKeeper(
        core.data_dir,
        FileLimits(max_text_chars=core.max_file_chars, vision=core.vision),
    )
    agent = Agent(
        llm,
        tools,
        store,
        PromptBuilder(core.assistant_name, UNTRUSTED_RULE, catalog.index_text()),
        limits=AgentLimits(
            max_steps=core.max_tool_steps,
            context_tokens=core.context_tokens or DEFAULT_CONTEXT_TOKENS,
            # CLAWLING_MAX_OUTPUT_TOKENS, where the client's settings have it.
            output_tokens=core.max_output_tokens,
        ),
        now=now,
        default_timezone=core.timezone,
        files=files,
        context_sources=[memory.context, UserSkillsContext(catalog), background.waiting],
        compactor=memory.compactor,
        allowance=quota,
        windows=ModelWindows(
            str(client.base_url),
            llm.fetch_json,
            WindowStore(engine),
            override=core.context_tokens,
            per_model=core.model_context_tokens,
        ),
    )
    turn_locks = TurnLocks(engine, core.max_concurrent_turns)
    stops = RemoteStops(StopRequests(engine), turn_locks, notices, now=now)
    sessions = SessionManager(
        store,
        agent,
        outbox,
        commands,
        files,
        DeliveryStore(engine, heartbeat.replica_id),
        people,
        doorman=door.doorman.screen,
        max_concurrent_turns=core.max_concurrent_turns,
        now=now,
        wake_deliverer=background.deliverer.notify,
        ears=build_ears(settings, client, usage, quota),
        spoken=build_spoken(
            settings, client, usage, quota, VoicePreferences(engine), outbox, commands
        ),
        turn_locks=turn_locks,
        stops=stops,
    )
    linking = Linking(LinkStore(engine), people, audit, wake=background.deliverer.notify)
    link_commands(commands, linking)

    async def link_from_stranger(stranger: Stranger, args: str) -> str:
        return await linking.redeem_from_stranger(stranger, args, now())

    door.doorman.on_stranger_command("link", link_from_stranger)
    # Everything that caches a person by id forgets the people a link or unlink changed,
    # here and (told by a notice) in the other replicas.
    linking.listeners += [sessions.forget_people, store.forget_users, skill_store.forget]
    linking.listeners.append(listen_for_changes(notices, people, sessions, store, skill_store))
    http = HttpServer(core.http_host, core.http_port)
    observability = Observability(engine, outbox, sessions, llm)
    observability.gauge_sources.append(background.task_counts)
    background.runner.step_timers.append(observability.step_seconds.observe)
    receivers = Receivers(Leadership(engine, key=RECEIVERS_KEY, name="receivers"))
    observability.gauge_sources.append(leader_gauges(background.scheduler, receivers))
    if background.queue is not None:
        observability.gauge_sources.append(background.queue_depth)
        observability.readiness_checks.append(background.queue_problem)
    observability.install(http)
    app = App(
        settings,
        engine,
        store,
        client,
        llm,
        tools,
        commands,
        outbox,
        agent,
        sessions,
        http,
        observability,
        approvals,
        catalog,
        memory,
        background,
        people,
        audit,
        door,
        quota=quota,
        usage=usage,
        skill_store=skill_store,
        inbox=DurableInbox(InboxStore(engine, heartbeat.replica_id), now=now),
        receivers=receivers,
        # The heartbeat first: the deliverer's start looks at who is alive.
        services=[
            heartbeat,
            notices,
            stops,
            # A conversation whose replica died mid-turn is answered by another.
            Repeating(
                partial(sessions.take_orphans, RESUME_WINDOW, ORPHANED_AFTER),
                ORPHANS_EVERY,
                "look for conversations a stopped replica left",
                enabled=turn_locks.shared,
            ),
            *background.services,
        ],
    )
    app.dashboard = build_dashboard(app, now)
    if core.mcp_servers:
        from bot.tools.mcp import McpServers  # loads the MCP SDK only when used

        app.services.append(
            McpServers(
                core.mcp_servers,
                tools,
                core.data_dir / "logs",
                call_timeout=core.tool_timeout,
                identities=store.identities,
            )
        )
    if settings.telegram.bot_token is not None:
        app.add_channel(build_telegram(app, telegram_tuning))
    if settings.slack.enabled:
        add_slack(app)
    return app
