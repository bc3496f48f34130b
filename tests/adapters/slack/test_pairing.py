"""Pairing on Slack end to end, in Socket Mode and HTTP mode: a stranger's DM gets a code,
the owner's DM gets the question with Block Kit buttons, a press (a `block_actions`
payload) decides, and a slash command from a stranger gets the code in its ack."""

from __future__ import annotations

import asyncio
import re

from tests.adapters.slack.conftest import Launch
from tests.adapters.slack.harness import ALICE, BOB, EVE, Harness, dm
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack, Posted

OWNERS = {"owners": f"slack:{BOB}"}
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{8})\b")


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found is not None, text
    return found.group(1)


async def question(fake: FakeSlack) -> Posted:
    await fake.wait_for(lambda: any(m.buttons for m in fake.messages if m.channel == "DBOB"))
    return next(m for m in fake.messages if m.channel == "DBOB" and m.buttons)


async def test_a_stranger_is_let_in_by_the_owners_button(
    launch: Launch, database_url: str, mode: str, fake_llm: FakeOpenAI, fake_slack: FakeSlack
) -> None:
    slack = await launch(mode, database_url, core=OWNERS)
    await slack.deliver(dm("hi, I'm new here", user=EVE))
    await slack.settle()
    (reply,) = fake_slack.texts("DEVE")
    code = code_in(reply)
    assert reply.startswith("Hi Eve! I'm Clawling")

    asking = await question(fake_slack)
    assert "Eve" in asking.text and f"slack:{EVE}" in asking.text
    # Written as Slack users type commands; the buttons carry the commands themselves.
    assert f"/clawling allow {code}" in asking.text
    assert [(b["text"], b["value"]) for b in asking.buttons] == [
        ("Allow", f"/allow {code}"),
        ("Deny", f"/deny {code}"),
    ]
    (posted,) = [c for c in fake_slack.called("chat.postMessage") if c["channel"] == "DBOB"]
    assert posted["text"] == asking.text  # the notification's fallback text

    # A member's press is refused; the owner's lets Eve in.
    await slack.press(ALICE, asking, "Allow")
    await slack.settle()
    assert fake_slack.texts("DBOB")[-1] == "Only the assistant's owners can use /clawling allow."
    await slack.press(BOB, asking, "Allow")
    await slack.settle()
    await fake_slack.wait_for(lambda: len(fake_slack.texts("DEVE")) >= 2)
    assert fake_slack.texts("DEVE")[1] == (
        "You're in! My owner let you in. Send me a message any time."
    )
    assert fake_slack.texts("DBOB")[-1].startswith(f"Let in Eve (slack:{EVE})")

    await slack.deliver(dm("so, what's new?", user=EVE))
    await slack.settle()
    assert fake_slack.texts("DEVE")[-1] == "echo: so, what's new?"
    assert len(fake_llm.requests) == 1
    trail = await slack.app.audit.entries(actions=("pairing.requested", "pairing.allowed"))
    assert [(e.action, e.actor) for e in reversed(trail)] == [
        ("pairing.requested", f"slack:{EVE}"),
        ("pairing.allowed", f"slack:{BOB}"),
    ]


async def test_a_slash_command_from_a_stranger_gets_the_code_in_its_ack(
    launch: Launch, sqlite_url: str, mode: str, fake_llm: FakeOpenAI, fake_slack: FakeSlack
) -> None:
    slack = await launch(mode, sqlite_url, core=OWNERS)
    ack = await slack.command("usage", channel="CGENERAL", user=EVE)
    code = code_in(str(ack.get("text")))
    await question(fake_slack)
    again = await slack.command("help", channel="CGENERAL", user=EVE)
    assert code_in(str(again.get("text"))) == code

    await slack.command(f"deny {code}", channel="DBOB", user=BOB)
    await slack.settle()
    await fake_slack.wait_for(lambda: fake_slack.texts("DEVE") != [])
    assert fake_slack.texts("DEVE") == ["Sorry, my owner decided not to let you in."]
    assert fake_llm.requests == []
    # Only the owner's DM and Eve's answer were posted: nothing in the channel.
    assert {m.channel for m in fake_slack.messages} == {"DBOB", "DEVE"}


async def test_a_blocked_person_gets_no_answer_and_no_reaction(
    slack: Harness, fake_llm: FakeOpenAI, fake_slack: FakeSlack
) -> None:
    await slack.deliver(dm("hello"))
    await slack.settle()
    alice = await slack.app.people.by_account("slack", ALICE)
    assert alice is not None
    await slack.app.people.set_status(alice.id, "blocked")
    reactions = len(fake_slack.reactions)

    await slack.deliver(dm("hello again"))
    ack = await slack.command("usage", channel="DALICE")
    await slack.settle()
    await asyncio.sleep(0.2)
    assert fake_slack.texts("DALICE") == ["echo: hello"]
    assert ack.get("text") is None and len(fake_slack.reactions) == reactions
    assert len(fake_llm.requests) == 1
