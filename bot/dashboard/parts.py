"""What the dashboard's pages read and act through: the same stores and rules as the chat
commands and the CLI (built in bot/app/dashboard.py), so a page cannot see or do more than
its command could."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.background.jobs import Jobs
from bot.background.tasks import Tasks
from bot.commands.registry import CommandRegistry
from bot.dashboard.health import Health
from bot.http.observability import Observability
from bot.people.admin import PeopleAdmin
from bot.people.budget import Budgets
from bot.people.pairing import Pairing
from bot.people.quota import QuotaGate
from bot.people.trail import Trail
from bot.safety.approvals import Approvals
from bot.settings import Settings
from memory.audit import AuditStore
from memory.conversations import ConversationStore
from memory.history import History
from memory.memories import MemoryStore
from memory.people import PeopleStore
from memory.privacy import PrivacyStore
from memory.retrieval.search import Searcher
from memory.skills import UserSkillStore
from memory.tasks import TaskStore
from memory.transcripts import Transcripts
from memory.usage import UsageStore
from skills.catalog import SkillCatalog


@dataclass(frozen=True)
class Parts:
    settings: Settings
    engine: AsyncEngine  # for the health page's database check only (SQL stays in memory/)
    now: Callable[[], datetime]
    people: PeopleStore
    audit: AuditStore
    trail: Trail
    admin: PeopleAdmin
    pairing: Pairing
    quota: QuotaGate
    budgets: Budgets
    usage: UsageStore
    conversations: ConversationStore
    memories: MemoryStore
    history: History
    privacy: PrivacyStore
    searcher: Searcher
    tasks: Tasks
    task_store: TaskStore
    jobs: Jobs
    approvals: Approvals
    skills: SkillCatalog
    user_skills: UserSkillStore
    observability: Observability
    commands: CommandRegistry
    transcripts: Transcripts  # the conversations page's reading of a person's history
    health: Health  # the Health page's probes
