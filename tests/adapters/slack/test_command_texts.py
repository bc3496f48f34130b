"""Help, usage and unknown-command answers as a Slack user sees them: commands named
as typed on Slack (`/clawling new`), placeholders escaped as Slack asks, no model call."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from memory.db.models import Message
from tests.adapters.slack.harness import Harness, dm
from tests.fakes.openai_server import FakeOpenAI, Reply


def payloads(slack: Harness) -> list[str]:
    return [str(m["markdown_text"]) for m in slack.fake.called("chat.postMessage")]


async def test_help_names_commands_the_slack_way_with_placeholders_escaped(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    await slack.command("help", channel="DALICE")
    await slack.settle()

    (payload,) = payloads(slack)
    lines = payload.splitlines()
    assert lines[0] == "Commands:"
    # Alice is a member: the owners' commands are not listed for her.
    names = [c.name for c in slack.app.commands.commands if not c.owner_only]
    assert [line.split(" — ")[0] for line in lines[1:]] == [f"/clawling {n}" for n in names]
    assert "/clawling forget — forget a memory: /clawling forget &lt;id or text&gt;" in lines
    # Every mention of a command is the Slack form; no bare /name is left.
    assert re.findall(r"(?<!/clawling )/(?:" + "|".join(names) + r")\b", payload) == []
    # Nothing but the entities Slack asks for stands for &, < and >.
    assert not set(re.sub(r"&(amp|lt|gt);", "", payload)) & set("&<>")
    assert "/clawling forget <id or text>" in html.unescape(payload)
    assert fake_llm.requests == []


async def test_usage_answers_quote_the_slack_form(slack: Harness, fake_llm: FakeOpenAI) -> None:
    for text in ("forget", "task", "cancel_job"):
        await slack.command(text, channel="DALICE")
        await slack.settle()
    assert [html.unescape(p) for p in payloads(slack)] == [
        "Usage: /clawling forget <id or text> (see /clawling memory for ids).",
        "Usage: /clawling task <goal> starts a background task; /clawling task ID shows one.",
        "Usage: /clawling cancel_job ID (see /clawling jobs)",
    ]
    assert fake_llm.requests == []


async def test_an_unknown_command_is_answered_without_the_model_and_kept(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    await slack.command("/frobnicate", channel="DALICE")
    await slack.settle()
    await slack.deliver(dm("/frob it"))
    await slack.settle()
    assert slack.fake.texts("DALICE") == [
        "unknown command — /clawling help lists them",
        "unknown command — /clawling help lists them",
    ]
    assert fake_llm.requests == []
    async with slack.app.engine.connect() as connection:
        kept = (
            await connection.execute(
                select(Message.content).where(Message.role == "user").order_by(Message.id)
            )
        ).scalars()
        assert list(kept) == ["/frobnicate", "/frob it"]


async def test_commands_the_model_mentions_read_the_slack_way_outside_code(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="Type /new to start over; `ls /new` lists a folder."))
    await slack.deliver(dm("how do I start over?"))
    await slack.settle()
    assert slack.fake.texts("DALICE") == [
        "Type /clawling new to start over; `ls /new` lists a folder."
    ]


async def test_a_model_answer_with_tags_and_references_goes_escaped(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="Use **x<y>z**: a <b> c &amp; d, then `<code>`."))
    await slack.deliver(dm("show me"))
    await slack.settle()
    # The final text of the one message (shown while written, then put in place).
    assert slack.fake.texts("DALICE") == [
        "Use **x&lt;y&gt;z**: a &lt;b&gt; c &amp;amp; d, then `<code>`."
    ]
