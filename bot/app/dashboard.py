"""Wiring the web dashboard (bot/dashboard/) onto the app's HTTP server, and /dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot import dashboard
from bot.commands.dashboard import dashboard_commands
from bot.dashboard.access import Access
from bot.dashboard.health import Health
from bot.dashboard.parts import Parts
from memory.dashboard import DashboardStore
from memory.transcripts import Transcripts

if TYPE_CHECKING:
    from bot.app import App


def build_dashboard(app: App, now: Callable[[], datetime]) -> dashboard.Site:
    core = app.settings.core

    def base_url() -> str:
        # The address people reach; the server's own port (known once it listens) if unset.
        return core.public_url or f"http://localhost:{app.http.port}"

    access = Access(DashboardStore(app.engine), base_url, now)
    parts = Parts(
        settings=app.settings,
        engine=app.engine,
        now=now,
        people=app.people,
        audit=app.audit,
        trail=app.trail,
        admin=app.admin,
        pairing=app.door.pairing,
        quota=app.quota,
        budgets=app.budgets,
        usage=app.usage,
        conversations=app.store,
        memories=app.memory.memories,
        history=app.memory.history,
        privacy=app.memory.privacy,
        searcher=app.memory.searcher,
        tasks=app.tasks,
        task_store=app.background.store,
        jobs=app.jobs,
        approvals=app.approvals,
        skills=app.skills,
        user_skills=app.skill_store,
        observability=app.observability,
        commands=app.commands,
        transcripts=Transcripts(app.engine),
        health=Health(
            app.settings,
            app.engine,
            app.outbox,
            app.sessions,
            app.client,
            app.background.store,
            app.background.scheduler.leading.is_set,
            now,
        ),
    )
    dashboard_commands(app.commands, access.link, lambda: app.http.listening)
    return dashboard.install(app.http, access, parts)
