"""Wiring: every component gets its collaborators here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from openai import AsyncOpenAI
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

import skills as bundled_skills
from adapters.console import ConsoleAdapter
from bot.access import AccessPolicy
from bot.agent import Agent, AgentLimits
from bot.approvals import Approvals
from bot.attachments import FileKeeper, FileLimits
from bot.background_commands import background_commands
from bot.channels import ChatAdapter
from bot.commands import CommandRegistry, core_commands
from bot.delivery import Deliverer
from bot.errors import ConfigError
from bot.http import HttpServer
from bot.jobs import Jobs
from bot.llm import LLM, make_client
from bot.observability import Observability
from bot.outbox import Outbox
from bot.prompt import PromptBuilder
from bot.scheduler import Background
from bot.sessions import SessionManager
from bot.settings import CoreSettings, Settings
from bot.skill_commands import skill_commands
from bot.task_runner import TaskRunner
from bot.task_step import Stepper, TaskLimits
from bot.tasks import Tasks, WaitingTasks
from bot.tool_settings import mcp_tool_name
from bot.tools import ToolRegistry
from bot.tools.clock import current_time
from bot.tools.safety import UNTRUSTED_RULE, SafetyHook
from bot.tools.schedule import schedule_tools
from bot.tools.search import BraveSearch, SearchProvider, SearxngSearch, web_search_tool
from bot.tools.shell import ShellRunner, shell_tool
from bot.tools.skills import UserSkillsContext, skill_tools
from bot.tools.tasks import task_tools
from bot.tools.web import AddressPolicy, Lookup, WebFetcher, system_lookup, web_fetch_tool
from memory import db
from memory.approvals import ApprovalStore
from memory.conversations import ConversationStore
from memory.deliveries import DeliveryStore
from memory.events import EventStore
from memory.jobs import JobStore
from memory.leader import Leadership
from memory.skills import UserSkillStore
from memory.tasks import TaskStore
from skills.catalog import Capabilities, SkillCatalog
from skills.loader import load_sources
from skills.model import BUNDLED, DEPLOYMENT

if TYPE_CHECKING:
    from adapters.telegram import TelegramAdapter, TelegramTuning

# Unanswered messages younger than this are answered after a restart; older ones
# wait for the person's next message rather than surprising them.
RESUME_WINDOW = timedelta(hours=12)


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
    jobs: Jobs
    tasks: Tasks
    services: list[Service] = field(default_factory=list)
    _started: list[Service | ChatAdapter | HttpServer] = field(default_factory=list)

    async def prepare_database(self) -> None:
        """Check the database answers, then bring its schema up to date."""
        await db.check_reachable(self.engine)
        await db.upgrade(self.engine)

    def add_channel(self, adapter: ChatAdapter) -> None:
        self.outbox.register(adapter)

    async def start(self) -> None:
        """Start the channels, the background services (they send through the channels)
        and the HTTP server, then answer what was left unanswered when the process last
        stopped."""
        for part in [*self.outbox.adapters, *self.services, self.http]:
            await part.start()
            self._started.append(part)
        await self.sessions.resume(RESUME_WINDOW)

    async def shutdown(self) -> None:
        """SIGTERM: finish or set aside running turns, stop the channels (messages that
        arrive until then are stored and answered after the restart), close the rest."""
        await self.sessions.shutdown(self.settings.core.shutdown_timeout)
        await self._stop_started()
        await self.close()

    async def start_services(self) -> None:
        """Start only the background services (the terminal chat: no HTTP server)."""
        for service in self.services:
            await service.start()
            self._started.append(service)

    async def close(self) -> None:
        """Stop taking messages, stop what was started (newest first), close connections."""
        await self.sessions.close()
        await self._stop_started()
        await self.client.close()
        await self.engine.dispose()

    async def _stop_started(self) -> None:
        while self._started:
            await self._started.pop().stop()


def build_tools(
    settings: Settings, approvals: Approvals, lookup: Lookup = system_lookup
) -> ToolRegistry:
    """The built-in tools these settings turn on, behind the safety hook."""
    core = settings.core
    fetcher = WebFetcher(
        AddressPolicy(core.web_allowed_networks),
        max_bytes=core.web_max_bytes,
        timeout=core.web_timeout,
        lookup=lookup,
    )
    registry = ToolRegistry(
        [current_time, web_fetch_tool(fetcher)],
        output_chars=core.tool_output_chars,
        timeout=core.tool_timeout,
        hooks=[SafetyHook(approvals)],
    )
    provider: SearchProvider | None = None
    if core.searxng_url is not None:
        provider = SearxngSearch(core.searxng_url, core.web_timeout)
    elif core.brave_api_key is not None:
        provider = BraveSearch(
            core.brave_api_url, core.brave_api_key.get_secret_value(), core.web_timeout
        )
    if provider is not None:
        registry.add(web_search_tool(provider))
    if core.shell:
        runner = ShellRunner(
            core.data_dir / "shell",
            core.shell_allowlist,
            timeout=core.shell_timeout,
            output_bytes=2 * core.tool_output_chars,
        )
        registry.add(shell_tool(runner))
    return registry


SKILL_TOOL_NAMES = ("create_skill", "read_skill_file", "use_skill")


def build_skills(settings: Settings, tools: ToolRegistry, store: UserSkillStore) -> SkillCatalog:
    """Bundled and deployment skills, checked against what this deployment offers."""
    core = settings.core
    names = {*tools.names, *SKILL_TOOL_NAMES}
    names |= {
        mcp_tool_name(server, t)
        for server, c in core.mcp_servers.items()
        for t in c.tools
        if t != "*"
    }
    present = {
        f"{group}_{name}".upper()
        for group in type(settings).model_fields
        for name, value in getattr(settings, group)
        if value not in (None, "", [], {}, False)
    }
    roots = [
        (BUNDLED, Path(bundled_skills.__file__).parent),
        (DEPLOYMENT, core.data_dir / "skills"),
    ]
    reports = load_sources(roots, known_tools=names)
    return SkillCatalog(reports, Capabilities.of(names, present), store, known_tools=names)


def task_limits(core: CoreSettings) -> TaskLimits:
    return TaskLimits(
        max_steps=core.task_max_steps,
        max_tokens=core.task_max_tokens,
        max_seconds=core.task_max_seconds,
        context_tokens=core.task_context_tokens,
        concurrency=core.task_concurrency,
        per_user=core.tasks_per_user,
        subtask_concurrency=core.subtask_concurrency,
        max_subtasks=core.max_subtasks,
        goal_chars=core.task_goal_chars,
        progress_seconds=core.task_progress_seconds,
        tool_output_chars=core.tool_output_chars,
        tool_timeout=core.tool_timeout,
    )


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
    store = ConversationStore(engine)
    if client is None:
        key = settings.openai.api_key
        client = make_client(
            settings.openai.base_url,
            key.get_secret_value() if key else None,
            timeout=core.llm_timeout,
            max_retries=core.llm_max_retries,
        )
    llm = LLM(client, settings.models, recorder=store)
    outbox = Outbox()
    approvals = Approvals(ApprovalStore(engine), outbox, core.approval_timeout)
    tools = build_tools(settings, approvals, lookup)
    skill_store = UserSkillStore(engine)
    catalog = build_skills(settings, tools, skill_store)
    for item in skill_tools(catalog, skill_store):
        tools.add(item)
    commands = CommandRegistry()
    core_commands(commands, store, core.assistant_name)
    skill_commands(commands, catalog, skill_store)
    approvals.register(commands)
    deliverer = Deliverer(DeliveryStore(engine), outbox)
    task_store = TaskStore(engine)
    limits = task_limits(core)
    stepper = Stepper(
        task_store,
        llm,
        tools.tools,  # tasks get the general tools, not the ones below that start more work
        tools.hooks,
        deliverer,
        limits=limits,
        assistant_name=core.assistant_name,
        now=now,
        default_timezone=core.timezone,
    )
    runner = TaskRunner(task_store, store, stepper, outbox, deliverer)
    tasks = Tasks(task_store, runner, deliverer, limits)
    jobs = Jobs(
        JobStore(engine),
        store,
        tasks,
        deliverer,
        grace_seconds=core.job_grace_seconds,
        late_after_seconds=core.job_late_after_seconds,
        heartbeat_minutes=core.heartbeat_minutes,
        default_timezone=core.timezone,
        now=now,
    )
    for item in [*schedule_tools(jobs), *task_tools(tasks)]:
        tools.add(item)
    background_commands(commands, jobs, tasks)
    background = Background(
        Leadership(engine),
        jobs,
        runner,
        db.create_sync_engine(settings.database_url),
        grace_seconds=core.job_grace_seconds,
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
        limits=AgentLimits(max_steps=core.max_tool_steps, context_tokens=core.context_tokens),
        now=now,
        default_timezone=core.timezone,
        files=files,
        context_sources=[UserSkillsContext(catalog), WaitingTasks(task_store)],
    )
    sessions = SessionManager(
        store,
        agent,
        outbox,
        commands,
        files,
        max_concurrent_turns=core.max_concurrent_turns,
        now=now,
    )
    http = HttpServer(core.http_host, core.http_port)
    observability = Observability(engine, outbox, sessions, llm)
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
        jobs=jobs,
        tasks=tasks,
        services=[deliverer, background],
    )
    if core.mcp_servers:
        from bot.tools.mcp import McpServers  # loads the MCP SDK only when used

        app.services.append(
            McpServers(
                core.mcp_servers, tools, core.data_dir / "logs", call_timeout=core.tool_timeout
            )
        )
    if settings.telegram.bot_token is not None:
        app.add_channel(build_telegram(app, telegram_tuning))
    if settings.slack.enabled:
        add_slack(app)
    return app


def add_slack(app: App) -> None:
    """Connect Slack (SLACK_* settings) as a channel of `app`."""
    from adapters.slack import SlackAdapter, SlackConfig  # loads the Slack SDK only when used

    slack = app.settings.slack
    if slack.bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set. Fix: set it to the app's bot token.")
    config = SlackConfig(
        bot_token=slack.bot_token.get_secret_value(),
        app_token=slack.app_token.get_secret_value() if slack.app_token else None,
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else None,
        api_url=slack.api_url,
    )
    adapter = SlackAdapter(
        config,
        on_message=app.sessions.handle,
        events=EventStore(app.engine),
        access=AccessPolicy("slack", slack.allowed_users, app.settings.core.owners),
        commands=app.commands,
        http=app.http,
    )
    app.add_channel(adapter)


def build_telegram(app: App, tuning: TelegramTuning | None = None) -> TelegramAdapter:
    """The Telegram channel for `app`'s settings (TELEGRAM_BOT_TOKEN is set)."""
    from adapters.telegram import MediaLimits, TelegramAdapter  # loads PTB only when used

    settings, core = app.settings, app.settings.core
    telegram = settings.telegram
    if telegram.mode == "webhook":
        missing = [
            name
            for name, value in (
                ("CLAWLING_PUBLIC_URL", core.public_url),
                ("TELEGRAM_WEBHOOK_SECRET", telegram.webhook_secret),
            )
            if value is None
        ]
        if missing:
            raise ConfigError(
                f"Setting {missing[0]} is missing: TELEGRAM_MODE=webhook needs it. Fix: set "
                "CLAWLING_PUBLIC_URL to the public https address of this server and "
                "TELEGRAM_WEBHOOK_SECRET to a random string, or use TELEGRAM_MODE=polling."
            )
    return TelegramAdapter(
        telegram,
        on_message=app.sessions.handle,
        access=AccessPolicy("telegram", telegram.allowed_users, core.owners),
        commands=app.commands,
        # Text files above this many bytes cannot fit CLAWLING_MAX_FILE_CHARS characters.
        media=MediaLimits(max_text_bytes=core.max_file_chars * 4),
        http=app.http,
        public_url=core.public_url,
        tuning=tuning,
    )


def add_console(app: App, console: Console, *, user_name: str, interactive: bool) -> ConsoleAdapter:
    """Connect the terminal as a channel of `app`."""
    if not user_name.strip():
        raise ConfigError("The terminal user name is empty. Fix: pass --as NAME.")
    adapter = ConsoleAdapter(
        console,
        user_name=user_name.strip(),
        interactive=interactive,
        on_message=app.sessions.handle,
    )
    app.add_channel(adapter)
    return adapter
