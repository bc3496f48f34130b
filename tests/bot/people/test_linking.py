"""/link and /unlink through the chat: the rules of bot/people/linking.py, the refusals, the
rate limit on guessing, and caches that follow a link (in this process and another)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.people.linking import ALPHABET, CODE_LENGTH
from memory.deliveries import DeliveryStore
from tests.bot.conftest import AppMaker
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, note_of


class Clock:
    """The app's clock, moved by the test (it starts at the real time: the audit trail
    stamps entries with the real time, and the rate limit reads them)."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


async def _setup(make_app: AppMaker) -> tuple[App, RecordingChannel, RecordingChannel, Clock]:
    clock = Clock()
    app, _ = await make_app({"now": clock})
    telegram, slack = RecordingChannel("telegram"), RecordingChannel("slack")
    app.add_channel(telegram)
    app.add_channel(slack)
    return app, telegram, slack, clock


async def say(
    app: App, channel: RecordingChannel, text: str, sender: str = "ann", *, direct: bool = True
) -> str:
    before = len(channel.sent)
    chat = f"dm-{sender}" if direct else "team"
    await app.sessions.handle(channel.inbound(text, sender=sender, chat=chat, direct=direct))
    await app.sessions.drain()
    return "\n".join(s.final for s in channel.sent[before:])


def code_in(reply: str) -> str:
    found = re.search(r"Your link code: (\w+)", reply)
    assert found is not None, reply
    return found.group(1)


async def _person_id(app: App, account: str) -> int:
    platform, _, external_id = account.partition(":")
    person = await app.people.by_account(platform, external_id)
    assert person is not None, account
    return person.id


async def test_two_accounts_become_one_person_and_separate_again(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, telegram, slack, _ = await _setup(make_app)
    await say(app, telegram, "I keep bees on a roof in Lisbon")
    await say(app, slack, "hello from slack")  # the session manager now knows this account

    reply = await say(app, telegram, "/link")
    code = code_in(reply)
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
    assert f"/link {code}" in reply and "clawling chat --as NAME" in reply
    linked = await say(app, slack, f"/link {code.lower()[:5]} {code.lower()[5:]}")
    assert "Linked: telegram:ann, slack:ann are now one person" in linked

    ann = await _person_id(app, "telegram:ann")
    assert await _person_id(app, "slack:ann") == ann
    # The account that asked for the code is told, in its private chat (queued with the link).
    notice = await DeliveryStore(app.engine).by_key("link-1")
    assert notice is not None and (notice.channel, notice.chat_id) == ("telegram", "dm-ann")
    assert "slack:ann was linked to you" in notice.text and "/unlink slack:ann" in notice.text
    # At once, the Slack account acts as the joined person (no cache answers as the old one).
    assert "Your link code" in await say(app, slack, "/link")
    # The next Slack message is the same person's: what was said on Telegram is recalled.
    await say(app, slack, "where do I keep my bees?")
    assert "Lisbon" in note_of(fake_llm.requests[-1])
    [entry] = await app.audit.entries(actions=("person.linked",))
    assert (entry.actor, entry.subject, entry.subject_id) == ("slack:ann", "telegram:ann", ann)
    assert entry.detail["accounts"] == ["telegram:ann", "slack:ann"]

    again = await say(app, slack, "/unlink")
    assert "slack:ann is a person of its own again" in again
    assert "stay with telegram:ann" in again
    assert await _person_id(app, "slack:ann") != ann
    assert await _person_id(app, "telegram:ann") == ann
    [entry] = await app.audit.entries(actions=("person.unlinked",))
    assert (entry.actor, entry.subject) == ("slack:ann", "slack:ann")
    assert "only account" in await say(app, slack, "/unlink")
    assert "not one of your accounts" in await say(app, slack, "/unlink telegram:ann")

    # Linked again, one account can separate another of the same person by name.
    await say(app, slack, f"/link {code_in(await say(app, telegram, '/link'))}")
    assert "slack:ann is a person of its own" in await say(app, telegram, "/unlink slack:ann")
    assert await _person_id(app, "slack:ann") != ann


async def test_codes_that_cannot_be_used_are_refused_and_audited(make_app: AppMaker) -> None:
    app, telegram, slack, clock = await _setup(make_app)
    assert "private chat" in await say(app, telegram, "/link", direct=False)

    code = code_in(await say(app, telegram, "/link"))
    assert "already yours" in await say(app, telegram, f"/link {code}")  # the issuer
    newer = code_in(await say(app, telegram, "/link"))
    assert "don't know that code" in await say(app, slack, f"/link {code}")  # replaced
    assert "don't know that code" in await say(app, slack, "/link hello")  # malformed
    clock.at += timedelta(minutes=11)
    assert "expired" in await say(app, slack, f"/link {newer}")
    fresh = code_in(await say(app, telegram, "/link"))
    assert "Linked" in await say(app, slack, f"/link {fresh}")
    assert "used already" in await say(app, slack, f"/link {fresh}", sender="cy")

    reasons = [e.detail["reason"] for e in await app.audit.entries(actions=("code.failed",))]
    assert sorted(reasons) == ["expired", "malformed", "unknown", "used"]


async def test_an_account_linked_with_others_must_unlink_before_joining_someone(
    make_app: AppMaker,
) -> None:
    app, telegram, slack, _ = await _setup(make_app)
    await say(app, slack, f"/link {code_in(await say(app, telegram, '/link'))}")
    stolen = code_in(await say(app, telegram, "/link", sender="mallory"))
    refused = await say(app, slack, f"/link {stolen}")
    assert "already linked with telegram:ann" in refused and "/unlink" in refused
    assert await _person_id(app, "slack:ann") == await _person_id(app, "telegram:ann")
    assert await _person_id(app, "telegram:mallory") != await _person_id(app, "slack:ann")


async def test_blocked_people_and_a_members_code_from_an_owner_are_refused(
    make_app: AppMaker,
) -> None:
    app, telegram, slack, _ = await _setup(make_app)
    boss = await app.people.add("slack", "boss", "Boss", role="owner")
    await app.people.add("telegram", "kid", "Kid")
    members = code_in(await say(app, telegram, "/link", sender="kid"))
    refused = await say(app, slack, f"/link {members}", sender="boss")
    assert "make that account an owner" in refused

    # The owner issues, the member's account sends: both consent, the member's becomes owner.
    issued = await say(app, slack, "/link", sender="boss")
    assert "Whoever sends this code becomes you here and an owner of this assistant" in issued
    owners = code_in(issued)
    assert "Linked" in await say(app, telegram, f"/link {owners}", sender="kid")
    person = await app.people.person(boss.id)
    assert person is not None and person.is_owner and len(person.accounts) == 2

    dora = await app.people.add("telegram", "dora", "Dora")
    code = code_in(await say(app, telegram, "/link", sender="dora"))
    await app.people.set_status(dora.id, "blocked")
    assert "can no longer be linked" in await say(app, slack, f"/link {code}", sender="erin")


async def test_guessing_is_stopped_after_five_wrong_codes_even_for_a_right_one(
    make_app: AppMaker,
) -> None:
    app, telegram, slack, clock = await _setup(make_app)
    right = code_in(await say(app, telegram, "/link"))
    for guess in ("AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC", "DDDDDDDDDD"):
        assert "more tr" in await say(app, slack, f"/link {guess}", sender="mallory")
    await say(app, slack, "/link EEEEEEEEEE", sender="mallory")
    assert "Too many wrong codes" in await say(app, slack, f"/link {right}", sender="mallory")
    failed = await app.audit.entries(actions=("code.failed",))
    assert [e.actor for e in failed] == ["slack:mallory"] * 5
    # Another account is not held back by mallory's guesses; mallory is, until 10 minutes pass.
    assert "Linked" in await say(app, slack, f"/link {right}")
    clock.at += timedelta(minutes=11)
    late = code_in(await say(app, telegram, "/link", sender="ted"))
    assert "Linked" in await say(app, slack, f"/link {late}", sender="mallory")


async def test_another_process_follows_a_link_without_losing_a_message(
    make_app: AppMaker,
) -> None:
    first, telegram, slack, _ = await _setup(make_app)
    second, _ = await make_app()
    elsewhere = RecordingChannel("slack")
    second.add_channel(elsewhere)
    await say(second, elsewhere, "hello from the other process")  # it caches slack:ann's person
    await say(first, slack, f"/link {code_in(await say(first, telegram, '/link'))}")

    # Within its few seconds of cache, the other process still takes the message in full.
    await say(second, elsewhere, "remember the gate code 1234")
    conversation = await second.store.find_conversation("slack", "dm-ann", "")
    assert conversation is not None
    stored = (await second.store.load_context(conversation.id)).messages
    said = [m for m in stored if m.content == "remember the gate code 1234"]
    assert [m.user_id for m in said] == [await _person_id(first, "telegram:ann")]
