"""The built-in tools and the skill catalog these settings turn on."""

from __future__ import annotations

from pathlib import Path

import skills as bundled_skills
from bot.people.trail import Trail
from bot.safety.approvals import Approvals
from bot.safety.gate import SafetyHook
from bot.safety.redact import Redactor, secrets_in
from bot.settings import Settings
from bot.settings.tools import mcp_tool_name
from bot.tools import ToolRegistry
from bot.tools.addresses import AddressPolicy
from bot.tools.clock import current_time
from bot.tools.search import BraveSearch, SearchProvider, SearxngSearch, web_search_tool
from bot.tools.shell import ShellRunner, shell_tool
from bot.tools.web import Lookup, WebFetcher, system_lookup, web_fetch_tool
from memory.skills import UserSkillStore
from skills.catalog import Capabilities, SkillCatalog
from skills.loader import load_sources
from skills.model import BUNDLED, DEPLOYMENT


def build_tools(
    settings: Settings, approvals: Approvals, trail: Trail, lookup: Lookup = system_lookup
) -> ToolRegistry:
    """The built-in tools these settings turn on, behind the safety hook (which writes
    side-effecting calls to the audit trail)."""
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
        hooks=[SafetyHook(approvals, Redactor(secrets_in(settings)), trail)],
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
