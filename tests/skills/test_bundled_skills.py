"""Each bundled skill, run through the agent: a fake model that picks the skill from
the index, loads it, and follows the steps it reads (the tools the skill names, in
order), with real tools against local servers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.bot.conftest import AppMaker
from tests.fakes.openai_server import FakeOpenAI, Reply, last_user_text
from tests.fakes.web import LocalSite

Step = tuple[str, Callable[[list[str]], dict[str, Any]]]


@dataclass
class SkillFollower:
    """Loads `skill`, then calls `steps` in order, each only if the skill's text names
    that tool; then answers with `answer(results)`."""

    skill: str
    steps: list[Step]
    answer: Callable[[list[str]], str]
    body: str = ""
    results: list[str] = field(default_factory=list)

    def __call__(self, request: dict[str, Any]) -> Reply:
        system = request["messages"][0]["content"]
        if f"- {self.skill}:" not in system:
            return Reply(text=f"I have no {self.skill} skill.")
        tools = [m for m in request["messages"] if m["role"] == "tool"]
        if not tools:
            return Reply(tool_calls=[("use_skill", {"name": self.skill})])
        if not self.body:
            self.body = tools[-1]["content"]
        else:
            self.results.append(tools[-1]["content"])
        done = len(self.results)
        if done < len(self.steps):
            name, make_args = self.steps[done]
            if f"`{name}`" not in self.body:
                return Reply(text=f"The skill does not say to use {name}.")
            return Reply(tool_calls=[(name, make_args(self.results))])
        return Reply(text=self.answer(self.results))


def first_url(text: str) -> str:
    found = re.search(r"https?://[^\s)\]]+", text)
    return found.group(0) if found else ""


def searx(site: LocalSite, results: list[dict[str, str]]) -> list[str]:
    queries: list[str] = []

    def reply(request: web.Request) -> Any:
        queries.append(request.query["q"])
        return {"results": results}

    site.json("/search", reply)
    return queries


async def run(make_app: AppMaker, fake_llm: FakeOpenAI, text: str, **core: Any) -> str:
    app, channel = await make_app(**core)
    await app.sessions.handle(channel.inbound(text))
    await app.sessions.drain()
    return channel.texts()[-1]


async def test_morning_briefing(make_app: AppMaker, fake_llm: FakeOpenAI, site: LocalSite) -> None:
    queries = searx(
        site, [{"title": "Rain expected", "url": "https://news.example/rain", "content": "..."}]
    )

    def briefing(results: list[str]) -> str:
        day = results[0].split(",")[0]
        return f"**Good morning — {day}**\n\n**Weather**\n- Rain expected ({first_url(results[1])})"

    fake_llm.responder = follower = SkillFollower(
        "morning-briefing",
        [("current_time", lambda r: {}), ("web_search", lambda r: {"query": "weather news"})],
        briefing,
    )
    reply = await run(make_app, fake_llm, "morning briefing please", searxng_url=site.url(""))
    assert follower.body.startswith("# Skill: morning-briefing")
    assert reply.startswith("**Good morning — ") and "https://news.example/rain" in reply
    assert queries == ["weather news"]


async def test_research_report(make_app: AppMaker, fake_llm: FakeOpenAI, site: LocalSite) -> None:
    site.page(
        "/study",
        "<html><body><article><p>The 2025 study of 400 gardens found that mulching cut "
        "watering needs by a third over one summer.</p></article></body></html>",
    )
    searx(site, [{"title": "Mulch study", "url": site.url("/study"), "content": "study"}])

    def report(results: list[str]) -> str:
        template = results[2]
        assert "## Where they disagree" in template
        finding = "mulching cut watering needs by a third" if "a third" in results[1] else "?"
        return f"# Does mulch save water?\n\n**Short answer:** yes, {finding} [1].\n\n## Sources\n1. {first_url(results[0])}"

    fake_llm.responder = SkillFollower(
        "research-report",
        [
            ("web_search", lambda r: {"query": "mulch watering study"}),
            ("web_fetch", lambda r: {"url": first_url(r[0])}),
            ("read_skill_file", lambda r: {"skill": "research-report", "path": "template.md"}),
        ],
        report,
    )
    reply = await run(
        make_app,
        fake_llm,
        "research whether mulch saves water",
        searxng_url=site.url(""),
        web_allowed_networks=["127.0.0.1/32"],
    )
    assert "mulching cut watering needs by a third [1]" in reply
    assert site.url("/study") in reply


async def test_web_page_summary(make_app: AppMaker, fake_llm: FakeOpenAI, site: LocalSite) -> None:
    site.page(
        "/post",
        "<html><head><title>Why cats sleep</title></head><body><article><p>Cats sleep up to "
        "sixteen hours a day because hunting in short bursts uses a lot of energy.</p>"
        "</article></body></html>",
    )

    def summary(results: list[str]) -> str:
        sentence = re.search(r"Cats sleep[^.]*\.", results[0])
        return f"**TL;DR:** {sentence.group(0) if sentence else '?'}\n\n**Key points**\n- ..."

    fake_llm.responder = SkillFollower(
        "web-page-summary", [("web_fetch", lambda r: {"url": site.url("/post")})], summary
    )
    reply = await run(
        make_app,
        fake_llm,
        f"tl;dr of {site.url('/post')}",
        web_allowed_networks=["127.0.0.1/32"],
    )
    assert reply.startswith("**TL;DR:** Cats sleep up to sixteen hours a day")


async def test_meeting_notes(make_app: AppMaker, fake_llm: FakeOpenAI) -> None:
    notes = "standup 3 March: Ana will send the budget by Friday. We decided to ship v2."

    def filled(results: list[str]) -> str:
        template = results[0]
        assert "**Action items**" in template and "owner — task — due date" in template
        return (
            "## Standup — 3 March\n\n**Decisions**\n- Ship v2.\n\n**Action items**\n"
            "- Ana — send the budget — Friday"
        )

    fake_llm.responder = SkillFollower(
        "meeting-notes",
        [("read_skill_file", lambda r: {"skill": "meeting-notes", "path": "template.md"})],
        filled,
    )
    reply = await run(make_app, fake_llm, f"clean up these notes: {notes}")
    assert "- Ana — send the budget — Friday" in reply


async def test_draft_reply(make_app: AppMaker, fake_llm: FakeOpenAI) -> None:
    def draft(results: list[str]) -> str:
        return "---\nHi Sam, Tuesday at 10 works for me. Best, Ana\n---\nShorter or warmer?"

    fake_llm.responder = follower = SkillFollower("draft-reply", [], draft)
    reply = await run(make_app, fake_llm, "reply yes to: 'Can we meet Tuesday at 10? Sam'")
    assert "Answer every question the sender asked" in follower.body
    assert reply.startswith("---\nHi Sam")
    assert "Tuesday" in last_user_text(fake_llm.requests[0])


async def test_skills_needing_search_are_not_offered_without_it(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    fake_llm.responder = SkillFollower("morning-briefing", [], lambda r: "")
    assert await run(make_app, fake_llm, "briefing") == "I have no morning-briefing skill."
